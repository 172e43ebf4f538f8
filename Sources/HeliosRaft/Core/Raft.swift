/// A node's role.
public enum RaftRole: Sendable, Hashable, CustomStringConvertible {
    case follower, preCandidate, candidate, leader

    public var description: String {
        switch self {
        case .follower: "follower"
        case .preCandidate: "pre-candidate"
        case .candidate: "candidate"
        case .leader: "leader"
        }
    }
}

/// A linearizable read that can be served once the application has applied `index`.
public struct ReadState: Sendable, Hashable {
    public var index: UInt64
    public var context: [UInt8]
}

/// The Raft state machine (Ongaro & Ousterhout, with PreVote, CheckQuorum, leadership transfer and
/// ReadIndex from Ongaro's thesis), in the style of etcd-io/raft. Pure: no I/O, no clock, no global
/// randomness. Driven through ``RawNode``.
final class Raft {
    let id: NodeID
    let config: RaftConfiguration
    var term: UInt64 = 0
    var vote: NodeID = 0
    var log: RaftLog
    var tracker: ProgressTracker
    var role: RaftRole = .follower
    var leader: NodeID = 0
    /// Ticks since the last election timeout reset (followers: since hearing from the leader).
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0
    /// Quick retries left for a campaign started because the leader's connection closed (see
    /// ``leaderConnectionClosed(_:)``).
    var connectionLossRetries = 0
    var random: SplitMix64
    /// A leadership transfer in progress, if any.
    var leadTransferee: NodeID = 0
    /// A new configuration change may be proposed only once this index is applied.
    var pendingConfigurationIndex: UInt64 = 0
    /// Bytes of uncommitted entries the leader has appended.
    var uncommittedBytes = 0
    var readOnly = ReadOnly()
    var readStates: [ReadState] = []
    /// ReadIndex requests waiting for the leader's first commit in its term.
    var pendingReadIndex: [Message] = []
    /// A snapshot being received in chunks.
    var incomingSnapshot: (metadata: SnapshotMetadata, data: [UInt8])?
    /// Messages that may be sent at once.
    var messages: [Message] = []
    /// Messages that acknowledge durable state: sent (or, to self, stepped) only after the Ready's
    /// entries and hard state are persisted.
    var messagesAfterPersist: [Message] = []

    init(config: RaftConfiguration, storage: any RaftStorage) throws(RaftError) {
        try config.validate()
        id = config.id
        self.config = config
        random = SplitMix64(state: config.randomSeed)
        do {
            log = try RaftLog(storage: storage, maxApplyingSize: config.maxApplyingBytes)
            let (hardState, configuration) = try storage.initialState()
            tracker = ProgressTracker(
                configuration: configuration, maxInflight: config.maxInflightMessages,
                maxInflightBytes: config.maxInflightBytes)
            if !hardState.isEmpty {
                term = hardState.term
                vote = hardState.vote
                if hardState.commit > log.lastIndex {
                    throw RaftError.storage(.failed(
                        "hard state commit \(hardState.commit) is past the last stored index \(log.lastIndex)"))
                }
                log.commit(to: max(hardState.commit, log.committed))
            }
            // A snapshot is of committed state, so its index is committed whatever the hard state says:
            // the hard state may predate it (a crash between persisting a received snapshot and the
            // hard state, or a snapshot the application took of entries it applied while their Ready
            // was persisting), and the log may keep entries below it.
            let snapshotIndex = try storage.snapshot().metadata.index
            if snapshotIndex > log.committed && snapshotIndex <= log.lastIndex { log.commit(to: snapshotIndex) }
        } catch let error as RaftStorageError {
            throw .storage(error)
        } catch let error as RaftError {
            throw error
        } catch {
            throw .storage(.failed("\(error)"))
        }
        if config.applied > 0 {
            log.applied(to: min(config.applied, log.committed))
        }
        tracker.reset(next: log.lastIndex + 1)
        becomeFollower(term: term, leader: 0)
    }

    var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }

    /// Whether this node may become leader: it is a voter.
    var isPromotable: Bool { tracker.configuration.voters.contains(id) }

    // MARK: Roles

    private func reset(term newTerm: UInt64) {
        if term != newTerm {
            term = newTerm
            vote = 0
        }
        leader = 0
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = config.electionTicks + Int(random.next() % UInt64(config.electionTicks))
        leadTransferee = 0
        tracker.resetVotes()
        tracker.reset(next: log.lastIndex + 1)
        tracker.progress[id]?.match = log.stableIndex
        pendingConfigurationIndex = 0
        uncommittedBytes = 0
        readOnly = ReadOnly()
    }

    func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID) {
        reset(term: newTerm)
        role = .follower
        leader = newLeader
    }

    func becomePreCandidate() {
        precondition(role != .leader, "a leader cannot become a pre-candidate")
        // A pre-candidate changes neither its term nor its vote.
        tracker.resetVotes()
        role = .preCandidate
        leader = 0
    }

    func becomeCandidate() {
        precondition(role != .leader, "a leader cannot become a candidate")
        reset(term: term + 1)
        vote = id
        role = .candidate
    }

    func becomeLeader() {
        precondition(role == .candidate, "only a candidate becomes leader")
        reset(term: term)
        role = .leader
        leader = id
        for node in tracker.progress.keys where node != id { tracker.progress[node]!.becomeProbe() }
        tracker.progress[id]?.becomeReplicate()
        tracker.progress[id]?.match = log.stableIndex
        // No configuration change until everything up to here is applied (single-server changes are
        // safe only after the new leader commits an entry of its own term).
        pendingConfigurationIndex = log.lastIndex
        // Commit entries from earlier terms through an empty entry of this term (Raft §5.4.2).
        _ = appendEntries([Entry(index: 0, term: 0)])
        broadcastAppend()
    }

    // MARK: Ticks

    func tick() {
        switch role {
        case .leader: tickHeartbeat()
        case .follower, .preCandidate, .candidate: tickElection()
        }
    }

    /// See ``RawNode/reportConnectionClosed(from:)``.
    func leaderConnectionClosed(_ node: NodeID) {
        guard role == .follower, node != 0, leader == node, isPromotable else { return }
        leader = 0
        let survivors = tracker.configuration.voters.filter { $0 != node }.sorted()
        let rank = survivors.firstIndex(of: id) ?? 0
        // The first survivor campaigns on its next tick, the next one `connectionLossStaggerTicks`
        // later, and so on (unless the election timer is closer already).
        electionElapsed = max(electionElapsed, randomizedElectionTimeout - 1 - rank * config.connectionLossStaggerTicks)
        // Another survivor may not have seen the connection close yet: it still counts the old
        // leader's lease and ignores this node's pre-vote. Such a campaign is tried again a whole
        // stagger round later (the survivors keep their order and never campaign on the same tick),
        // twice, instead of after a whole election timeout.
        connectionLossRetries = 2
    }

    private func tickElection() {
        if leader != 0 { connectionLossRetries = 0 }
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            campaignIfAllowed()
            if connectionLossRetries > 0 && role != .leader {
                connectionLossRetries -= 1
                let survivors = tracker.configuration.voters.count - 1
                electionElapsed = max(0, randomizedElectionTimeout - survivors * config.connectionLossStaggerTicks)
            }
        }
    }

    private func tickHeartbeat() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTicks {
            electionElapsed = 0
            if config.checkQuorum {
                if !tracker.quorumActive(leader: id) {
                    becomeFollower(term: term, leader: 0)
                    return
                }
                for node in tracker.progress.keys where node != id { tracker.progress[node]!.recentActive = false }
            }
            // A transfer that did not finish within an election timeout is abandoned.
            leadTransferee = 0
        }
        guard role == .leader else { return }
        if heartbeatElapsed >= config.heartbeatTicks {
            heartbeatElapsed = 0
            for node in tracker.progress.keys where node != id { tracker.progress[node]!.mayFreeOnHeartbeat = true }
            broadcastHeartbeat(context: readOnly.lastPendingContext ?? [])
        }
    }

    // MARK: Sending

    /// Queues a message; responses that acknowledge durable state wait for the Ready's persistence.
    func send(_ message: Message) {
        var message = message
        if message.from == 0 { message.from = id }
        switch message.type {
        case .appendResponse, .voteResponse, .preVoteResponse:
            messagesAfterPersist.append(message)
        default:
            if message.to == id {
                messagesAfterPersist.append(message)
            } else {
                messages.append(message)
            }
        }
    }

    func message(_ type: MessageType, to: NodeID, term: UInt64? = nil) -> Message {
        Message(type: type, from: id, to: to, term: term ?? self.term)
    }
}
