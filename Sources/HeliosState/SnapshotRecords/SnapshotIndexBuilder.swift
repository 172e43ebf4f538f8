import Dispatch
import HeliosProto

/// Builds a snapshot's secondary indexes while the reading thread fills the main tables from the same
/// decoded batches: allocations and evaluations by job on one thread; by node and by status, and the
/// resources used on each node, on another. Start-up is CPU-bound; the indexes were the larger part of
/// the reading thread's work, which made it the bottleneck while the decoder waited.
///
/// Batches wait here without a bound, but a waiting batch holds only its typed arrays: the ids and
/// index fields of its records (the ids are usually inline strings) and references to what the state
/// holds anyway (decoded records, the batch buffers kept records lie in).
package final class SnapshotIndexBuilder: @unchecked Sendable {
    // @unchecked: the state of each part is touched only by work items on that part's serial queue.
    private let byJobQueue = DispatchQueue(label: "helios.snapshot.index.job")
    private let byNodeQueue = DispatchQueue(label: "helios.snapshot.index.node")
    /// On `byJobQueue`: only the by-job index fields are used (the insert code `apply` uses).
    private var byJob = ClusterState()
    /// On `byNodeQueue`: ids gathered in arrays and turned into sets of the right size once the
    /// records that have them are past (a set grown one id at a time rehashes ~log2(n) times, half the
    /// cost of these indexes), and usage.
    private var byNode = NodeAndStatusLists()
    /// On `byNodeQueue`: the by-node and by-status sets and the usage built so far (see ``seal()``).
    private var large: ClusterState?

    struct NodeAndStatusLists {
        struct Node {
            var allocations: [String] = []
            var cpu: UInt64 = 0
            var memory: UInt64 = 0
        }
        var nodes: [String: Node] = [:]
        var allocationsByStatus: [Int: [String]] = [:]
        var evaluationsByStatus: [Int: [String]] = [:]
        var isEmpty: Bool { nodes.isEmpty && allocationsByStatus.isEmpty && evaluationsByStatus.isEmpty }
    }

    /// Queues a decoded batch. Batches may come in any order: the indexes are sets, and records that
    /// come after ``seal()`` are added to the sets it built.
    package func add(_ records: DecodedRecords) {
        // Each work item takes its part out of the class (one exclusivity check, not one per record)
        // and reads the records through their arrays' indexes: a loop variable would copy each record
        // and retain and release the batch buffer it keeps its bytes in, which the reading thread is
        // retaining at the same time.
        byJobQueue.async {
            var byJob = ClusterState()
            swap(&byJob, &self.byJob)
            defer { swap(&byJob, &self.byJob) }
            for header in records.headers {
                byJob.reserveJobIndexCapacity(jobs: Int(clamping: header.jobCount))
            }
            // Ids are new (a duplicate fails the trailer's counts): no old entry to unindex.
            let evaluations = records.evaluations
            for i in evaluations.indices { byJob.addToJobIndex(evaluation: evaluations[i].id, job: evaluations[i].jobID) }
            let allocations = records.allocations
            for i in allocations.indices { byJob.addToJobIndex(allocation: allocations[i].id, job: allocations[i].jobID) }
        }
        byNodeQueue.async {
            var byNode = NodeAndStatusLists()
            swap(&byNode, &self.byNode)
            for header in records.headers {
                byNode.nodes.reserveCapacity(min(Int(clamping: header.nodeCount), ClusterState.reservationLimit))
            }
            let evaluations = records.evaluations
            for i in evaluations.indices where ClusterState.isIndexed(evaluations[i].status) {
                byNode.evaluationsByStatus[evaluations[i].status.rawValue, default: []].append(evaluations[i].id)
            }
            let allocations = records.allocations
            for i in allocations.indices {
                byNode.nodes[allocations[i].nodeID, default: NodeAndStatusLists.Node()].add(allocations[i].id, allocations[i].held)
                byNode.allocationsByStatus[allocations[i].clientStatus.rawValue, default: []].append(allocations[i].id)
            }
            swap(&byNode, &self.byNode)
            // Jobs come after evaluations and allocations in a snapshot: build the sets while the
            // reader decodes them, instead of after the last record.
            if !records.jobs.isEmpty { self.seal() }
        }
    }

    /// On `byNodeQueue`: turns the gathered lists into the by-node and by-status sets and the usage
    /// (or adds them to the sets built before, for a snapshot with records in another order).
    private func seal() {
        guard !byNode.isEmpty else { return }
        defer { byNode = NodeAndStatusLists() }
        guard var built = large else {
            large = Self.largeSets(byNode)
            return
        }
        large = nil  // the only reference while it changes
        for (id, node) in byNode.nodes {
            built.allocationsByNode[id, default: []].formUnion(node.allocations)
            let usage = built.nodeUsage[id] ?? (0, 0)
            let total = (cpu: usage.cpu + node.cpu, memory: usage.memory + node.memory)
            if total.cpu != 0 || total.memory != 0 { built.nodeUsage[id] = total }
        }
        for (status, ids) in byNode.allocationsByStatus { built.allocationsByStatus[status, default: []].formUnion(ids) }
        for (status, ids) in byNode.evaluationsByStatus { built.evaluationsByStatus[status, default: []].formUnion(ids) }
        large = built
    }

    /// Waits for the batches added so far and moves the finished indexes into `state`. The by-job
    /// thread works through its last batches while the by-node thread builds what is left of its sets.
    func finish(into state: inout ClusterState) {
        let large = byNodeQueue.sync { () -> ClusterState in
            seal()
            defer { self.large = nil }
            return self.large ?? ClusterState()
        }
        let jobs = byJobQueue.sync { () -> ClusterState in
            // Let go of this copy, so the state holds the only reference and its first change does
            // not copy the index.
            defer { byJob = ClusterState() }
            return byJob
        }
        state.allocationsByJob = jobs.allocationsByJob
        state.evaluationsByJob = jobs.evaluationsByJob
        state.allocationsByNode = large.allocationsByNode
        state.allocationsByStatus = large.allocationsByStatus
        state.evaluationsByStatus = large.evaluationsByStatus
        state.nodeUsage = large.nodeUsage
    }

    /// The gathered lists as the by-node and by-status indexes and the usage (in a state used only for them).
    private static func largeSets(_ lists: NodeAndStatusLists) -> ClusterState {
        var built = ClusterState()
        built.allocationsByNode.reserveCapacity(lists.nodes.count)
        built.nodeUsage.reserveCapacity(lists.nodes.count)
        for (id, node) in lists.nodes {
            built.allocationsByNode[id] = ShardedSet(node.allocations)
            if node.cpu != 0 || node.memory != 0 { built.nodeUsage[id] = (node.cpu, node.memory) }
        }
        built.allocationsByStatus = lists.allocationsByStatus.mapValues { ShardedSet($0) }
        built.evaluationsByStatus = lists.evaluationsByStatus.mapValues { ShardedSet($0) }
        return built
    }
}

extension SnapshotIndexBuilder.NodeAndStatusLists.Node {
    mutating func add(_ allocation: String, _ held: (cpu: UInt64, memory: UInt64)?) {
        allocations.append(allocation)
        if let held {
            cpu += held.cpu
            memory += held.memory
        }
    }
}
