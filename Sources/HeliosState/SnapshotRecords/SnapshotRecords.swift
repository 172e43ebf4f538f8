import HeliosProto
import SwiftProtobuf

/// The Raft position and membership a snapshot belongs to.
public struct SnapshotPosition: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    public var voters: [UInt64]
    public var learners: [UInt64]

    public init(index: UInt64, term: UInt64, voters: [UInt64] = [], learners: [UInt64] = []) {
        self.index = index
        self.term = term
        self.voters = voters.sorted()
        self.learners = learners.sorted()
    }
}

extension ClusterState {
    /// Calls `emit` with every record of a snapshot of this state, in the canonical order: header,
    /// members, nodes, evaluations, allocations, jobs (each sorted by id), trailer. Jobs come last
    /// because they are the largest records (the costliest to read) and have no secondary index: a
    /// reader builds the indexes of the records before them while it reads them (see
    /// ``SnapshotIndexBuilder``).
    ///
    /// Records kept encoded since a snapshot was loaded (see ``RecordTable``) are decoded for `emit`;
    /// the writer takes them as they are (``forEachSnapshotRecordSource(_:createdAtMs:_:)``).
    func forEachSnapshotRecord(
        _ position: SnapshotPosition, createdAtMs: UInt64, _ emit: (Helios_V1_SnapshotRecord) throws -> Void
    ) rethrows {
        try forEachSnapshotRecordSource(position, createdAtMs: createdAtMs) { source in
            switch source {
            case .message(let record): try emit(record)
            case .kept(let kind, let bytes): try emit(bytes.withUnsafeBytes { kind.record(kept: $0) })
            }
        }
    }

    /// ``forEachSnapshotRecord(_:createdAtMs:_:)`` with the records kept encoded as their bytes.
    package func forEachSnapshotRecordSource(
        _ position: SnapshotPosition, createdAtMs: UInt64, _ emit: (SnapshotRecordSource) throws -> Void
    ) rethrows {
        func each<Record>(
            _ table: RecordTable<Record>, _ kind: SnapshotRecordSource.KeptKind, _ wrap: (Record) -> Helios_V1_SnapshotRecord
        ) throws {
            for id in table.keys.sorted() {
                switch table.stored(id)! {
                case .decoded(let record): try emit(.message(wrap(record)))
                case .encoded(let bytes): try emit(.kept(kind, bytes))
                }
            }
        }
        try emit(.message(.with {
            $0.header = .with {
                $0.index = position.index
                $0.term = position.term
                $0.voters = position.voters
                $0.learners = position.learners
                $0.createdAtMs = createdAtMs
                $0.jobCount = UInt64(jobs.count)
                $0.nodeCount = UInt64(nodes.count)
                $0.evaluationCount = UInt64(evaluations.count)
                $0.allocationCount = UInt64(allocations.count)
            }
        }))
        for id in members.keys.sorted() { try emit(.message(.with { $0.member = members[id]! })) }
        for id in nodes.keys.sorted() { try emit(.message(.with { $0.node = nodes[id]! })) }
        try each(evaluations, .evaluation) { evaluation in .with { $0.evaluation = evaluation } }
        try each(allocations, .allocation) { allocation in .with { $0.allocation = allocation } }
        try each(jobs, .job) { job in .with { $0.job = job } }
        try emit(.message(.with {
            $0.trailer = .with {
                $0.recordCount = UInt64(members.count + jobs.count + nodes.count + evaluations.count + allocations.count)
                $0.jobCount = UInt64(jobs.count)
                $0.nodeCount = UInt64(nodes.count)
                $0.evaluationCount = UInt64(evaluations.count)
                $0.allocationCount = UInt64(allocations.count)
            }
        }))
    }

    /// The canonical serialization of the state without the header (byte-identical on every node
    /// that applied the same events).
    public func canonicalBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        forEachSnapshotRecord(SnapshotPosition(index: appliedIndex, term: 0), createdAtMs: 0) { record in
            if case .header = record.record { return }
            let encoded: [UInt8] = (try? record.serializedBytes()) ?? []
            Varint.append(UInt64(encoded.count), to: &bytes)
            bytes.append(contentsOf: encoded)
        }
        return bytes
    }
}

/// A snapshot record as the writer takes it.
package enum SnapshotRecordSource {
    case message(Helios_V1_SnapshotRecord)
    /// The bytes of a record kept encoded since a snapshot was loaded: the message of the record's
    /// `kind` field, written as it was read (Helios wrote it; for its own snapshots this is what
    /// serializing the decoded record gives).
    case kept(KeptKind, KeptBytes)

    /// The record kinds a ``RecordTable`` keeps, by their field in `SnapshotRecord`.
    package enum KeptKind: UInt8 {
        case job = 3
        case evaluation = 5
        case allocation = 6

        /// The record with the decoded message.
        package func record(kept bytes: UnsafeRawBufferPointer) -> Helios_V1_SnapshotRecord {
            switch self {
            case .job: .with { $0.job = JobRecord(kept: bytes) }
            case .evaluation: .with { $0.evaluation = Evaluation(kept: bytes) }
            case .allocation: .with { $0.allocation = Allocation(kept: bytes) }
            }
        }
    }
}

/// Protobuf base-128 varints for the record length prefixes.
package enum Varint {
    package static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// How many bytes ``append(_:to:)`` writes for `value`.
    package static func size(_ value: UInt64) -> Int {
        var size = 1
        var v = value
        while v >= 0x80 {
            size += 1
            v >>= 7
        }
        return size
    }

    package enum Decoded {
        case value(UInt64, length: Int)
        case incomplete
        case invalid
    }

    /// Decodes a varint at `offset`.
    package static func read(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Decoded {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while i < bytes.count {
            let byte = bytes[i]
            value |= UInt64(byte & 0x7F) << shift
            i += 1
            if byte & 0x80 == 0 { return .value(value, length: i - offset) }
            shift += 7
            if shift >= 70 { return .invalid }
        }
        return .incomplete
    }
}
