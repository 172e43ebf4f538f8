import Synchronization

/// A counting semaphore for tasks: ``acquire()`` suspends (without blocking a thread) while no
/// permit is free; ``release()`` hands the permit to the longest waiter.
final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(permits: Int) {
        precondition(permits > 0, "a semaphore needs at least one permit")
        state = Mutex(State(available: permits))
    }

    /// Takes a permit, waiting for one if none is free. Returns whether it had to wait.
    @discardableResult
    func acquire() async -> Bool {
        let taken = state.withLock { state -> Bool in
            guard state.available > 0 else { return false }
            state.available -= 1
            return true
        }
        if taken { return false }
        await withCheckedContinuation { continuation in
            let free = state.withLock { state -> Bool in
                // A permit may have come back between the two looks.
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if free { continuation.resume() }
        }
        return true
    }

    /// Returns a permit.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
