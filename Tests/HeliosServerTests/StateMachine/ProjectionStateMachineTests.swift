import HeliosProto
import HeliosRaft
import HeliosSnapshot
import HeliosState
import HeliosTesting
import Logging
import SwiftProtobuf
import Synchronization
import Testing
import Foundation

@testable import HeliosServer

@Suite("ProjectionStateMachine")
struct ProjectionStateMachineTests {
    @Test("apply returns each entry's outcome for its proposer: what it applied, or why it was refused")
    func outcomes() throws {
        let machine = ProjectionStateMachine(logger: Logger(label: "test"))
        let registration = Event.with {
            $0.timeMs = 1_000
            $0.nodeRegistered = .with { $0.node = EventGenerator.node(id: "n1") }
        }
        let applied = try #require(machine.apply(Entry(index: 1, term: 1, data: try registration.serializedBytes())) as? AppliedChange)
        #expect(applied.index == 1 && applied.applied != nil && applied.refused == nil)
        let refused = try #require(machine.apply(Entry(index: 2, term: 1, data: [0xFF, 0xFF, 0xFF])) as? AppliedChange)
        #expect(refused.index == 2 && refused.applied == nil)
        #expect(refused.refused?.description.contains("entry 2") == true)
        #expect(refused.refused?.description.contains("payload is not a Helios event") == true)
        let empty = try #require(machine.apply(Entry(index: 3, term: 2)) as? AppliedChange)
        #expect(empty.index == 3 && empty.event == nil && empty.refused == nil)
        #expect(machine.read { $0.appliedIndex } == 3)
        #expect(machine.read { $0.nodes.count } == 1)
    }

    @Test("a digest of a large state walks a view: entries keep applying while it runs, and the view does not move")
    func digestDoesNotStallApply() async throws {
        let machine = ProjectionStateMachine(logger: Logger(label: "test"))
        var index: UInt64 = 0
        func apply(_ event: Event) throws {
            index += 1
            machine.apply(Entry(index: index, term: 1, data: try event.serializedBytes()))
        }
        for n in 0..<20 {
            try apply(.with { $0.timeMs = 1; $0.nodeRegistered = .with { $0.node = EventGenerator.node(id: "node-\(n)", cpu: 1_000_000, memory: 1_000_000) } })
        }
        // 40,000 allocations: a digest of them takes long enough (even in a release build) for many
        // entries to apply meanwhile, if apply is not waiting for it.
        func register(_ j: Int) throws {
            let job = "job-\(j)"
            try apply(.with {
                $0.timeMs = 2
                $0.jobRegistered = .with {
                    $0.spec = JobSpecFixture.spec(id: job, count: 20, cpu: 1, memory: 1)
                    $0.evaluation = EventGenerator.evaluation(id: "eval-\(j)", job: job)
                }
            })
            try apply(.with {
                $0.timeMs = 3
                $0.allocationsPlanned = .with {
                    $0.evaluationID = "eval-\(j)"
                    $0.placed = (0..<20).map { a in
                        .with {
                            $0.id = "\(job)-alloc-\(a)"
                            $0.jobID = job
                            $0.jobVersion = 1
                            $0.taskGroup = "main"
                            $0.nodeID = "node-\((j + a) % 20)"
                            $0.resources = .with { $0.cpuMhz = 1; $0.memoryMb = 1 }
                        }
                    }
                }
            })
        }
        for j in 0..<2_000 { try register(j) }
        #expect(machine.read { $0.allocations.count } == 40_000)

        // The digest (as ClusterInfo computes it) runs on another thread; this thread applies entries
        // until it is done.
        let view = machine.view()
        let before = view.digest()
        let done = Atomic<Bool>(false)
        let digest = Mutex<(appliedIndex: UInt64, digest: UInt32)?>(nil)
        Task {
            let value = await machine.digest()
            digest.withLock { $0 = value }
            done.store(true, ordering: .releasing)
        }
        var appliedWhileDigesting = 0
        var j = 2_000
        let deadline = ContinuousClock.now + .seconds(120)
        while !done.load(ordering: .acquiring) && ContinuousClock.now < deadline {
            try register(j)
            j += 1
            if !done.load(ordering: .acquiring) { appliedWhileDigesting += 1 }
        }
        let finished = done.load(ordering: .acquiring)
        #expect(finished, "the digest finished within the deadline")
        // Under the lock apply needs, at most the one registration waiting for it would complete.
        #expect(appliedWhileDigesting >= 10)
        let digested = try #require(digest.withLock { $0 })
        #expect(digested.appliedIndex >= view.appliedIndex && digested.appliedIndex < index)
        #expect(view.digest() == before, "a view does not move while entries apply")
        #expect(machine.read { $0.appliedIndex } == index)
        #expect(machine.read { $0.allocations.count } == 20 * j)
        #expect(await machine.digest().digest != before)
        // Asked again at the same index, the digest is the one computed before (not recomputed).
        let again = await machine.digest()
        #expect(again == (await machine.digest()))
    }
}
