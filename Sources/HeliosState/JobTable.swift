import HeliosProto
import SwiftProtobuf

/// The jobs of a ``ClusterState`` by id.
///
/// A job loaded from a snapshot stays in the bytes the snapshot holds it in until something reads or
/// changes it: jobs are the costliest records to decode (every version's spec, groups and tasks, a
/// dozen heap objects each), and most of them are never read between two start-ups. The reader
/// checks those bytes against the decoder's grammar when it loads them (``Stored/encoded(_:)`` holds
/// only bytes that decode), so a bad snapshot still fails its load, not a later read.
///
/// A read (``subscript(_:)``) decodes an encoded job each time, a few microseconds; apply uses
/// ``load(_:)``, which keeps the decoded record for the next event.
public struct JobTable: Sendable {
    /// A job as the table keeps it.
    enum Stored: Sendable {
        case decoded(JobRecord)
        /// A `JobRecord` in the canonical encoding, validated by
        /// `SnapshotRecordDecoder.validateJobRecord` (which accepts exactly what its decoder decodes).
        case encoded([UInt8])

        var record: JobRecord {
            switch self {
            case .decoded(let record): return record
            case .encoded(let bytes): return Self.decode(bytes)
            }
        }

        static func decode(_ bytes: [UInt8]) -> JobRecord {
            let fast = bytes.withUnsafeBytes { raw -> JobRecord? in
                guard let base = raw.baseAddress else { return JobRecord() }
                var reader = SnapshotRecordDecoder.WireReader(base: base)
                return SnapshotRecordDecoder.decodeJobRecord(&reader, end: raw.count)
            }
            if let fast { return fast }
            // Unreachable while the validator and the decoder agree (a test holds them to it).
            preconditionFailure("a job record validated when its snapshot was loaded does not decode")
        }
    }

    private var entries: [String: Stored] = [:]

    public init() {}

    /// The number of jobs.
    public var count: Int { entries.count }

    public var isEmpty: Bool { entries.isEmpty }

    /// The ids of all jobs, in no particular order.
    public var keys: some Collection<String> { entries.keys }

    /// Whether a job with this id exists (without decoding it).
    public func contains(_ id: String) -> Bool { entries[id] != nil }

    /// The job with this id, decoded; setting stores (or, with nil, removes) it.
    public subscript(id: String) -> JobRecord? {
        get { entries[id]?.record }
        set { entries[id] = newValue.map(Stored.decoded) }
    }

    /// The job with this id, decoded and kept decoded (for apply, which is likely to read it again).
    mutating func load(_ id: String) -> JobRecord? {
        guard let stored = entries[id] else { return nil }
        guard case .encoded = stored else { return stored.record }
        let record = stored.record
        entries[id] = .decoded(record)
        return record
    }

    /// How many jobs are still in their snapshot encoding (not yet loaded).
    var encodedCount: Int { entries.values.count { if case .encoded = $0 { true } else { false } } }

    mutating func insert(_ job: StoredJob) { entries[job.id] = job.stored }

    mutating func reserveCapacity(_ capacity: Int) { entries.reserveCapacity(capacity) }
}

/// A job record from a snapshot with its id, as ``DecodedRecords`` carries it to the ``JobTable``.
struct StoredJob: Sendable, Equatable {
    var id: String
    var stored: JobTable.Stored

    init(_ record: JobRecord) {
        id = record.id
        stored = .decoded(record)
    }

    /// A job record in the canonical encoding that `SnapshotRecordDecoder.validateJobRecord` accepted.
    init(validated bytes: UnsafeRawBufferPointer) {
        id = Self.id(inValidated: bytes)
        stored = .encoded(Array(bytes))
    }

    /// Equal when the records are, however they are kept.
    static func == (lhs: StoredJob, rhs: StoredJob) -> Bool {
        lhs.id == rhs.id && lhs.stored.record == rhs.stored.record
    }

    /// The `id` field (1) of a validated `JobRecord` ("" when absent, as its decoder gives).
    private static func id(inValidated bytes: UnsafeRawBufferPointer) -> String {
        guard let base = bytes.baseAddress else { return "" }
        var reader = SnapshotRecordDecoder.WireReader(base: base)
        var id = ""
        // Validated: every key is one the grammar knows, with its wire type, and every length fits.
        while reader.offset < bytes.count, let key = reader.varint(bytes.count) {
            switch key & 7 {
            case 0:
                _ = reader.varint(bytes.count)
            case 2 where key == 10:
                // The last occurrence wins, as in any protobuf decoder.
                id = reader.string(bytes.count) ?? ""
            case 2:
                guard let end = reader.delimited(bytes.count) else { return id }
                reader.offset = end
            default:
                return id
            }
        }
        return id
    }
}
