import HeliosProto
import SwiftProtobuf
import Synchronization
import Testing

@testable import HeliosServer

/// What the test's commit saw, and a gate that holds the first batch until released.
private final class Commits: Sendable {
    let batches = Mutex<[[String]]>([])
    let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
    let holdFirst = Mutex(true)

    func commit(_ batch: [Helios_V1_EvaluationCompleted]) async {
        batches.withLock { $0.append(batch.map(\.evaluationID)) }
        let hold = holdFirst.withLock { hold -> Bool in
            defer { hold = false }
            return hold
        }
        if hold { await withCheckedContinuation { continuation in gate.withLock { $0 = continuation } } }
    }

    /// Releases the first batch once it is being held (bounded: 10 s).
    func releaseFirst() async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let continuation = gate.withLock({ gate in defer { gate = nil }; return gate }) {
                continuation.resume()
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("the first batch never reached commit")
    }
}

@Suite("CompletionBatcher")
struct CompletionBatcherTests {
    static func completion(_ id: String) -> Helios_V1_EvaluationCompleted {
        .with { $0.evaluationID = id; $0.status = .complete }
    }

    @Test("a lone completion goes out at once; those that arrive while a batch is in flight go out together as the next")
    func groupCommit() async throws {
        let batcher = CompletionBatcher()
        let commits = Commits()
        let first = Task { await batcher.complete(Self.completion("a")) { await commits.commit($0) } }
        // "a" is being committed (held); five more arrive meanwhile.
        let deadline = ContinuousClock.now + .seconds(10)
        while commits.batches.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(commits.batches.withLock { $0 } == [["a"]])
        let others = (1...5).map { n in Task { await batcher.complete(Self.completion("b\(n)")) { await commits.commit($0) } } }
        try await Task.sleep(for: .milliseconds(100))
        #expect(commits.batches.withLock { $0.count } == 1, "nothing else goes out while a batch is in flight")
        try await commits.releaseFirst()
        await first.value
        for other in others { await other.value }
        let batches = commits.batches.withLock { $0 }
        #expect(batches.count == 2)
        #expect(Set(batches.last ?? []) == ["b1", "b2", "b3", "b4", "b5"])
        // Idle again: the next one leads a new flush.
        await batcher.complete(Self.completion("c")) { await commits.commit($0) }
        #expect(commits.batches.withLock { $0.last } == ["c"])
    }

    @Test("no batch carries more than the maximum")
    func maxBatch() async throws {
        let batcher = CompletionBatcher()
        let commits = Commits()
        let count = CompletionBatcher.maxBatch * 2 + 10
        let first = Task { await batcher.complete(Self.completion("first")) { await commits.commit($0) } }
        let deadline = ContinuousClock.now + .seconds(10)
        while commits.batches.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let rest = (0..<count).map { n in Task { await batcher.complete(Self.completion("e\(n)")) { await commits.commit($0) } } }
        // Wait until every one of them is queued behind the held batch, then let them go.
        try await Task.sleep(for: .milliseconds(200))
        try await commits.releaseFirst()
        await first.value
        for task in rest { await task.value }
        let sizes = commits.batches.withLock { $0.map(\.count) }
        #expect(sizes.dropFirst().allSatisfy { $0 <= CompletionBatcher.maxBatch })
        #expect(sizes.reduce(0, +) == count + 1, "every completion committed exactly once")
        #expect(Set(commits.batches.withLock { $0.flatMap { $0 } }).count == count + 1)
    }
}
