import Synchronization

/// What the log service needs to know to end a follow: which allocations still run on this agent,
/// and whether the agent is stopping. A follow of a finished allocation ends after its last bytes (as
/// Nomad's does), and every follow ends when the agent shuts down, so shutdown never waits on a reader.
final class LogFollowState: Sendable {
    private let active = Mutex<Set<String>>([])
    private let stopping = Atomic<Bool>(false)

    func setActive(_ allocation: String, _ isActive: Bool) {
        active.withLock { set in
            if isActive { set.insert(allocation) } else { set.remove(allocation) }
        }
    }

    func isActive(_ allocation: String) -> Bool { active.withLock { $0.contains(allocation) } }

    func stop() { stopping.store(true, ordering: .relaxed) }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }
}
