/// A Raft node the caller drives (etcd-io/raft's RawNode): no threads, no clock, no I/O. Not
/// thread-safe: one loop owns it.
///
/// A reference type (the node's Raft state is one object): a second reference is the same node,
/// never a copy of it, so a caller cannot step a stale copy by accident.
///
/// ```swift
/// let node = try RawNode(configuration: config, storage: storage)
/// node.tick()                       // every tick interval
/// node.step(message)                // every message from a peer
/// try node.propose(bytes)           // on the leader
/// if node.hasReady {
///     let ready = node.ready()      // handle it as the Ready documentation says
///     node.advance()
/// }
/// ```
public final class RawNode {
    let raft: Raft
    private var previousSoftState: SoftState
    private var previousHardState: HardState
    /// What the current Ready handed out, for advance().
    private var handedOut: (entries: (index: UInt64, term: UInt64)?, snapshot: UInt64?, applied: UInt64?)?
    private var pendingSelfMessages: [Message] = []

    /// Creates a node from the state in `storage` (a new cluster's storage holds the initial
    /// configuration in its snapshot metadata).
    public init(configuration: RaftConfiguration, storage: any RaftStorage) throws(RaftError) {
        raft = try Raft(config: configuration, storage: storage)
        previousSoftState = SoftState(leader: raft.leader, role: raft.role)
        previousHardState = raft.hardState
    }

    // MARK: Input

    /// Advances the logical clock by one tick.
    public func tick() { raft.tick() }

    /// Starts an election now (tests, tooling).
    public func campaign() { raft.campaignIfAllowed() }

    /// Handles a message from a peer. Messages from unknown peers, stale terms or with
    /// out-of-range indexes are ignored or answered; none can crash the node.
    public func step(_ message: Message) {
        guard message.term > 0, message.from != 0, message.from != raft.id, message.to == raft.id else { return }
        switch message.type {
        case .propose, .readIndex:
            // Only valid as forwarded requests to a leader.
            if raft.role == .leader { raft.step(message) }
        default:
            raft.step(message)
        }
    }

    /// Proposes application data. Only the leader accepts proposals.
    public func propose(_ data: [UInt8]) throws(RaftError) {
        try raft.propose([Entry(index: 0, term: 0, kind: .normal, data: data)])
    }

    /// Proposes several entries at once (one batch).
    public func propose(batch: [[UInt8]]) throws(RaftError) {
        try raft.propose(batch.map { Entry(index: 0, term: 0, kind: .normal, data: $0) })
    }

    /// Proposes a membership change (one at a time).
    public func proposeConfigurationChange(_ change: ConfigurationChange) throws(RaftError) {
        try raft.propose([Entry(index: 0, term: 0, kind: .configuration, data: change.encoded())])
    }

    /// Applies a committed configuration change; returns the new configuration.
    @discardableResult
    public func applyConfigurationChange(_ change: ConfigurationChange) -> ConfigurationState {
        raft.applyConfigurationChange(change)
    }

    /// Asks the leader to hand leadership to `target`.
    public func transferLeadership(to target: NodeID) { raft.transferLeadership(to: target) }

    /// Requests a linearizable read; the answer is a ``ReadState`` with the same context.
    public func readIndex(context: [UInt8]) { raft.readIndex(context: context) }

    /// Reports that the connection carrying `node`'s messages to this node closed (its process
    /// exited or the link broke). If `node` is this follower's leader, the follower stops counting
    /// on it: it forgets the leader, so it no longer ignores vote requests as being within the
    /// leader's lease, and campaigns within a few ticks instead of a whole election timeout. The
    /// surviving voters go in id order, ``RaftConfiguration/connectionLossStaggerTicks`` apart, so
    /// they do not split the vote. A false alarm disrupts nothing: the pre-vote fails while the
    /// others still hear from the leader, and the leader's next message makes this node its
    /// follower again. Ignored in any other case.
    public func reportConnectionClosed(from node: NodeID) { raft.leaderConnectionClosed(node) }

    /// Reports that a peer could not be reached (it goes back to probing).
    public func reportUnreachable(_ node: NodeID) {
        guard raft.role == .leader, var progress = raft.tracker.progress[node] else { return }
        if progress.state == .replicate { progress.becomeProbe() }
        raft.tracker.progress[node] = progress
    }

    // MARK: Output

    /// Whether ``ready()`` has something.
    public var hasReady: Bool {
        if SoftState(leader: raft.leader, role: raft.role) != previousSoftState { return true }
        if raft.hardState != previousHardState { return true }
        if raft.log.unstable.snapshot != nil || !raft.log.unstable.entries.isEmpty { return true }
        if !raft.messages.isEmpty || !raft.messagesAfterPersist.isEmpty || !raft.readStates.isEmpty { return true }
        return raft.log.hasNextCommittedEntries
    }

    /// Collects what must be done (see ``Ready``). Call ``advance()`` before the next ready().
    public func ready() -> Ready {
        precondition(handedOut == nil, "ready() called again before advance()")
        let soft = SoftState(leader: raft.leader, role: raft.role)
        let hard = raft.hardState
        var ready = Ready(mustSync: false)
        if soft != previousSoftState { ready.softState = soft }
        if hard != previousHardState { ready.hardState = hard }
        ready.entries = raft.log.unstable.entries
        ready.snapshot = raft.log.unstable.snapshot
        ready.committedEntries = raft.log.nextCommittedEntries()
        ready.messages = raft.messages
        ready.readStates = raft.readStates
        pendingSelfMessages = raft.messagesAfterPersist.filter { $0.to == raft.id }
        ready.messagesAfterPersist = raft.messagesAfterPersist.filter { $0.to != raft.id }
        raft.messages = []
        raft.messagesAfterPersist = []
        raft.readStates = []
        ready.mustSync = !ready.entries.isEmpty || ready.snapshot != nil
            || hard.term != previousHardState.term || hard.vote != previousHardState.vote
        previousSoftState = soft
        previousHardState = hard
        handedOut = (
            ready.entries.last.map { ($0.index, $0.term) }, ready.snapshot?.metadata.index,
            ready.committedEntries.last?.index
        )
        return ready
    }

    /// Tells the node the last Ready was handled: entries and hard state are durable, committed
    /// entries are applied. Steps the messages this node sent itself (its own vote, its own append
    /// acknowledgement), which count only now.
    public func advance() {
        guard let done = handedOut else { return }
        handedOut = nil
        if let snapshot = done.snapshot {
            raft.log.stableSnapshot(to: snapshot)
            raft.log.applied = max(raft.log.applied, snapshot)
        }
        if let (index, term) = done.entries { raft.log.stable(to: index, term: term) }
        if let applied = done.applied { raft.log.applied(to: applied) }
        let selfMessages = pendingSelfMessages
        pendingSelfMessages = []
        for message in selfMessages { raft.step(message) }
    }

    // MARK: Inspection

    /// The term of entry `index` in this node's log (durable or not), or nil if it is not held.
    public func term(at index: UInt64) -> UInt64? { try? raft.log.term(at: index) }

    /// The first index this node's log can return (the one after its snapshot).
    public var firstIndex: UInt64 { raft.log.firstIndex }

    /// A summary of the node's state.
    public var status: RaftStatus {
        RaftStatus(
            id: raft.id, term: raft.term, vote: raft.vote, commit: raft.log.committed, applied: raft.log.applied,
            lastIndex: raft.log.lastIndex, leader: raft.leader, role: raft.role, configuration: raft.tracker.configuration,
            leadTransferee: raft.leadTransferee,
            progress: raft.role == .leader
                ? raft.tracker.progress.mapValues { RaftStatus.FollowerProgress(match: $0.match, next: $0.next, state: $0.state) }
                : [:])
    }
}

/// A snapshot of a node's Raft state for status reporting and tests.
public struct RaftStatus: Sendable, Hashable {
    public struct FollowerProgress: Sendable, Hashable {
        public var match: UInt64
        public var next: UInt64
        public var state: ProgressState
    }

    public var id: NodeID
    public var term: UInt64
    public var vote: NodeID
    public var commit: UInt64
    public var applied: UInt64
    public var lastIndex: UInt64
    public var leader: NodeID
    public var role: RaftRole
    public var configuration: ConfigurationState
    public var leadTransferee: NodeID
    /// The leader's view of every member (empty on followers).
    public var progress: [NodeID: FollowerProgress]
}
