import HeliosProto
import Synchronization

/// Commits evaluation completions in as few log entries as it can: one batch is in flight at a
/// time, and the completions that arrive meanwhile go out together as the next one (group commit).
/// Alone, a completion goes out at once; under load, one entry carries many.
final class CompletionBatcher: Sendable {
    /// The most completions one entry carries.
    static let maxBatch = 256

    private struct Waiting {
        var completion: Helios_V1_EvaluationCompleted
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var waiting: [Waiting] = []
        var flushing = false
    }

    private let state = Mutex(State())

    /// Commits `completion` in the next batch; returns when that batch's `commit` has returned
    /// (committed, refused or failed: `commit` reports which). The caller that starts a flush lends
    /// its `commit` to the batches that follow until nothing waits.
    func complete(
        _ completion: Helios_V1_EvaluationCompleted, commit: @escaping @Sendable ([Helios_V1_EvaluationCompleted]) async -> Void
    ) async {
        await withCheckedContinuation { continuation in
            let leads = state.withLock { state -> Bool in
                state.waiting.append(Waiting(completion: completion, continuation: continuation))
                guard !state.flushing else { return false }
                state.flushing = true
                return true
            }
            if leads { Task { await self.flush(commit) } }
        }
    }

    /// Proposes what is waiting, batch after batch, until nothing is.
    private func flush(_ commit: @Sendable ([Helios_V1_EvaluationCompleted]) async -> Void) async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                guard !state.waiting.isEmpty else {
                    state.flushing = false
                    return []
                }
                let taken = Array(state.waiting.prefix(Self.maxBatch))
                state.waiting.removeFirst(taken.count)
                return taken
            }
            guard !batch.isEmpty else { return }
            await commit(batch.map(\.completion))
            for waiting in batch { waiting.continuation.resume() }
        }
    }
}
