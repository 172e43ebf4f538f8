import HeliosProto
import HeliosSnapshot
import HeliosState
import HeliosTesting
import SwiftProtobuf

/// Decodes the input as one snapshot record, the way a snapshot read does (the decoder specialised
/// for canonical records, SwiftProtobuf for the rest), and as SwiftProtobuf alone: the two must give
/// the same record, or both fail.
enum SnapshotRecordTarget: FuzzTarget {
    static let name = "record"
    static let summary = "snapshot records: the specialised decoder gives exactly SwiftProtobuf's record or failure"

    static func seeds() throws -> [[UInt8]] {
        // Every kind of record, from a state that has task states, reschedules and stopped jobs.
        var generator = EventGenerator(seed: 3)
        var state = ClusterState()
        for index in 1...400 { state.apply(generator.next(), at: UInt64(index)) }
        var records: [Helios_V1_SnapshotRecord] = [
            .with { $0.header = .with { $0.index = 400; $0.term = 3; $0.voters = [1, 2, 3]; $0.learners = [4]; $0.jobCount = 9 } },
            .with { $0.trailer = .with { $0.recordCount = 12; $0.allocationCount = 7 } },
            .with { $0.member = .with { $0.id = 2; $0.address = "127.0.0.1:50052"; $0.voter = true } },
        ]
        records += state.sortedJobs.prefix(8).map { job in .with { $0.job = job } }
        records += state.sortedNodes.prefix(4).map { node in .with { $0.node = node } }
        records += state.evaluations.keys.sorted().prefix(8).map { id in .with { $0.evaluation = state.evaluations[id]! } }
        let allocations = state.allocations.keys.sorted().map { state.allocations[$0]! }
        records += allocations.filter { !$0.taskStates.isEmpty }.prefix(8).map { allocation in .with { $0.allocation = allocation } }
        records += allocations.prefix(4).map { allocation in .with { $0.allocation = allocation } }
        return try records.map { try $0.serializedBytes() }
    }

    static func run(_ input: [UInt8]) -> String {
        guard input.count <= 1 << 20 else { return "too large" }
        let reference = try? Helios_V1_SnapshotRecord(serializedBytes: input)
        let ours = try? SnapshotReader.decodeRecord(input)
        guard ours == reference else {
            violated("the snapshot record decoder gave \(ours.map { "\($0)" } ?? "an error"), SwiftProtobuf \(reference.map { "\($0)" } ?? "an error")")
        }
        return reference == nil ? "refused" : "decoded"
    }
}
