import HeliosProto
import SwiftProtobuf

/// The cluster's state as a projection of the event log: jobs (every version), nodes, evaluations,
/// allocations and the server membership, with the indexes the scheduler and API query.
///
/// Applying is deterministic: the same events give byte-identical state on every node (no clock, no
/// randomness, no disk; results never depend on dictionary order). See ``apply(_:at:)``.
public struct ClusterState: Sendable {
    /// The index of the last event applied.
    public internal(set) var appliedIndex: UInt64 = 0
    public internal(set) var jobs = JobTable()
    public internal(set) var nodes: [String: NodeInfo] = [:]
    public internal(set) var allocations = AllocationTable()
    public internal(set) var evaluations = EvaluationTable()
    public internal(set) var members: [UInt64: ClusterMember] = [:]

    // Secondary indexes (maintained by every mutation). Those that grow with the number of
    // allocations or jobs are sharded (``ShardedDictionary``) so that a change made while a reader's
    // copy shares them copies a shard, not the index.
    /// The ids of `nodes`, sorted (nodes are never removed: a new one is inserted in place). The
    /// scheduler walks the nodes in this order for every evaluation; sorting 5,000 ids each time was
    /// a fifth of its time.
    var nodeOrder: [String] = []
    var allocationsByJob = ShardedDictionary<String, IDSet>()
    var allocationsByNode: [String: ShardedSet<String>] = [:]
    var allocationsByStatus: [Int: ShardedSet<String>] = [:]
    var evaluationsByJob = ShardedDictionary<String, IDSet>()
    /// Only the open statuses (see ``isIndexed(_:)``): the terminal ones hold nearly every
    /// evaluation ever made and are never looked up by status on a hot path.
    var evaluationsByStatus: [Int: ShardedSet<String>] = [:]
    /// CPU and memory held on each node by allocations that hold resources (see ``holdsResources(_:)``).
    var nodeUsage: [String: (cpu: UInt64, memory: UInt64)] = [:]

    public init() {}

    /// Records that entry `index` carried no event (a leader's no-op or a membership change).
    public mutating func advance(to index: UInt64) {
        if index > appliedIndex { appliedIndex = index }
    }

    // MARK: Queries (results sorted by id so callers see a stable order)

    public func job(_ id: String) -> JobRecord? { jobs[id] }

    /// The latest version of a job's spec.
    public func latestSpec(_ id: String) -> JobSpec? { jobs[id]?.versions.last?.spec }

    public var sortedJobs: [JobRecord] { jobs.keys.sorted().map { jobs[$0]! } }
    public var sortedNodes: [NodeInfo] { nodeOrder.map { nodes[$0]! } }

    public func allocations(ofJob job: String) -> [Allocation] {
        (allocationsByJob[job]?.sorted() ?? []).map { allocations[$0]! }
    }

    public func allocations(onNode node: String) -> [Allocation] {
        (allocationsByNode[node] ?? []).sorted().map { allocations[$0]! }
    }

    public func allocations(withStatus status: AllocationClientStatus) -> [Allocation] {
        (allocationsByStatus[status.rawValue] ?? []).sorted().map { allocations[$0]! }
    }

    public func evaluations(ofJob job: String) -> [Evaluation] {
        (evaluationsByJob[job]?.sorted() ?? []).map { evaluations[$0]! }
    }

    public func evaluations(withStatus status: EvaluationStatus) -> [Evaluation] {
        evaluationIDs(withStatus: status).map { evaluations[$0]! }
    }

    /// The ids of ``evaluations(withStatus:)``. Pending and blocked come from an index, without
    /// decoding evaluations kept encoded since a snapshot was loaded (see ``RecordTable``); a
    /// terminal status is found by looking at every evaluation.
    public func evaluationIDs(withStatus status: EvaluationStatus) -> [String] {
        guard Self.isIndexed(status) else {
            return evaluations.values.filter { $0.status == status }.map(\.id).sorted()
        }
        return (evaluationsByStatus[status.rawValue] ?? []).sorted()
    }

    /// Whether evaluations with this status are in the by-status index: the open ones, which the
    /// leader looks for (pending to process, blocked to retry when capacity appears).
    static func isIndexed(_ status: EvaluationStatus) -> Bool {
        status == .pending || status == .blocked
    }

    /// Resources of the allocations on `node` that still hold them (desired to run, not terminal).
    public func usedResources(onNode node: String) -> (cpu: UInt64, memory: UInt64) {
        nodeUsage[node] ?? (0, 0)
    }

    /// Whether an allocation counts against its node's capacity.
    static func holdsResources(_ allocation: Allocation) -> Bool {
        holdsResources(desired: allocation.desiredStatus, client: allocation.clientStatus)
    }

    static func holdsResources(desired: AllocationDesiredStatus, client: AllocationClientStatus) -> Bool {
        desired == .run && !client.isTerminal
    }

    /// What an allocation holds on its node: nil when it holds nothing (see ``holdsResources(_:)``).
    static func heldResources(_ allocation: Allocation) -> (cpu: UInt64, memory: UInt64)? {
        guard holdsResources(allocation) else { return nil }
        return (UInt64(allocation.resources.cpuMhz), UInt64(allocation.resources.memoryMb))
    }

    private mutating func account(_ allocation: Allocation, _ sign: Int) {
        guard let held = Self.heldResources(allocation) else { return }
        var usage = nodeUsage[allocation.nodeID] ?? (0, 0)
        if sign > 0 {
            usage.cpu += held.cpu
            usage.memory += held.memory
        } else {
            usage.cpu -= held.cpu
            usage.memory -= held.memory
        }
        nodeUsage[allocation.nodeID] = usage.cpu == 0 && usage.memory == 0 ? nil : usage
    }

    // MARK: Index maintenance

    /// Stores a node, new or changed, keeping ``nodeOrder``.
    mutating func putNode(_ node: NodeInfo) {
        if nodes.updateValue(node, forKey: node.id) == nil {
            var low = 0
            var high = nodeOrder.count
            while low < high {
                let middle = (low + high) / 2
                if nodeOrder[middle] < node.id { low = middle + 1 } else { high = middle }
            }
            nodeOrder.insert(node.id, at: low)
        }
    }

    /// Adds an allocation that is in no index yet to the indexes and its node's usage.
    mutating func addToIndexes(_ allocation: Allocation) {
        account(allocation, 1)
        addToJobIndex(allocation: allocation.id, job: allocation.jobID)
        allocationsByNode[allocation.nodeID, default: []].insert(allocation.id)
        allocationsByStatus[allocation.clientStatus.rawValue, default: []].insert(allocation.id)
    }

    /// The by-job part of `addToIndexes(_:)`: many small sets. The snapshot loader builds these on
    /// one thread and the few large ones (by node, by status) and the usage on another.
    mutating func addToJobIndex(allocation id: String, job: String) {
        allocationsByJob[job, default: IDSet()].insert(id)
    }

    /// Adds an evaluation that is in no index yet to the indexes.
    mutating func addToIndexes(_ evaluation: Evaluation) {
        addToJobIndex(evaluation: evaluation.id, job: evaluation.jobID)
        addToStatusIndex(evaluation)
    }

    /// The by-status part of `addToIndexes(_:)` for an evaluation (open statuses only).
    mutating func addToStatusIndex(_ evaluation: Evaluation) {
        guard Self.isIndexed(evaluation.status) else { return }
        evaluationsByStatus[evaluation.status.rawValue, default: []].insert(evaluation.id)
    }

    /// The by-job part of `addToIndexes(_:)` for an evaluation (as for an allocation, above).
    mutating func addToJobIndex(evaluation id: String, job: String) {
        evaluationsByJob[job, default: IDSet()].insert(id)
    }

    /// Reserves room in the tables for a state of this size (a snapshot's counts), so loading never
    /// rehashes them.
    mutating func reserveTableCapacity(jobs jobCount: Int, nodes nodeCount: Int, evaluations evaluationCount: Int, allocations allocationCount: Int) {
        jobs.reserveCapacity(min(jobCount, Self.reservationLimit))
        nodes.reserveCapacity(min(nodeCount, Self.reservationLimit))
        evaluations.reserveCapacity(min(evaluationCount, Self.reservationLimit))
        allocations.reserveCapacity(min(allocationCount, Self.reservationLimit))
    }

    /// Reserves room in the by-job indexes (see ``reserveTableCapacity(jobs:nodes:evaluations:allocations:)``).
    mutating func reserveJobIndexCapacity(jobs jobCount: Int) {
        allocationsByJob.reserveCapacity(min(jobCount, Self.reservationLimit))
        evaluationsByJob.reserveCapacity(min(jobCount, Self.reservationLimit))
    }

    /// A damaged snapshot header must not make a reservation absurd.
    static let reservationLimit = 50_000_000

    mutating func putAllocation(_ allocation: Allocation) {
        if let old = allocations[allocation.id] {
            allocationsByStatus[old.clientStatus.rawValue]?.remove(old.id)
            if old.nodeID != allocation.nodeID { allocationsByNode[old.nodeID]?.remove(old.id) }
            account(old, -1)
        }
        allocations[allocation.id] = allocation
        addToIndexes(allocation)
    }

    mutating func removeAllocation(_ id: String) {
        guard let old = allocations.removeValue(forKey: id) else { return }
        account(old, -1)
        allocationsByJob[old.jobID]?.remove(id)
        if allocationsByJob[old.jobID]?.isEmpty == true { allocationsByJob[old.jobID] = nil }
        allocationsByNode[old.nodeID]?.remove(id)
        if allocationsByNode[old.nodeID]?.isEmpty == true { allocationsByNode[old.nodeID] = nil }
        allocationsByStatus[old.clientStatus.rawValue]?.remove(id)
    }

    /// Stores an evaluation, new or changed. A changed one keeps its by-job entry (evaluations do not
    /// move between jobs; if one did, the entry would move with it), and its by-status entry moves
    /// only when the status changed.
    mutating func putEvaluation(_ evaluation: Evaluation) {
        guard let old = evaluations[evaluation.id] else {
            evaluations[evaluation.id] = evaluation
            addToIndexes(evaluation)
            return
        }
        evaluations[evaluation.id] = evaluation
        if old.jobID != evaluation.jobID {
            evaluationsByJob[old.jobID]?.remove(old.id)
            if evaluationsByJob[old.jobID]?.isEmpty == true { evaluationsByJob[old.jobID] = nil }
            addToJobIndex(evaluation: evaluation.id, job: evaluation.jobID)
        }
        if old.status != evaluation.status {
            if Self.isIndexed(old.status) { evaluationsByStatus[old.status.rawValue]?.remove(old.id) }
            addToStatusIndex(evaluation)
        }
    }

    mutating func removeEvaluation(_ id: String) {
        guard let old = evaluations.removeValue(forKey: id) else { return }
        evaluationsByJob[old.jobID]?.remove(id)
        if evaluationsByJob[old.jobID]?.isEmpty == true { evaluationsByJob[old.jobID] = nil }
        evaluationsByStatus[old.status.rawValue]?.remove(id)
    }
}
