/// How the leader sends to one follower.
public enum ProgressState: Sendable, Hashable {
    /// One appendEntries at a time until the follower's position is found.
    case probe
    /// Pipelined appendEntries, bounded by the inflight window.
    case replicate
    /// The follower needs a snapshot; nothing else is sent until it is installed.
    case snapshot
}

/// The leader's view of one follower.
///
/// Invariant: `match < next`.
struct Progress {
    /// The highest index known to be replicated on the follower.
    var match: UInt64
    /// The next index to send.
    var next: UInt64
    var state: ProgressState = .probe
    /// In probe state: an append is outstanding, wait for its answer (or a heartbeat response).
    var probeSent = false
    /// Set on any message from the follower; cleared by the leader's CheckQuorum round.
    var recentActive = false
    var inflights: Inflights
    var isLearner: Bool
    /// In snapshot state: the snapshot being sent and how many bytes the follower has acknowledged.
    var pendingSnapshot: Snapshot?
    var snapshotAcked = 0
    /// Heartbeat rounds without snapshot progress (a lost chunk is re-sent after one).
    var snapshotStall = 0
    /// Set by each periodic heartbeat, taken by the first heartbeat response that frees a slot of a
    /// full window: one such slot per heartbeat interval, however many read confirmations (each a
    /// heartbeat round) arrive meanwhile.
    var mayFreeOnHeartbeat = false

    init(next: UInt64, maxInflight: Int, maxInflightBytes: Int, isLearner: Bool) {
        match = 0
        self.next = next
        inflights = Inflights(capacity: maxInflight, maxBytes: maxInflightBytes)
        self.isLearner = isLearner
    }

    private mutating func reset(_ state: ProgressState) {
        self.state = state
        probeSent = false
        pendingSnapshot = nil
        snapshotAcked = 0
        snapshotStall = 0
        inflights.reset()
    }

    mutating func becomeProbe() {
        if state == .snapshot, let snapshot = pendingSnapshot {
            let index = snapshot.metadata.index
            reset(.probe)
            next = max(match + 1, index + 1)
        } else {
            reset(.probe)
            next = match + 1
        }
    }

    mutating func becomeReplicate() {
        reset(.replicate)
        next = match + 1
    }

    mutating func becomeSnapshot(_ snapshot: Snapshot) {
        reset(.snapshot)
        pendingSnapshot = snapshot
    }

    /// The follower acknowledged `index`. Returns false if that was old news.
    mutating func maybeUpdate(_ index: UInt64) -> Bool {
        var updated = false
        if match < index {
            match = index
            updated = true
            probeSent = false
        }
        next = max(next, index + 1)
        return updated
    }

    /// Entries up to `last` were sent (`bytes` of them).
    mutating func sentEntries(last: UInt64, bytes: Int, count: Int) {
        switch state {
        case .replicate:
            if count > 0 {
                next = last + 1
                inflights.add(index: last, bytes: bytes)
            }
        case .probe:
            probeSent = true
        case .snapshot:
            break
        }
    }

    /// The follower rejected an append at `rejected`, hinting `hint`. Returns false for stale rejections.
    mutating func maybeDecrease(rejected: UInt64, hint: UInt64) -> Bool {
        if state == .replicate {
            // Stale: the rejection is for an index already known to match.
            if rejected <= match { return false }
            next = match + 1
            return true
        }
        // Probe: only the rejection of the last probe counts.
        if next - 1 != rejected { return false }
        next = max(min(rejected, hint + 1), match + 1)
        probeSent = false
        return true
    }

    /// Whether the leader must hold back appends to this follower.
    var isPaused: Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflights.isFull
        case .snapshot: true
        }
    }
}
