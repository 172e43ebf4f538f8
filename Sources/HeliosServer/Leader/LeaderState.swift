/// What the leader keeps in memory (never replicated; rebuilt by each new leader): when it took
/// over, when each agent last heartbeated, and which evaluations it is working on.
struct LeaderState: Sendable {
    /// The term this server leads in (0: not leading).
    var term: UInt64 = 0
    /// When leadership began (liveness grace counts from here).
    var since: ContinuousClock.Instant = .now
    /// Whether the state applied includes every entry of earlier terms (a read barrier passed).
    var caughtUp = false
    /// Last heartbeat per agent node id.
    var lastHeartbeat: [String: ContinuousClock.Instant] = [:]
    /// Nodes a status change is in flight for (so a slow commit is not proposed twice).
    var nodesInFlight: Set<String> = []
    /// Evaluations being processed, and their jobs (one evaluation per job at a time).
    var evaluationsInFlight: Set<String> = []
    var jobsInFlight: Set<String> = []
    /// Evaluations to look at, in arrival order (fed by the applied changes; a full scan of the state
    /// at the start of the term and every few seconds catches anything missed).
    var queue: [String] = []
    /// Index of the queue's first live element (the consumed prefix is dropped when it gets large).
    var head = 0
    var queued: Set<String> = []
    /// Evaluations waiting for their `wait_until` time: id -> due (ms since the epoch).
    var delayed: [String: UInt64] = [:]
    /// When the pending evaluations were last scanned in full (nil: not yet in this term).
    var lastScan: ContinuousClock.Instant?

    /// Adds evaluation ids to the queue (once each).
    mutating func enqueue<S: Sequence>(_ ids: S) where S.Element == String {
        for id in ids where !evaluationsInFlight.contains(id) && queued.insert(id).inserted { queue.append(id) }
    }

    /// Takes up to `count` ids from the front of the queue.
    mutating func dequeue(_ count: Int) -> [String] {
        let end = min(queue.count, head + count)
        let taken = Array(queue[head..<end])
        head = end
        for id in taken { queued.remove(id) }
        if head > 1024 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return taken
    }

    var queueIsEmpty: Bool { head >= queue.count }
    /// Set when capacity may have appeared (a node became usable, allocations stopped): blocked
    /// evaluations get another chance.
    var capacityChanged = false

    /// Resets for a new term.
    mutating func begin(term: UInt64, at now: ContinuousClock.Instant) {
        self = LeaderState()
        self.term = term
        self.since = now
    }
}
