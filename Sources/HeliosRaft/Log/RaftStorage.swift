/// Why a storage read failed.
public enum RaftStorageError: Error, Sendable, Hashable {
    /// The index is below the storage's first index (compacted into a snapshot).
    case compacted
    /// The index is above the storage's last index.
    case unavailable
    /// The snapshot is being produced; try again later.
    case snapshotTemporarilyUnavailable
    /// The storage itself failed (I/O, corruption): the node must stop.
    case failed(String)
}

/// The durable log as the Raft core reads it. Read-only from the core's side: the driver writes to it
/// when it persists a ``Ready``.
///
/// Invariant: entries `firstIndex()...lastIndex()` are readable; `term(firstIndex() - 1)` is the
/// snapshot's term.
public protocol RaftStorage: AnyObject {
    /// The persisted hard state and membership, read once when a node starts.
    func initialState() throws(RaftStorageError) -> (HardState, ConfigurationState)
    /// Entries `low..<high`, stopping after `maxSize` bytes (always at least one entry).
    func entries(from low: UInt64, to high: UInt64, maxSize: Int) throws(RaftStorageError) -> [Entry]
    /// The term of entry `index` (`firstIndex() - 1` gives the snapshot's term).
    func term(at index: UInt64) throws(RaftStorageError) -> UInt64
    /// The first index that ``entries(from:to:maxSize:)`` can return.
    func firstIndex() throws(RaftStorageError) -> UInt64
    /// The last index stored.
    func lastIndex() throws(RaftStorageError) -> UInt64
    /// The most recent snapshot.
    func snapshot() throws(RaftStorageError) -> Snapshot
}
