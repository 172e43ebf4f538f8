import HeliosProto
import HeliosState
import SwiftProtobuf

/// Chooses nodes for one job's placements: feasibility (status, eligibility, drain, datacenter,
/// constraints, resources left counting this plan's own placements) then ranking (bin packing,
/// spread, job anti-affinity). Like Nomad's limit iterator it ranks only the first few feasible nodes
/// of an order shuffled from the evaluation id, so a placement costs about log2(nodes), not nodes.
struct NodeSelector {
    let state: ClusterState
    let job: JobSpec
    /// Ready, eligible, not draining nodes of the job's datacenters, in shuffled order.
    let order: [NodeInfo]
    let limit: Int
    /// What this plan and the job hold on each node: the CPU and memory placed by this plan so far,
    /// and the job's allocations (existing live ones plus planned ones). One table, so a candidate
    /// node costs one lookup.
    var perNode: [String: NodeTally] = [:]
    /// Allocations of this job per value of each spread attribute, and their sum per attribute.
    var spreadCounts: [String: [String: Int]] = [:]
    var spreadTotals: [String: Int] = [:]
    var placedCount = 0
    /// Each group's constraints (the job's and its own), prepared once.
    private var compiledConstraints: [String: [CompiledConstraint]] = [:]
    /// Where the next selection starts in `order` (as Nomad's source iterator, it continues where the
    /// last one stopped, so successive placements see different nodes, not the same first few).
    var cursor = 0

    struct NodeTally {
        var cpu: UInt64 = 0
        var memory: UInt64 = 0
        var collisions = 0
    }

    init(state: ClusterState, job: JobSpec, seed: UInt64) {
        self.state = state
        self.job = job
        var nodes = state.sortedNodes.filter { node in
            node.status == .ready && node.eligible && !node.draining
                && (job.datacenters.isEmpty || job.datacenters.contains(node.datacenter))
        }
        var random = seed == 0 ? 1 : seed
        for i in stride(from: nodes.count - 1, to: 0, by: -1) {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            nodes.swapAt(i, Int(random % UInt64(i + 1)))
        }
        order = nodes
        var log2 = 0
        while (1 << log2) < nodes.count { log2 += 1 }
        limit = max(2, log2)
        for allocation in state.allocations(ofJob: job.id) where allocation.desiredStatus == .run && !allocation.clientStatus.isTerminal {
            perNode[allocation.nodeID, default: NodeTally()].collisions += 1
        }
    }

    /// Records a placement so later choices see its resources and spread.
    mutating func commit(_ allocation: Allocation) {
        var tally = perNode[allocation.nodeID] ?? NodeTally()
        tally.cpu += UInt64(allocation.resources.cpuMhz)
        tally.memory += UInt64(allocation.resources.memoryMb)
        tally.collisions += 1
        perNode[allocation.nodeID] = tally
        placedCount += 1
        if let node = state.nodes[allocation.nodeID] {
            for spread in spreads(for: allocation.taskGroup) {
                let value = ConstraintMatcher.value(of: spread.attribute, on: node) ?? ""
                spreadCounts[spread.attribute, default: [:]][value, default: 0] += 1
                spreadTotals[spread.attribute, default: 0] += 1
            }
        }
    }

    /// A spread as one selection scores it: its attribute resolved, this job's counts per value
    /// and their sum looked up once, not per candidate node.
    private struct SpreadView {
        var attribute: NodeAttribute
        var weight: Double
        var counts: [String: Int]
        var total: Int
    }

    private func spreads(for groupName: String) -> [Helios_V1_Spread] {
        job.groups.first { $0.name == groupName }?.spreads ?? []
    }

    /// The best node for one allocation of `group`, or why there is none.
    mutating func select(group: Helios_V1_TaskGroup, ask: Resources, avoid: String?) -> Result<String, SelectionFailure> {
        let constraints: [CompiledConstraint]
        if let prepared = compiledConstraints[group.name] {
            constraints = prepared
        } else {
            constraints = (job.constraints + group.constraints).map(CompiledConstraint.init)
            compiledConstraints[group.name] = constraints
        }
        let spreads = group.spreads.map { spread in
            SpreadView(
                attribute: NodeAttribute(spread.attribute), weight: Double(spread.weight == 0 ? 50 : spread.weight) / 100,
                counts: spreadCounts[spread.attribute] ?? [:], total: spreadTotals[spread.attribute] ?? 0)
        }
        var filteredByConstraint: [String: Int] = [:]
        var tooLittleCPU = 0
        var tooLittleMemory = 0
        var candidates: [(node: NodeInfo, score: Double)] = []
        // Spreads need to see every value to even out (Nomad likewise widens its limit for spreads).
        let limit = group.spreads.isEmpty ? self.limit : max(self.limit, min(order.count, 100))
        var examined = 0
        defer { if !order.isEmpty { cursor = (cursor + examined) % order.count } }
        for step in 0..<order.count {
            let node = order[(cursor + step) % order.count]
            examined = step + 1
            if let failed = constraints.first(where: { !$0.matches(node) }) {
                filteredByConstraint[failed.constraint.attribute, default: 0] += 1
                continue
            }
            let used = state.usedResources(onNode: node.id)
            let tally = perNode[node.id] ?? NodeTally()
            let cpu = used.cpu + tally.cpu + UInt64(ask.cpuMhz)
            let memory = used.memory + tally.memory + UInt64(ask.memoryMb)
            if cpu > UInt64(node.resources.cpuMhz) { tooLittleCPU += 1; continue }
            if memory > UInt64(node.resources.memoryMb) { tooLittleMemory += 1; continue }
            let score = score(node, cpu: cpu, memory: memory, collisions: tally.collisions, group: group, spreads: spreads, avoid: avoid)
            candidates.append((node, score))
            if candidates.count >= limit { break }
        }
        guard let best = candidates.max(by: { $0.score < $1.score || ($0.score == $1.score && $0.node.id > $1.node.id) }) else {
            return .failure(SelectionFailure(
                nodes: order.count, constraints: filteredByConstraint, cpu: tooLittleCPU, memory: tooLittleMemory, ask: ask,
                allNodes: state.nodes.count))
        }
        return .success(best.node.id)
    }

    /// Higher is better: fuller nodes (bin packing), fewer of this job on the node, even spread.
    private func score(
        _ node: NodeInfo, cpu: UInt64, memory: UInt64, collisions: Int, group: Helios_V1_TaskGroup, spreads: [SpreadView], avoid: String?
    ) -> Double {
        let binpack = (Double(cpu) / Double(max(1, node.resources.cpuMhz)) + Double(memory) / Double(max(1, node.resources.memoryMb))) / 2
        var score = binpack
        score -= Double(collisions) / Double(max(1, group.count))
        for spread in spreads {
            let value = spread.attribute.value(on: node) ?? ""
            let count = spread.counts[value] ?? 0
            score -= spread.weight * Double(count) / Double(max(1, spread.total))
        }
        if node.id == avoid { score -= 1 }
        return score
    }
}

/// Why no node could take an allocation, counted by reason.
struct SelectionFailure: Error, CustomStringConvertible {
    var nodes: Int
    var constraints: [String: Int]
    var cpu: Int
    var memory: Int
    var ask: Resources
    var allNodes: Int

    var description: String {
        if allNodes == 0 { return "no nodes are registered" }
        if nodes == 0 { return "no node is ready, eligible and in the job's datacenters (\(allNodes) registered)" }
        var parts: [String] = []
        for (attribute, count) in constraints.sorted(by: { $0.key < $1.key }) {
            parts.append("\(count) filtered by constraint on \(attribute)")
        }
        if cpu > 0 { parts.append("\(cpu) without \(ask.cpuMhz) MHz of CPU free") }
        if memory > 0 { parts.append("\(memory) without \(ask.memoryMb) MB of memory free") }
        return "no feasible node among \(nodes): " + parts.joined(separator: ", ")
    }
}
