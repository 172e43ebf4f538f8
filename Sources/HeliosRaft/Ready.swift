/// What changed in volatile, non-persisted state: who leads and this node's role.
public struct SoftState: Sendable, Hashable {
    public var leader: NodeID
    public var role: RaftRole
}

/// Everything the driver must do after the node changed. Handle one `Ready` at a time, in this order:
///
/// 1. **Send** ``messages``. They depend on nothing unpersisted (a leader's appendEntries, heartbeats,
///    vote requests), so they may go out before or while step 2 runs (the leader writes its log in
///    parallel with its followers, Raft thesis §10.2.1).
/// 2. **Persist**, with one fsync: ``snapshot`` (if any), then ``entries`` (which replace any stored
///    entries from their first index on), then ``hardState`` (if any).
/// 3. **Send** ``messagesAfterPersist``, and only now: they acknowledge state written in step 2 (votes,
///    append responses). Sending them earlier can lose an acknowledged entry or grant two votes in a
///    term after a crash. Messages addressed to this node are not sent: ``RawNode/advance()`` handles them.
/// 4. **Apply** the ``snapshot``, then ``committedEntries`` in order (all of them are durable), calling
///    ``RawNode/applyConfigurationChange(_:)`` for each configuration entry. Serve ``readStates`` once the
///    applied index reaches theirs.
/// 5. Call ``RawNode/advance()``.
public struct Ready: Sendable {
    /// Set when the leader or role changed.
    public var softState: SoftState?
    /// Set when term, vote or commit changed; persist before sending ``messagesAfterPersist``.
    public var hardState: HardState?
    /// Entries to append to stable storage.
    public var entries: [Entry] = []
    /// A snapshot to persist and apply.
    public var snapshot: Snapshot?
    /// Committed, durable entries to apply.
    public var committedEntries: [Entry] = []
    /// Messages that may be sent at once.
    public var messages: [Message] = []
    /// Messages to send only after the entries and hard state are durable.
    public var messagesAfterPersist: [Message] = []
    /// Linearizable reads that can be served once their index is applied.
    public var readStates: [ReadState] = []

    /// Whether step 2 needs an fsync (entries, a snapshot, or a changed term or vote).
    public var mustSync: Bool

    /// Whether there is nothing at all to do.
    public var isEmpty: Bool {
        softState == nil && hardState == nil && entries.isEmpty && snapshot == nil && committedEntries.isEmpty
            && messages.isEmpty && messagesAfterPersist.isEmpty && readStates.isEmpty
    }
}
