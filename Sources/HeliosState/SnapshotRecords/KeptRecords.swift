import HeliosProto
import SwiftProtobuf

// The records a snapshot reader keeps encoded (see ``RecordTable``), as ``DecodedRecords`` carries
// them to the tables, with the fields the reader needs before anything decodes them.

extension JobRecord: SnapshotKeptRecord {
    public init(snapshotBytes bytes: UnsafeRawBufferPointer) throws {
        self = try SnapshotRecordDecoder.decode(bytes, SnapshotRecordDecoder.decodeJobRecord(_:end:))
    }
}

extension Evaluation: SnapshotKeptRecord {
    public init(snapshotBytes bytes: UnsafeRawBufferPointer) throws {
        self = try SnapshotRecordDecoder.decode(bytes, SnapshotRecordDecoder.decodeEvaluation(_:end:))
    }
}

extension Allocation: SnapshotKeptRecord {
    public init(snapshotBytes bytes: UnsafeRawBufferPointer) throws {
        self = try SnapshotRecordDecoder.decode(bytes, SnapshotRecordDecoder.decodeAllocation(_:end:))
    }
}

/// A job from a snapshot with its id, decoded or still encoded.
struct StoredJob: Sendable, Equatable {
    var id: String
    var stored: JobTable.Stored

    init(_ record: JobRecord) {
        id = record.id
        stored = .decoded(record)
    }

    /// A `JobRecord` in the canonical encoding that `SnapshotRecordDecoder.validateJobRecord` accepted,
    /// kept as `kept` (the same bytes; a copy of them by default).
    init(validated bytes: UnsafeRawBufferPointer, kept: KeptBytes? = nil) {
        var id = ""
        SnapshotRecordDecoder.forEachField(inValidated: bytes) { key, field in
            if key == 10, case .delimited(let value) = field { id = SnapshotRecordDecoder.string(value) }  // id
        }
        self.id = id
        stored = .encoded(kept ?? KeptBytes(copying: bytes))
    }

    /// Equal when the records are, however they are kept.
    static func == (lhs: StoredJob, rhs: StoredJob) -> Bool {
        lhs.id == rhs.id && lhs.stored.record == rhs.stored.record
    }
}

/// An evaluation from a snapshot with the fields its indexes need, decoded or still encoded.
struct StoredEvaluation: Sendable, Equatable {
    var id: String
    var jobID: String
    var status: EvaluationStatus
    var stored: EvaluationTable.Stored

    init(_ record: Evaluation) {
        id = record.id
        jobID = record.jobID
        status = record.status
        stored = .decoded(record)
    }

    /// An `Evaluation` in the canonical encoding that `SnapshotRecordDecoder.validateEvaluation`
    /// accepted, kept as `kept` (the same bytes; a copy of them by default).
    init(validated bytes: UnsafeRawBufferPointer, kept: KeptBytes? = nil) {
        var id = ""
        var jobID = ""
        var status = EvaluationStatus.unspecified
        SnapshotRecordDecoder.forEachField(inValidated: bytes) { key, field in
            switch (key, field) {
            case (10, .delimited(let value)): id = SnapshotRecordDecoder.string(value)  // id
            case (18, .delimited(let value)): jobID = SnapshotRecordDecoder.string(value)  // job_id
            case (32, .varint(let value)):  // status
                status = EvaluationStatus(rawValue: Int(Int32(truncatingIfNeeded: value)))!
            default: break
            }
        }
        self.id = id
        self.jobID = jobID
        self.status = status
        stored = .encoded(kept ?? KeptBytes(copying: bytes))
    }

    static func == (lhs: StoredEvaluation, rhs: StoredEvaluation) -> Bool {
        lhs.id == rhs.id && lhs.jobID == rhs.jobID && lhs.status == rhs.status && lhs.stored.record == rhs.stored.record
    }
}

/// An allocation from a snapshot with the fields its indexes need, decoded or still encoded.
struct StoredAllocation: Sendable, Equatable {
    var id: String
    var jobID: String
    var nodeID: String
    var clientStatus: AllocationClientStatus
    /// What it holds on its node (see `ClusterState.heldResources(_:)`).
    var held: (cpu: UInt64, memory: UInt64)?
    var stored: AllocationTable.Stored

    init(_ record: Allocation) {
        id = record.id
        jobID = record.jobID
        nodeID = record.nodeID
        clientStatus = record.clientStatus
        held = ClusterState.heldResources(record)
        stored = .decoded(record)
    }

    /// An `Allocation` in the canonical encoding that `SnapshotRecordDecoder.validateAllocation`
    /// accepted, kept as `kept` (the same bytes; a copy of them by default).
    init(validated bytes: UnsafeRawBufferPointer, kept: KeptBytes? = nil) {
        var id = ""
        var jobID = ""
        var nodeID = ""
        var desired = AllocationDesiredStatus.unspecified
        var client = AllocationClientStatus.unspecified
        var resources = (cpu: UInt64(0), memory: UInt64(0))
        SnapshotRecordDecoder.forEachField(inValidated: bytes) { key, field in
            switch (key, field) {
            case (10, .delimited(let value)): id = SnapshotRecordDecoder.string(value)  // id
            case (18, .delimited(let value)): jobID = SnapshotRecordDecoder.string(value)  // job_id
            case (42, .delimited(let value)): nodeID = SnapshotRecordDecoder.string(value)  // node_id
            case (56, .varint(let value)):  // desired_status
                desired = AllocationDesiredStatus(rawValue: Int(Int32(truncatingIfNeeded: value)))!
            case (72, .varint(let value)):  // client_status
                client = AllocationClientStatus(rawValue: Int(Int32(truncatingIfNeeded: value)))!
            case (98, .delimited(let value)):
                // resources (at most once: the validator accepts no second one): cpu_mhz, memory_mb
                SnapshotRecordDecoder.forEachField(inValidated: value) { key, field in
                    switch (key, field) {
                    case (8, .varint(let value)): resources.cpu = UInt64(UInt32(truncatingIfNeeded: value))
                    case (16, .varint(let value)): resources.memory = UInt64(UInt32(truncatingIfNeeded: value))
                    default: break
                    }
                }
            default: break
            }
        }
        self.id = id
        self.jobID = jobID
        self.nodeID = nodeID
        clientStatus = client
        held = ClusterState.holdsResources(desired: desired, client: client) ? resources : nil
        stored = .encoded(kept ?? KeptBytes(copying: bytes))
    }

    static func == (lhs: StoredAllocation, rhs: StoredAllocation) -> Bool {
        lhs.id == rhs.id && lhs.jobID == rhs.jobID && lhs.nodeID == rhs.nodeID && lhs.clientStatus == rhs.clientStatus
            && lhs.held.map { [$0.cpu, $0.memory] } == rhs.held.map { [$0.cpu, $0.memory] } && lhs.stored.record == rhs.stored.record
    }
}

extension SnapshotRecordDecoder {
    /// Decodes a message with its specialised decoder, or with SwiftProtobuf when that declines.
    static func decode<Record: SwiftProtobuf.Message>(
        _ bytes: UnsafeRawBufferPointer, _ decode: (inout WireReader, Int) -> Record?
    ) throws -> Record {
        guard let base = bytes.baseAddress else { return Record() }
        var reader = WireReader(base: base)
        if let decoded = decode(&reader, bytes.count) { return decoded }
        return try Record(serializedBytes: Array(bytes))
    }

    /// A top-level field's value.
    enum FieldValue {
        case varint(UInt64)
        case delimited(UnsafeRawBufferPointer)
    }

    /// A validated string field's value (valid UTF-8: the validator checked it).
    static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        string(bytes.bindMemory(to: UInt8.self)) ?? ""
    }

    /// Calls `visit` with each top-level field of a message that a generated validator accepted, in
    /// order (so the last occurrence of a field is the last call, as protobuf's "last one wins" wants).
    static func forEachField(inValidated bytes: UnsafeRawBufferPointer, _ visit: (UInt64, FieldValue) -> Void) {
        guard let base = bytes.baseAddress else { return }
        var reader = WireReader(base: base)
        // Validated: every key has a known wire type (varint or length-delimited) and every length fits.
        while reader.offset < bytes.count, let key = reader.varint(bytes.count) {
            switch key & 7 {
            case 0:
                guard let value = reader.varint(bytes.count) else { return }
                visit(key, .varint(value))
            case 2:
                guard let end = reader.delimited(bytes.count) else { return }
                visit(key, .delimited(UnsafeRawBufferPointer(rebasing: bytes[reader.offset..<end])))
                reader.offset = end
            default:
                return
            }
        }
    }
}
