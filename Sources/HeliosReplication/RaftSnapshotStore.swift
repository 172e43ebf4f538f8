import HeliosRaft
import Synchronization

/// Where a node keeps its latest state-machine snapshot (the file-based store arrives with the
/// state/snapshot layer; tests and the in-memory path use ``MemorySnapshotStore``).
public protocol RaftSnapshotStore: Sendable {
    /// The newest saved snapshot, if any.
    func latest() throws -> Snapshot?
    /// Saves a snapshot durably; returns once it is durable.
    func save(_ snapshot: Snapshot) throws
}

/// A snapshot store in memory.
public final class MemorySnapshotStore: RaftSnapshotStore {
    private let stored = Mutex<Snapshot?>(nil)
    public init() {}
    public func latest() throws -> Snapshot? { stored.withLock { $0 } }
    public func save(_ snapshot: Snapshot) throws { stored.withLock { $0 = snapshot } }
}
