/// The node's view of the log: stable storage followed by the unstable tail, plus the commit and
/// apply positions.
///
/// Invariants: `applied <= committed`; `committed <= lastIndex`; entries up to `stableIndex` are durable.
struct RaftLog {
    let storage: any RaftStorage
    var unstable: UnstableLog
    /// The highest index known to be committed by a quorum.
    var committed: UInt64
    /// The highest index handed to the application for applying.
    var applied: UInt64
    /// The largest byte size of committed entries handed out in one Ready.
    let maxApplyingSize: Int

    init(storage: any RaftStorage, maxApplyingSize: Int) throws(RaftStorageError) {
        self.storage = storage
        let first = try storage.firstIndex()
        let last = try storage.lastIndex()
        unstable = UnstableLog(offset: last + 1)
        committed = first - 1
        applied = first - 1
        self.maxApplyingSize = maxApplyingSize
    }

    var firstIndex: UInt64 {
        if let index = unstable.firstIndex { return index }
        return (try? storage.firstIndex()) ?? 1
    }

    var lastIndex: UInt64 {
        if let index = unstable.lastIndex { return index }
        return (try? storage.lastIndex()) ?? 0
    }

    /// The last index that is durable (stable storage, not counting the unstable tail).
    var stableIndex: UInt64 { unstable.offset - 1 }

    var lastTerm: UInt64 { (try? term(at: lastIndex)) ?? 0 }

    /// The term of `index`; `.compacted` below the first index - 1, `.unavailable` past the end.
    func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        if let term = unstable.term(at: index) { return term }
        let dummy = firstIndex - 1
        if index < dummy { throw .compacted }
        if index > lastIndex { throw .unavailable }
        return try storage.term(at: index)
    }

    func matchTerm(_ index: UInt64, _ term: UInt64) -> Bool {
        (try? self.term(at: index)) == term
    }

    /// Whether a log ending at `index`@`term` is at least as up to date as this one (Raft §5.4.1).
    func isUpToDate(index: UInt64, term: UInt64) -> Bool {
        term > lastTerm || (term == lastTerm && index >= lastIndex)
    }

    /// Handles appendEntries: if the entry before `entries` matches, appends them (replacing conflicts)
    /// and advances the commit index. Returns the last index the message guarantees, or nil on mismatch.
    mutating func maybeAppend(index: UInt64, logTerm: UInt64, committed leaderCommit: UInt64, entries: [Entry]) -> UInt64? {
        guard matchTerm(index, logTerm) else { return nil }
        let lastNew = index + UInt64(entries.count)
        let conflict = findConflict(entries)
        if conflict != 0 {
            // A leader never sends entries that conflict with committed ones; a message that does is
            // bogus and must not rewrite committed history.
            guard conflict > committed else { return nil }
            append(Array(entries[Int(conflict - index - 1)...]))
        }
        commit(to: min(leaderCommit, lastNew))
        return lastNew
    }

    /// Appends entries (which must continue or overwrite the uncommitted tail); returns the last index.
    @discardableResult
    mutating func append(_ entries: [Entry]) -> UInt64 {
        guard let first = entries.first else { return lastIndex }
        precondition(first.index > committed, "append of \(first.index) would overwrite committed \(committed)")
        unstable.truncateAndAppend(entries)
        return lastIndex
    }

    /// The first index where `entries` disagree with the log, or 0 if all agree; an index past the end
    /// of the log counts as a conflict (a new entry).
    func findConflict(_ entries: [Entry]) -> UInt64 {
        for entry in entries where !matchTerm(entry.index, entry.term) { return entry.index }
        return 0
    }

    /// The largest index `<= index` whose term is `<= term` (fast log back-tracking, etcd style).
    func findConflictByTerm(index: UInt64, term: UInt64) -> (UInt64, UInt64) {
        var i = index
        while i > 0 {
            guard let t = try? self.term(at: i) else { return (i, 0) }
            if t <= term { return (i, t) }
            i -= 1
        }
        return (0, 0)
    }

    mutating func commit(to index: UInt64) {
        if committed < index {
            precondition(index <= lastIndex, "commit \(index) is past the last index \(lastIndex)")
            committed = index
        }
    }

    /// Commits `index` if it is larger than the commit index and belongs to `term` (Raft §5.4.2).
    mutating func maybeCommit(index: UInt64, term: UInt64) -> Bool {
        if index > committed && matchTerm(index, term) {
            commit(to: index)
            return true
        }
        return false
    }

    mutating func applied(to index: UInt64) {
        if index == 0 { return }
        precondition(index <= committed && index >= applied, "applied \(index) outside \(applied)...\(committed)")
        applied = index
    }

    /// Committed entries not yet handed out, limited to durable ones and to `maxApplyingSize`.
    func nextCommittedEntries() -> [Entry] {
        let high = min(committed, stableIndex)
        guard applied < high, applied + 1 >= firstIndex else { return [] }
        return (try? slice(applied + 1, high + 1, maxSize: maxApplyingSize)) ?? []
    }

    var hasNextCommittedEntries: Bool {
        applied < min(committed, stableIndex) && applied + 1 >= firstIndex
    }

    /// Entries `low..<high` stopping after `maxSize` bytes (at least one).
    func slice(_ low: UInt64, _ high: UInt64, maxSize: Int) throws(RaftStorageError) -> [Entry] {
        if low >= high { return [] }
        if low < firstIndex { throw .compacted }
        if high > lastIndex + 1 { throw .unavailable }
        var result: [Entry] = []
        if low < unstable.offset {
            result = try storage.entries(from: low, to: min(high, unstable.offset), maxSize: maxSize)
            if UInt64(result.count) < min(high, unstable.offset) - low { return result }
        }
        if high > unstable.offset {
            var size = result.reduce(0) { $0 + $1.size }
            for entry in unstable.slice(max(low, unstable.offset), high) {
                size += entry.size
                if !result.isEmpty && size > maxSize { break }
                result.append(entry)
            }
        }
        return result
    }

    /// Entries from `index` on, up to `maxSize` bytes.
    func entries(from index: UInt64, maxSize: Int) throws(RaftStorageError) -> [Entry] {
        if index > lastIndex { return [] }
        return try slice(index, lastIndex + 1, maxSize: maxSize)
    }

    /// The snapshot to send to a lagging follower.
    func snapshot() throws(RaftStorageError) -> Snapshot {
        if let snapshot = unstable.snapshot { return snapshot }
        return try storage.snapshot()
    }

    mutating func restore(_ snapshot: Snapshot) {
        committed = snapshot.metadata.index
        unstable.restore(snapshot)
    }

    mutating func stable(to index: UInt64, term: UInt64) { unstable.stable(to: index, term: term) }
    mutating func stableSnapshot(to index: UInt64) { unstable.stableSnapshot(to: index) }
}
