/// A node's identifier within a cluster. 0 means "none".
public typealias NodeID = UInt64

/// What an entry carries.
public enum EntryKind: UInt8, Sendable, Hashable {
    /// An application command (or the empty entry a new leader appends).
    case normal = 0
    /// A configuration change (``ConfigurationChange`` encoded in ``Entry/data``).
    case configuration = 1
}

/// One entry of the replicated log.
public struct Entry: Sendable, Hashable, CustomStringConvertible {
    public var index: UInt64
    public var term: UInt64
    public var kind: EntryKind
    public var data: [UInt8]

    public init(index: UInt64, term: UInt64, kind: EntryKind = .normal, data: [UInt8] = []) {
        self.index = index
        self.term = term
        self.kind = kind
        self.data = data
    }

    /// The bytes this entry counts for in size limits.
    public var size: Int { data.count + 24 }

    public var description: String {
        "\(index)@\(term)" + (kind == .configuration ? "(conf)" : "") + (data.isEmpty ? "" : "[\(data.count)B]")
    }
}

/// The state that must be durable before any message that depends on it is sent.
public struct HardState: Sendable, Hashable, CustomStringConvertible {
    /// The latest term this node has seen.
    public var term: UInt64
    /// The candidate this node voted for in `term` (0: none).
    public var vote: NodeID
    /// The highest index known to be committed.
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: NodeID = 0, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }

    public var isEmpty: Bool { term == 0 && vote == 0 && commit == 0 }
    public var description: String { "term \(term) vote \(vote) commit \(commit)" }
}
