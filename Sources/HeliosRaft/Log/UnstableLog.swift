/// Entries (and possibly a snapshot) that the node has accepted but not yet handed to stable storage.
///
/// Invariant: `entries[i].index == offset + i`; with a snapshot, `offset == snapshot.index + 1`.
struct UnstableLog {
    var snapshot: Snapshot?
    var entries: [Entry] = []
    var offset: UInt64

    init(offset: UInt64) {
        self.offset = offset
    }

    /// The first index, if there is a snapshot.
    var firstIndex: UInt64? { snapshot.map { $0.metadata.index + 1 } }

    /// The last index, if there are entries or a snapshot.
    var lastIndex: UInt64? {
        if !entries.isEmpty { return offset + UInt64(entries.count) - 1 }
        return snapshot?.metadata.index
    }

    /// The term of `index`, if this log knows it.
    func term(at index: UInt64) -> UInt64? {
        if index < offset {
            if let snapshot, snapshot.metadata.index == index { return snapshot.metadata.term }
            return nil
        }
        guard let last = lastIndex, index <= last else { return nil }
        return entries[Int(index - offset)].term
    }

    /// The entries up to `index` with `term` are now durable.
    mutating func stable(to index: UInt64, term: UInt64) {
        guard let known = self.term(at: index), known == term, index >= offset else { return }
        entries.removeFirst(Int(index + 1 - offset))
        offset = index + 1
    }

    /// The snapshot at `index` is now durable.
    mutating func stableSnapshot(to index: UInt64) {
        if snapshot?.metadata.index == index { snapshot = nil }
    }

    mutating func restore(_ snapshot: Snapshot) {
        offset = snapshot.metadata.index + 1
        entries = []
        self.snapshot = snapshot
    }

    /// Appends `new`, replacing every entry from `new.first.index` on.
    mutating func truncateAndAppend(_ new: [Entry]) {
        guard let first = new.first?.index else { return }
        if first == offset + UInt64(entries.count) {
            entries.append(contentsOf: new)
        } else if first <= offset {
            // Replace everything (the storage's conflicting suffix is truncated when these persist).
            offset = first
            entries = new
        } else {
            entries.removeSubrange(Int(first - offset)...)
            entries.append(contentsOf: new)
        }
    }

    /// Entries `low..<high`, which must lie within this log.
    func slice(_ low: UInt64, _ high: UInt64) -> ArraySlice<Entry> {
        entries[Int(low - offset)..<Int(high - offset)]
    }
}
