/// Terms of a contiguous range of entries, stored as runs: term changes are rare, so this stays tiny.
///
/// Invariant: `starts` is strictly increasing and `terms` is non-decreasing; `starts[i]` is the first
/// index whose term is `terms[i]`.
public struct TermRuns: Sendable, Equatable {
    public private(set) var starts: [UInt64] = []
    public private(set) var terms: [UInt64] = []

    public init() {}

    /// Rebuilds from stored runs; returns nil if they break the invariant.
    public init?(starts: [UInt64], terms: [UInt64]) {
        guard starts.count == terms.count else { return nil }
        for i in starts.indices.dropFirst() where starts[i] <= starts[i - 1] || terms[i] < terms[i - 1] {
            return nil
        }
        self.starts = starts
        self.terms = terms
    }

    /// The number of runs.
    public var count: Int { starts.count }

    /// The term of the last recorded run.
    public var lastTerm: UInt64? { terms.last }

    /// Records that `index` (the next index after all recorded ones) has `term`.
    public mutating func record(index: UInt64, term: UInt64) {
        if terms.last != term {
            starts.append(index)
            terms.append(term)
        }
    }

    /// The term of `index`, assuming it lies within the recorded range.
    public func term(at index: UInt64) -> UInt64? {
        // Binary search for the last run starting at or before `index`.
        var low = 0
        var high = starts.count
        while low < high {
            let mid = (low + high) / 2
            if starts[mid] <= index { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : terms[low - 1]
    }

    /// Drops every run starting after `index` (used when the log is truncated after `index`).
    public mutating func removeRuns(after index: UInt64) {
        while let last = starts.last, last > index {
            starts.removeLast()
            terms.removeLast()
        }
    }
}
