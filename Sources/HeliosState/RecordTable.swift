import HeliosProto

/// A table of records by id (``ClusterState``'s jobs, allocations and evaluations).
///
/// A record loaded from a snapshot stays in the bytes the snapshot holds it in until something
/// reads or changes it: decoding builds a dozen heap objects for a job and a few for an allocation
/// (several hundred bytes where the encoding takes under a hundred; an evaluation is 176 bytes inline),
/// and a start-up spent much of its time on that and on the memory it takes, for records that are
/// mostly not read before the next start-up. The reader checks the bytes against the
/// decoder's grammar when it loads them (an encoded entry holds only bytes that decode), so a bad
/// snapshot still fails its load, never a later read.
///
/// A read (``subscript(_:)``) decodes an encoded record each time (microseconds); apply uses
/// ``load(_:)``, which keeps the decoded record for the next event.
///
/// The entries are sharded (``ShardedDictionary``): a change made while a reader's copy of the
/// state shares the table copies one shard, not the table.
public struct RecordTable<Record: SnapshotKeptRecord>: Sendable {
    /// A record as the table keeps it.
    enum Stored: Sendable {
        /// Boxed: a table's values are then a pointer wide (a `JobRecord` inline is ~80 bytes, and
        /// the table has room for 1.3-2.7 entries per record).
        indirect case decoded(Record)
        /// The record in the canonical encoding, accepted by its generated validator (which accepts
        /// exactly what its decoder decodes).
        case encoded(KeptBytes)

        var record: Record {
            switch self {
            case .decoded(let record): return record
            case .encoded(let bytes): return bytes.withUnsafeBytes { Record(kept: $0) }
            }
        }
    }

    private var entries = ShardedDictionary<String, Stored>()

    public init() {}

    /// The number of records.
    public var count: Int { entries.count }

    public var isEmpty: Bool { entries.isEmpty }

    /// The ids of all records, in no particular order.
    public var keys: some Collection<String> { entries.keys }

    /// All records, decoded, in no particular order.
    public var values: some Collection<Record> { entries.values.lazy.map(\.record) }

    /// Whether a record with this id exists (without decoding it).
    public func contains(_ id: String) -> Bool { entries[id] != nil }

    /// The record with this id, decoded; setting stores (or, with nil, removes) it.
    public subscript(id: String) -> Record? {
        get { entries[id]?.record }
        set { entries[id] = newValue.map(Stored.decoded) }
    }

    /// The record with this id, decoded and kept decoded (for apply, which is likely to read it again).
    mutating func load(_ id: String) -> Record? {
        guard let stored = entries[id] else { return nil }
        guard case .encoded = stored else { return stored.record }
        let record = stored.record
        entries[id] = .decoded(record)
        return record
    }

    /// Removes the record with this id and returns it, decoded.
    @discardableResult
    mutating func removeValue(forKey id: String) -> Record? { entries.removeValue(forKey: id)?.record }

    /// How many records are still in their snapshot encoding (looks at every entry: for tests).
    var encodedCount: Int { entries.values.count { if case .encoded = $0 { true } else { false } } }

    /// How many shards the table keeps its entries in (for tests).
    var shardCount: Int { entries.shardCount }

    /// Adds a record read from a snapshot.
    mutating func insert(id: String, _ stored: Stored) { entries[id] = stored }

    /// How the record with this id is kept: decoded, or as bytes from a snapshot (which the snapshot
    /// writer copies as they are).
    func stored(_ id: String) -> Stored? { entries[id] }

    mutating func reserveCapacity(_ capacity: Int) { entries.reserveCapacity(capacity) }
}

/// A message a ``RecordTable`` may keep in its snapshot encoding until it is read.
public protocol SnapshotKeptRecord: Sendable, Equatable {
    /// Decodes the message's protobuf encoding: with the decoder specialised for snapshot records
    /// when the bytes are in the canonical encoding, otherwise with SwiftProtobuf (which throws what
    /// it throws for bad bytes).
    init(snapshotBytes: UnsafeRawBufferPointer) throws
}

extension SnapshotKeptRecord {
    /// Decodes bytes that the message's generated validator accepted when a snapshot was loaded.
    /// Those always decode; a failure here would be a broken invariant (validator and decoder
    /// disagreeing, which a test rules out), not bad input, and stops the process.
    init(kept bytes: UnsafeRawBufferPointer) {
        do {
            try self.init(snapshotBytes: bytes)
        } catch {
            preconditionFailure("a \(Self.self) validated when its snapshot was loaded does not decode: \(error)")
        }
    }
}

/// A kept record's bytes: a range of the snapshot batch buffer it was read from, which stays alive
/// while any of its records is kept (a copy per record cost a heap allocation each, and the batch's
/// bytes are little more than its records).
package struct KeptBytes: Sendable {
    let buffer: [UInt8]
    let offset: UInt32
    package let count: UInt32

    /// `count` bytes of `buffer` from `offset` (a batch is at most a few hundred KiB plus one record
    /// of at most 2 GiB: the offsets fit).
    init(in buffer: [UInt8], offset: Int, count: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= buffer.count)
        self.buffer = buffer
        self.offset = UInt32(offset)
        self.count = UInt32(count)
    }

    /// A copy of `bytes` of its own.
    init(copying bytes: UnsafeRawBufferPointer) {
        self.init(in: Array(bytes), offset: 0, count: bytes.count)
    }

    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[Int(offset)..<Int(offset + count)])) }
    }
}

/// The jobs of a ``ClusterState``.
public typealias JobTable = RecordTable<JobRecord>

/// The evaluations of a ``ClusterState``.
public typealias EvaluationTable = RecordTable<Evaluation>

/// The allocations of a ``ClusterState``.
public typealias AllocationTable = RecordTable<Allocation>
