import HeliosLog
import HeliosRaft
import Synchronization

/// ``RaftStorage`` on the segmented log: Raft index = log index, entry kind = log entry type.
///
/// Persisting a Ready costs one `fdatasync` for its entries (the log's group commit); the hard-state
/// file is rewritten only when the term or vote changes. The commit index is volatile in Raft: the
/// saved one may lag, and a restarted node relearns it from its snapshot and the leader.
public final class SegmentedRaftStorage: RaftStorage, @unchecked Sendable {
    // @unchecked: `snapshot` and `hardState` are guarded by `state`; the log is thread-safe.
    public let log: SegmentedLog
    let hardStateFile: HardStateFile
    let snapshots: any RaftSnapshotStore
    private let state: Mutex<(snapshot: SnapshotMetadata, hardState: HardState, configuration: ConfigurationState)>

    /// Opens the storage in `directory` (`log/` and `hardstate` inside it).
    public init(directory: String, logConfiguration: LogConfiguration = LogConfiguration(), snapshots: any RaftSnapshotStore) throws {
        log = try SegmentedLog.open(directory: directory + "/log", configuration: logConfiguration)
        hardStateFile = HardStateFile(directory: directory, fileSystem: logConfiguration.fileSystem)
        self.snapshots = snapshots
        let saved = try hardStateFile.load()
        let snapshot = try snapshots.latest()
        state = Mutex((
            snapshot?.metadata ?? SnapshotMetadata(),
            HardState(term: saved.term, vote: saved.votedFor, commit: saved.commitIndex),
            snapshot?.metadata.configuration ?? ConfigurationState()
        ))
    }

    /// Writes the bootstrap entries of a new cluster (see ``RaftBootstrap``). Fails if the log holds entries.
    public func bootstrap(_ configuration: ConfigurationState) async throws {
        guard log.lastIndex == 0, try snapshots.latest() == nil else {
            throw LogError(
                code: .invalidArgument,
                message: "log \(log.directory) already holds a cluster (last index \(log.lastIndex)); "
                    + "restart without --bootstrap to resume it, or use an empty data directory")
        }
        let entries = RaftBootstrap.entries(for: configuration)
        try await log.append(entries.map { LogEntry(index: $0.index, term: $0.term, type: $0.kind.rawValue, payload: $0.data) })
        let hard = RaftBootstrap.hardState(for: entries)
        try hardStateFile.save(.init(term: hard.term, votedFor: hard.vote, commitIndex: hard.commit))
        state.withLock { $0.hardState = hard }
    }

    // MARK: RaftStorage

    public func initialState() throws(RaftStorageError) -> (HardState, ConfigurationState) {
        state.withLock { ($0.hardState, $0.configuration) }
    }

    public func entries(from low: UInt64, to high: UInt64, maxSize: Int) throws(RaftStorageError) -> [Entry] {
        let first = try firstIndex()
        if low < first { throw .compacted }
        if high > (try lastIndex()) + 1 { throw .unavailable }
        if low >= high { return [] }
        do {
            return try log.entries(from: low, through: high - 1, maxBytes: maxSize).map {
                Entry(index: $0.index, term: $0.term, kind: EntryKind(rawValue: $0.type) ?? .normal, data: $0.payload)
            }
        } catch {
            throw .failed(error.message)
        }
    }

    public func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        let snapshot = state.withLock { $0.snapshot }
        if index == snapshot.index { return snapshot.term }
        if index < snapshot.index { throw .compacted }
        if index > log.lastIndex { throw .unavailable }
        if index < log.firstIndex { throw .compacted }
        do {
            return try log.term(at: index)
        } catch {
            throw .failed(error.message)
        }
    }

    public func firstIndex() throws(RaftStorageError) -> UInt64 {
        let snapshotIndex = state.withLock { $0.snapshot.index }
        return max(log.firstIndex, snapshotIndex + 1)
    }

    public func lastIndex() throws(RaftStorageError) -> UInt64 {
        let snapshotIndex = state.withLock { $0.snapshot.index }
        return max(log.lastIndex, snapshotIndex)
    }

    public func snapshot() throws(RaftStorageError) -> Snapshot {
        do {
            return try snapshots.latest() ?? Snapshot()
        } catch {
            throw .failed("\(error)")
        }
    }

    // MARK: Persisting

    /// Makes a Ready's snapshot, entries and hard state durable (in that order).
    public func persist(_ ready: Ready) async throws {
        if let snapshot = ready.snapshot {
            try snapshots.save(snapshot)
            state.withLock {
                $0.snapshot = snapshot.metadata
                $0.configuration = snapshot.metadata.configuration
            }
            // Entries the snapshot covers are no longer needed; past the log's end it restarts empty.
            try await log.purgePrefix(through: snapshot.metadata.index)
        }
        if let first = ready.entries.first {
            if first.index <= log.lastIndex {
                // A new leader overwrote our uncommitted tail (Raft conflict resolution).
                try await log.truncateSuffix(after: first.index - 1)
            }
            try await log.append(ready.entries.map {
                LogEntry(index: $0.index, term: $0.term, type: $0.kind.rawValue, payload: $0.data)
            })
        }
        if let hard = ready.hardState {
            let previous = state.withLock { state in
                let previous = state.hardState
                state.hardState = hard
                return previous
            }
            if hard.term != previous.term || hard.vote != previous.vote {
                try hardStateFile.save(.init(term: hard.term, votedFor: hard.vote, commitIndex: hard.commit))
            }
        }
    }

    /// Records a snapshot the application took at `index` and drops log segments it covers, keeping
    /// `retain` entries before it for slow followers.
    public func compact(snapshot: Snapshot, retain: UInt64) async throws {
        try snapshots.save(snapshot)
        state.withLock { $0.snapshot = snapshot.metadata }
        let index = snapshot.metadata.index
        // Purge only below the last entry: purging through it would restart the log empty.
        if index > retain && index - retain < log.lastIndex { try await log.purgePrefix(through: index - retain) }
    }

    /// Saves the current hard state including the commit index (at shutdown) and closes the log.
    public func close() async {
        let hard = state.withLock { $0.hardState }
        try? hardStateFile.save(.init(term: hard.term, votedFor: hard.vote, commitIndex: hard.commit))
        await log.close()
    }
}
