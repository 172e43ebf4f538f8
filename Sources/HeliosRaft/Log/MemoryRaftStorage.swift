/// ``RaftStorage`` in memory, for tests and the deterministic simulation. The production storage sits
/// on the segmented log.
///
/// `entries[0]` is a placeholder whose index and term are those of the snapshot.
public final class MemoryRaftStorage: RaftStorage {
    public private(set) var hardState = HardState()
    public private(set) var currentSnapshot = Snapshot()
    private var entries: [Entry] = [Entry(index: 0, term: 0)]

    public init() {}

    /// A storage for a member of a new cluster: the initial members as committed configuration entries
    /// (see ``RaftBootstrap``), so that nodes joining later learn them by replaying the log.
    public convenience init(bootstrap configuration: ConfigurationState) {
        self.init()
        let entries = RaftBootstrap.entries(for: configuration)
        append(entries)
        setHardState(RaftBootstrap.hardState(for: entries))
    }

    public func initialState() throws(RaftStorageError) -> (HardState, ConfigurationState) {
        (hardState, currentSnapshot.metadata.configuration)
    }

    public func entries(from low: UInt64, to high: UInt64, maxSize: Int) throws(RaftStorageError) -> [Entry] {
        let offset = entries[0].index
        if low <= offset { throw .compacted }
        if high > (try lastIndex()) + 1 { throw .unavailable }
        var result: [Entry] = []
        var size = 0
        for i in Int(low - offset)..<Int(high - offset) {
            size += entries[i].size
            if !result.isEmpty && size > maxSize { break }
            result.append(entries[i])
        }
        return result
    }

    public func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        let offset = entries[0].index
        if index < offset { throw .compacted }
        if Int(index - offset) >= entries.count { throw .unavailable }
        return entries[Int(index - offset)].term
    }

    public func firstIndex() throws(RaftStorageError) -> UInt64 { entries[0].index + 1 }
    public func lastIndex() throws(RaftStorageError) -> UInt64 { entries[0].index + UInt64(entries.count) - 1 }
    public func snapshot() throws(RaftStorageError) -> Snapshot { currentSnapshot }

    // MARK: Writing (the driver's side)

    public func setHardState(_ state: HardState) { hardState = state }

    /// Appends entries, replacing any stored entries from the first new index on.
    public func append(_ new: [Entry]) {
        guard let first = new.first else { return }
        let offset = entries[0].index
        if first.index <= offset {
            // Everything before the snapshot is already covered.
            let skip = Int(offset + 1 - first.index)
            if skip >= new.count { return }
            append(Array(new[skip...]))
            return
        }
        let position = Int(first.index - offset)
        precondition(position <= entries.count, "append leaves a gap: \(first.index) after \(try! lastIndex())")
        entries.removeSubrange(position...)
        entries.append(contentsOf: new)
    }

    /// Replaces the storage with a snapshot (entries after it that agree are kept).
    public func applySnapshot(_ snapshot: Snapshot) throws(RaftStorageError) {
        let index = snapshot.metadata.index
        if index < currentSnapshot.metadata.index && !currentSnapshot.isEmpty { return }
        currentSnapshot = snapshot
        if let position = entries.firstIndex(where: { $0.index == index && $0.term == snapshot.metadata.term }) {
            entries.removeSubrange(0..<position)
            entries[0] = Entry(index: index, term: snapshot.metadata.term)
        } else {
            entries = [Entry(index: index, term: snapshot.metadata.term)]
        }
    }

    /// Records a snapshot of the state machine at `index` (which must be applied) and, optionally,
    /// drops the entries up to `compactTo`.
    public func createSnapshot(index: UInt64, configuration: ConfigurationState, data: [UInt8]) throws(RaftStorageError) {
        if index <= currentSnapshot.metadata.index { return }
        let term = try term(at: index)
        currentSnapshot = Snapshot(metadata: SnapshotMetadata(index: index, term: term, configuration: configuration), data: data)
    }

    /// Drops the entries at or below `index` (which must be covered by the snapshot).
    public func compact(through index: UInt64) throws(RaftStorageError) {
        let offset = entries[0].index
        if index <= offset { return }
        // Entries are dropped only once a snapshot covers them.
        if index > currentSnapshot.metadata.index { throw .unavailable }
        if index > (try lastIndex()) { throw .unavailable }
        let position = Int(index - offset)
        let term = entries[position].term
        entries.removeSubrange(0..<position)
        entries[0] = Entry(index: index, term: term)
    }
}
