@testable import HeliosLog
import HeliosTesting

/// The reference the randomized tests compare the log against: a plain dictionary of entries.
struct LogModel: Equatable {
    var entries: [UInt64: LogEntry] = [:]
    /// Everything at or below this was purged (the log may still hold some of it).
    var purgedThrough: UInt64 = 0
    var nextIndex: UInt64 = 1
    /// The term of the last entry before a purge emptied the log.
    var termBeforeReset: UInt64 = 0

    var lastIndex: UInt64 { nextIndex - 1 }
    var lastTerm: UInt64 { entries[lastIndex]?.term ?? termBeforeReset }

    mutating func append(_ new: [LogEntry]) {
        for entry in new { entries[entry.index] = entry }
        nextIndex += UInt64(new.count)
    }

    mutating func truncate(after index: UInt64) {
        guard index < lastIndex else { return }
        // Entries appended after this point replace retained-but-purged ones: check them again.
        purgedThrough = min(purgedThrough, index)
        for i in (index + 1)...lastIndex { entries[i] = nil }
        nextIndex = index + 1
    }

    mutating func purge(through index: UInt64) {
        purgedThrough = max(purgedThrough, index)
        if index >= lastIndex {
            termBeforeReset = lastTerm
            entries = [:]
            nextIndex = index + 1
        }
    }

    /// Random entries continuing the model, sometimes in a new term.
    func nextBatch(_ random: inout SeededRandom) -> [LogEntry] {
        let term = lastTerm + (random.chance(0.2) ? 1 : 0) + (lastTerm == 0 ? 1 : 0)
        return (0..<Int(1 + random.next() % 8)).map { offset in
            LogEntry(
                index: nextIndex + UInt64(offset), term: term, type: UInt8(random.next() % 4),
                payload: random.bytes(Int(random.next() % 200)))
        }
    }

    /// Checks that `log` holds exactly the model's entries in its stored range.
    func check(_ log: SegmentedLog, _ context: String) -> String? {
        if log.lastIndex != lastIndex { return "\(context): lastIndex \(log.lastIndex), model \(lastIndex)" }
        let first = log.firstIndex
        if first > purgedThrough + 1 { return "\(context): firstIndex \(first) beyond purge point \(purgedThrough)" }
        guard max(first, purgedThrough + 1) <= lastIndex else { return nil }
        do {
            let stored = try log.entries(from: max(first, purgedThrough + 1), through: lastIndex)
            for entry in stored where entries[entry.index] != entry {
                return "\(context): entry \(entry.index) differs from the model"
            }
            if stored.count != Int(lastIndex - max(first, purgedThrough + 1) + 1) {
                return "\(context): read \(stored.count) entries"
            }
            if lastIndex >= max(first, purgedThrough + 1), try log.term(at: lastIndex) != lastTerm {
                return "\(context): term(at: last) disagrees"
            }
        } catch {
            return "\(context): \(error)"
        }
        return nil
    }
}
