import HeliosRaft

/// The driver logic around a ``RawNode``, free of I/O so that the real driver and the deterministic
/// simulation run the same code: proposals tracked to their outcome, one ``Ready`` at a time in the
/// documented order, configuration changes applied as their entries are applied.
///
/// Usage per Ready: `startReady()` → send `ready.messages` → persist → `finishReady(...)` → send the
/// returned messages. When ``canApplyBeforePersisting(durableIndex:)`` allows, `applyReady(...)` may
/// run while the Ready persists, before `finishReady(...)`.
public struct ReplicationCore {
    /// The outcome of a proposal.
    public enum ProposalOutcome: Sendable, Equatable {
        /// Committed and applied at this index.
        case applied(index: UInt64)
        /// Another entry took its index (leadership changed before it committed).
        case dropped(index: UInt64)
    }

    public let node: RawNode
    /// Proposals awaiting their entry's application: index → (term, caller's id).
    private var pending: [UInt64: (term: UInt64, id: UInt64)] = [:]
    private var inFlight: Ready?
    /// Whether the in-flight Ready's snapshot and committed entries were applied.
    private var appliedInFlight = false

    public init(node: RawNode) {
        self.node = node
    }

    /// Whether a Ready is being persisted.
    public var isPersisting: Bool { inFlight != nil }

    /// Direct access for inputs that need no tracking (tick, step, transfer, read index).
    public func withNode<R>(_ body: (RawNode) throws -> R) rethrows -> R {
        try body(node)
    }

    /// Proposes `data`; returns the index it was given. `id` comes back in the outcome.
    public mutating func propose(_ data: [UInt8], id: UInt64) throws(RaftError) -> UInt64 {
        try node.propose(data)
        let status = node.status
        pending[status.lastIndex] = (status.term, id)
        return status.lastIndex
    }

    /// Proposes a batch; returns the indexes, in order.
    public mutating func propose(batch: [(data: [UInt8], id: UInt64)]) throws(RaftError) -> ClosedRange<UInt64> {
        try node.propose(batch: batch.map(\.data))
        let status = node.status
        let first = status.lastIndex - UInt64(batch.count) + 1
        for (offset, item) in batch.enumerated() { pending[first + UInt64(offset)] = (status.term, item.id) }
        return first...status.lastIndex
    }

    /// Proposes a configuration change, tracked like any proposal.
    public mutating func proposeConfigurationChange(_ change: ConfigurationChange, id: UInt64) throws(RaftError) -> UInt64 {
        try node.proposeConfigurationChange(change)
        let status = node.status
        pending[status.lastIndex] = (status.term, id)
        return status.lastIndex
    }

    /// The next Ready, unless one is still being persisted or there is nothing to do.
    public mutating func startReady() -> Ready? {
        guard inFlight == nil, node.hasReady else { return nil }
        let ready = node.ready()
        inFlight = ready
        return ready
    }

    /// What to do once a Ready's persistence has finished.
    public struct Completion: Sendable {
        /// Send these now (they acknowledge what was just persisted).
        public var messages: [Message]
        /// Proposals whose fate is known: (caller's id, outcome).
        public var outcomes: [(id: UInt64, outcome: ProposalOutcome)]
        public var readStates: [ReadState]
        /// Committed entries applied by this completion.
        public var applied: [Entry]
    }

    /// What applying a Ready's snapshot and committed entries decided.
    public struct Applied: Sendable {
        /// Proposals whose fate is known: (caller's id, outcome).
        public var outcomes: [(id: UInt64, outcome: ProposalOutcome)]
        /// The committed entries applied.
        public var entries: [Entry]
    }

    /// Whether the in-flight Ready's committed entries may be applied before its own entries are
    /// durable: it restores no snapshot, and every entry it commits was made durable by an earlier
    /// Ready: below the first entry this Ready writes (which replaces everything from its index on,
    /// so an index the disk holds may hold an entry this Ready overwrites) and at or below
    /// `durableIndex`, the log's last index before this Ready. A leader's commits always qualify
    /// (entries commit once followers acknowledge them, after an earlier Ready persisted them); a
    /// follower's often include the entries this Ready appends.
    public func canApplyBeforePersisting(durableIndex: UInt64) -> Bool {
        guard let ready = inFlight, !appliedInFlight, ready.snapshot == nil, let last = ready.committedEntries.last else {
            return false
        }
        if let first = ready.entries.first, last.index >= first.index { return false }
        return last.index <= durableIndex
    }

    /// Restores the in-flight Ready's snapshot and applies its committed entries through the
    /// callbacks, once per Ready: after its persistence, or before it when
    /// ``canApplyBeforePersisting(durableIndex:)`` says the entries are durable already (etcd's
    /// server applies while it writes its WAL the same way).
    public mutating func applyReady(restore: (Snapshot) -> Void, apply: (Entry) -> Void) -> Applied {
        guard let ready = inFlight, !appliedInFlight else { return Applied(outcomes: [], entries: []) }
        appliedInFlight = true
        var outcomes: [(UInt64, ProposalOutcome)] = []
        if let snapshot = ready.snapshot {
            restore(snapshot)
            // Proposals at or below the snapshot can no longer be matched to their entries.
            for (index, proposal) in pending where index <= snapshot.metadata.index {
                outcomes.append((proposal.id, .dropped(index: index)))
                pending[index] = nil
            }
        }
        for entry in ready.committedEntries {
            if entry.kind == .configuration, let change = ConfigurationChange.decode(entry.data) {
                node.applyConfigurationChange(change)
            }
            apply(entry)
            if let proposal = pending.removeValue(forKey: entry.index) {
                outcomes.append((proposal.id, proposal.term == entry.term ? .applied(index: entry.index) : .dropped(index: entry.index)))
            }
        }
        return Applied(outcomes: outcomes, entries: ready.committedEntries)
    }

    /// Finishes the in-flight Ready after its entries and hard state are durable: restores the
    /// snapshot and applies committed entries through the callbacks (unless ``applyReady(restore:apply:)``
    /// did already; the completion then carries no outcomes or entries), then advances the node.
    public mutating func finishReady(
        restore: (Snapshot) -> Void, apply: (Entry) -> Void
    ) -> Completion {
        guard let ready = inFlight else { return Completion(messages: [], outcomes: [], readStates: [], applied: []) }
        let applied = applyReady(restore: restore, apply: apply)
        inFlight = nil
        appliedInFlight = false
        node.advance()
        return Completion(messages: ready.messagesAfterPersist, outcomes: applied.outcomes, readStates: ready.readStates, applied: applied.entries)
    }

    /// Fails every pending proposal (the node is shutting down).
    public mutating func abandonProposals() -> [UInt64] {
        let ids = pending.values.map(\.id)
        pending = [:]
        return ids
    }

    /// Ids of proposals waiting for their entries.
    public var pendingProposalCount: Int { pending.count }
}
