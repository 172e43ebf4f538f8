/// The kinds of messages Raft nodes exchange.
public enum MessageType: UInt8, Sendable, Hashable, CaseIterable {
    case appendEntries = 1
    case appendResponse = 2
    case requestVote = 3
    case voteResponse = 4
    case requestPreVote = 5
    case preVoteResponse = 6
    case heartbeat = 7
    case heartbeatResponse = 8
    /// One chunk of a snapshot, leader to follower.
    case installSnapshot = 9
    /// A follower's acknowledgement of a snapshot chunk (or rejection).
    case snapshotResponse = 10
    /// Tells the leadership-transfer target to campaign at once.
    case timeoutNow = 11
    /// A follower asks the leader for a read index.
    case readIndex = 12
    case readIndexResponse = 13
    /// A follower forwards a proposal to the leader.
    case propose = 14

    /// Whether the message is a request for a vote (real or pre-vote).
    var isVoteRequest: Bool { self == .requestVote || self == .requestPreVote }
}

/// A message between Raft nodes. One struct for every type; fields a type does not use stay at
/// their defaults. Encoded for the wire by the transport (see `Formats/proto/helios/v1/raft.proto`).
public struct Message: Sendable, Hashable, CustomStringConvertible {
    public var type: MessageType
    public var from: NodeID
    public var to: NodeID
    /// The sender's term (0 only for local messages, which never go on the wire).
    public var term: UInt64
    /// appendEntries: the term of the entry before `entries`. Votes: the candidate's last log term.
    /// Rejected appendResponse: the follower's term at `rejectHint`.
    public var logTerm: UInt64 = 0
    /// appendEntries: the index before `entries`. Votes: the candidate's last index. appendResponse: the
    /// last index the follower now matches (or the rejected index). Snapshot messages: the byte offset.
    public var index: UInt64 = 0
    public var entries: [Entry] = []
    /// The sender's commit index (appendEntries, heartbeat).
    public var commit: UInt64 = 0
    public var reject: Bool = false
    /// Rejected appendResponse: the follower's hint of where the logs may agree.
    public var rejectHint: UInt64 = 0
    /// installSnapshot: the snapshot's metadata (with `data` holding this chunk).
    public var snapshot: SnapshotMetadata? = nil
    /// installSnapshot: the chunk's bytes. readIndex: the request context.
    public var data: [UInt8] = []
    /// installSnapshot: whether this is the last chunk; timeoutNow/vote: a leadership transfer.
    public var flag: Bool = false
    /// Opaque context echoed back (heartbeats carry read-index contexts).
    public var context: [UInt8] = []

    public init(type: MessageType, from: NodeID, to: NodeID, term: UInt64) {
        self.type = type
        self.from = from
        self.to = to
        self.term = term
    }

    public var description: String {
        var text = "\(from)->\(to) \(type) t\(term)"
        switch type {
        case .appendEntries:
            text += " prev \(index)@\(logTerm) commit \(commit) [\(entries.map(\.description).joined(separator: ","))]"
        case .appendResponse:
            text += reject ? " reject \(index) hint \(rejectHint)@\(logTerm)" : " match \(index)"
        case .requestVote, .requestPreVote:
            text += " last \(index)@\(logTerm)" + (flag ? " transfer" : "")
        case .voteResponse, .preVoteResponse:
            text += reject ? " rejected" : " granted"
        case .heartbeat:
            text += " commit \(commit)"
        case .installSnapshot:
            text += " \(snapshot?.description ?? "?") offset \(index) +\(data.count)B" + (flag ? " last" : "")
        case .snapshotResponse:
            text += reject ? " reject" : " ack \(index)" + (flag ? " done" : "")
        case .propose:
            text += " [\(entries.count) entries]"
        default:
            break
        }
        return text
    }
}
