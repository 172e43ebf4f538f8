import HeliosProto

/// Rebuilds a ``ClusterState`` from snapshot records: the main tables here, in order; the secondary
/// indexes by `indexes` on two threads of their own (each decoded batch goes to both).
package struct ClusterStateBuilder {
    var state = ClusterState()
    var position: SnapshotPosition?
    var trailer: Helios_V1_SnapshotTrailer?
    var records = 0
    package let indexes = SnapshotIndexBuilder()

    package init() {}

    /// Adds a batch of records to the tables after checking their order; batches come in the
    /// snapshot's order (each is also given to `indexes`, in any order).
    package mutating func add(_ batch: DecodedRecords) throws(SnapshotError) {
        // The header first, the trailer last, nothing of an unknown kind. Within the tables order does
        // not matter: ids are unique (a duplicate fails the trailer's counts).
        for kind in batch.kinds {
            if trailer != nil { throw SnapshotError("record after the trailer") }
            switch kind {
            case .header:
                // A second header, in this batch or a later one, finds the position set.
                guard position == nil, let header = batch.headers.first else { throw SnapshotError("second header record") }
                add(header: header)
            case .trailer:
                trailer = batch.trailers.first
            case .unknown:
                throw SnapshotError("record of an unknown kind (written by a newer Helios?)")
            case .member, .job, .node, .evaluation, .allocation:
                guard position != nil else { throw SnapshotError("record before the header") }
                records += 1
            }
        }
        // New ids: no old entry to look up and unindex, which putAllocation would do at a measurable
        // cost on start-up.
        for member in batch.members { state.members[member.id] = member }
        // Through the indexes: a loop variable would copy each record (a retain and a release of the
        // batch buffer a kept record points into, which the index threads read at the same time).
        let jobs = batch.jobs
        for i in jobs.indices { state.jobs.insert(id: jobs[i].id, jobs[i].stored) }
        for node in batch.nodes { state.nodes[node.id] = node }
        let evaluations = batch.evaluations
        for i in evaluations.indices { state.evaluations.insert(id: evaluations[i].id, evaluations[i].stored) }
        let allocations = batch.allocations
        for i in allocations.indices { state.allocations.insert(id: allocations[i].id, allocations[i].stored) }
    }

    private mutating func add(header: Helios_V1_SnapshotHeader) {
        position = SnapshotPosition(index: header.index, term: header.term, voters: header.voters, learners: header.learners)
        state.appliedIndex = header.index
        state.reserveTableCapacity(
            jobs: Int(clamping: header.jobCount), nodes: Int(clamping: header.nodeCount),
            evaluations: Int(clamping: header.evaluationCount), allocations: Int(clamping: header.allocationCount))
    }

    package mutating func finish() throws(SnapshotError) -> (SnapshotPosition, ClusterState) {
        guard let position else { throw SnapshotError("no header record") }
        guard let trailer else { throw SnapshotError("no trailer record: the snapshot is incomplete") }
        guard trailer.recordCount == UInt64(records), trailer.jobCount == UInt64(state.jobs.count),
            trailer.nodeCount == UInt64(state.nodes.count), trailer.allocationCount == UInt64(state.allocations.count),
            trailer.evaluationCount == UInt64(state.evaluations.count)
        else {
            throw SnapshotError("trailer counts (\(trailer.recordCount) records) disagree with the records read (\(records))")
        }
        indexes.finish(into: &state)
        state.nodeOrder = state.nodes.keys.sorted()
        return (position, state)
    }
}
