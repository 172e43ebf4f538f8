/// How a Raft node behaves. Time is counted in ticks; the driver decides how long a tick is.
public struct RaftConfiguration: Sendable {
    /// This node's id (non-zero).
    public var id: NodeID
    /// Ticks without hearing from a leader before a follower campaigns (randomized in
    /// `electionTicks..<2*electionTicks`). Also the CheckQuorum and leadership-transfer period.
    public var electionTicks = 10
    /// Ticks between a leader's heartbeats. Must be less than `electionTicks`.
    public var heartbeatTicks = 1
    /// When a follower's leader connection closes (``RawNode/reportConnectionClosed(from:)``), the
    /// surviving voters campaign in id order this many ticks apart (the first one on its next tick),
    /// so that one election ends before the next survivor starts one: more than an election's round
    /// trips plus a tick of clock skew between the servers' tickers.
    public var connectionLossStaggerTicks = 3
    /// Whether a leader tells its followers at once when its commit index advances (an empty
    /// appendEntries to each, as etcd-io/raft does). Off, they learn it with the next entries or
    /// heartbeat, as in hashicorp/raft: one message, one follower wake-up and one Ready fewer per
    /// round of replication, for followers that apply up to a heartbeat later. Reads stay
    /// linearizable (a ReadIndex confirmation is a heartbeat, which carries the commit index).
    public var broadcastCommit = true
    /// Run a pre-vote round before a real election, so a rejoining node cannot disrupt a working leader.
    public var preVote = true
    /// A leader steps down if it has not heard from a quorum within an election timeout; followers
    /// that hear from a leader ignore vote requests for that long (leader lease).
    public var checkQuorum = true
    /// Bytes of entries per appendEntries message.
    public var maxMessageBytes = 1 << 20
    /// appendEntries messages in flight to one follower.
    public var maxInflightMessages = 256
    /// Bytes in flight to one follower (0: no limit beyond the message count).
    public var maxInflightBytes = 32 << 20
    /// Bytes of uncommitted entries a leader accepts before refusing proposals (0: no limit).
    public var maxUncommittedBytes = 64 << 20
    /// Bytes of committed entries handed out in one Ready. Small enough that a node applying a long
    /// backlog (a restart that learns the commit index from the leader) gets back to its messages
    /// between Readies instead of going silent long enough for the leader to lose its quorum (etcd
    /// uses its 1 MiB message size here too).
    public var maxApplyingBytes = 1 << 20
    /// Bytes per installSnapshot message.
    public var snapshotChunkBytes = 1 << 20
    /// The last index the application had applied when the node (re)started.
    public var applied: UInt64 = 0
    /// Seed of the node's random election timeouts (the core uses no other randomness).
    public var randomSeed: UInt64

    public init(id: NodeID, randomSeed: UInt64) {
        self.id = id
        self.randomSeed = randomSeed
    }

    func validate() throws(RaftError) {
        if id == 0 { throw .invalidConfiguration("node id must not be 0") }
        if heartbeatTicks <= 0 { throw .invalidConfiguration("heartbeatTicks must be positive, got \(heartbeatTicks)") }
        if electionTicks <= heartbeatTicks {
            throw .invalidConfiguration("electionTicks (\(electionTicks)) must exceed heartbeatTicks (\(heartbeatTicks))")
        }
        if maxInflightMessages <= 0 { throw .invalidConfiguration("maxInflightMessages must be positive") }
        if connectionLossStaggerTicks <= 0 { throw .invalidConfiguration("connectionLossStaggerTicks must be positive") }
        if snapshotChunkBytes <= 0 { throw .invalidConfiguration("snapshotChunkBytes must be positive") }
    }
}

/// Why a request to the Raft core was refused.
public enum RaftError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Only the leader accepts this; `leader` is the known leader (0 if none).
    case notLeader(leader: NodeID)
    /// The leader is handing leadership to another node.
    case leadershipTransferInProgress
    /// Another configuration change is not yet applied (changes go one at a time).
    case configurationChangePending
    /// The leader holds too many uncommitted bytes; retry after they commit.
    case tooManyUncommittedEntries
    /// The configuration values are invalid.
    case invalidConfiguration(String)
    /// The storage failed.
    case storage(RaftStorageError)

    public var description: String {
        switch self {
        case .notLeader(let leader): leader == 0 ? "not the leader, and no leader is known" : "not the leader; the leader is node \(leader)"
        case .leadershipTransferInProgress: "leadership is being transferred; retry on the new leader"
        case .configurationChangePending: "a configuration change is still pending; retry once it is applied"
        case .tooManyUncommittedEntries: "too many uncommitted entries; retry later"
        case .invalidConfiguration(let why): "invalid Raft configuration: \(why)"
        case .storage(let error): "Raft storage failed: \(error)"
        }
    }
}

/// SplitMix64: the seeded generator behind election timeouts.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
