import HeliosProto
@testable import HeliosState
import HeliosTesting
import SwiftProtobuf
import Testing

@Suite("ClusterState: applying events")
struct ApplyRulesTests {
    func event(_ build: (inout Event) -> Void) -> Event {
        var event = Event()
        event.timeMs = 1_000
        build(&event)
        return event
    }

    /// A state with node n1 (4000 MHz, 8 GiB) and job web (2 x 100 MHz) with a pending evaluation e1.
    func seeded() -> ClusterState {
        var state = ClusterState()
        state.apply(event { $0.nodeRegistered = .with { $0.node = EventGenerator.node(id: "n1") } }, at: 1)
        state.apply(event {
            $0.jobRegistered = .with {
                $0.spec = JobSpecFixture.spec(id: "web")
                $0.evaluation = EventGenerator.evaluation(id: "e1", job: "web")
            }
        }, at: 2)
        return state
    }

    func allocation(_ id: String, node: String = "n1", cpu: UInt32 = 100, version: UInt64 = 1) -> Allocation {
        .with {
            $0.id = id
            $0.jobID = "web"
            $0.jobVersion = version
            $0.taskGroup = "main"
            $0.nodeID = node
            $0.resources = .with { $0.cpuMhz = cpu; $0.memoryMb = 64 }
        }
    }

    @Test("every registration keeps its version; check-and-set refuses a stale expected version")
    func jobVersions() throws {
        var state = seeded()
        #expect(state.job("web")?.versions.map(\.version) == [1])
        let second = state.apply(event { $0.jobRegistered = .with { $0.spec = JobSpecFixture.spec(id: "web", count: 5) } }, at: 3)
        #expect(try second.get().jobVersion == 2)
        #expect(state.job("web")?.versions.map(\.version) == [1, 2])
        #expect(state.latestSpec("web")?.groups[0].count == 5)
        let stale = state.apply(event { $0.jobRegistered = .with { $0.spec = JobSpecFixture.spec(id: "web"); $0.expectedVersion = 1 } }, at: 4)
        #expect(stale == .failure(EventRejection("job web", "expected version 1, but the current version is 2")))
        #expect(state.appliedIndex == 4, "a refused event still consumes its index")
    }

    @Test("an invalid spec is refused with the field path")
    func invalidSpec() {
        var state = ClusterState()
        var spec = JobSpecFixture.spec(id: "api")
        spec.groups[0].tasks[0].driver = "docker"
        let result = state.apply(event { $0.jobRegistered = .with { $0.spec = spec } }, at: 1)
        #expect(result == .failure(EventRejection("job api", "groups[0].tasks[0].driver: unknown driver 'docker' (only exec is supported)")))
        #expect(state.jobs.isEmpty)
    }

    @Test("a refused event leaves no trace, even when it fails after partial checks")
    func refusalLeavesNoTrace() {
        var state = seeded()
        let before = state.canonicalBytes()
        // Stopping a job with an evaluation whose id already exists: refused as a whole.
        let result = state.apply(event {
            $0.jobStopped = .with { $0.jobID = "web"; $0.evaluation = EventGenerator.evaluation(id: "e1", job: "web") }
        }, at: 3)
        #expect(result == .failure(EventRejection("evaluation e1", "already exists")))
        #expect(state.canonicalBytes() == before)
        #expect(state.job("web")?.stopped == false)
    }

    @Test("a stale plan is re-checked: placements that no longer fit are refused, the rest applied")
    func planRecheck() throws {
        var state = seeded()
        let plan = state.apply(event {
            $0.allocationsPlanned = .with {
                $0.evaluationID = "e1"
                $0.placed = [
                    allocation("a1", cpu: 3000),
                    allocation("a2", cpu: 1500),  // 3000 + 1500 > 4000
                    allocation("a3", node: "n9"),
                    allocation("a4", version: 7),
                ]
            }
        }, at: 3)
        let applied = try plan.get()
        #expect(applied.placed == ["a1"])
        #expect(applied.rejected.map(\.object) == ["allocation a2", "allocation a3", "allocation a4"])
        #expect(applied.rejected[0].reason.contains("1000 MHz of CPU left"))
        #expect(state.allocations(ofJob: "web").map(\.id) == ["a1"])
        #expect(state.usedResources(onNode: "n1").cpu == 3000)
        // An ineligible node takes nothing.
        state.apply(event { $0.nodeStatusChanged = .with { $0.nodeID = "n1"; $0.eligible = false } }, at: 4)
        let refused = try state.apply(event {
            $0.allocationsPlanned = .with { $0.evaluationID = "e1"; $0.placed = [allocation("a5")] }
        }, at: 5).get()
        #expect(refused.rejected.first?.reason == "node n1 is not eligible for placements")
    }

    @Test("client status transitions: terminal states are final, with a reason")
    func transitions() throws {
        var state = seeded()
        state.apply(event { $0.allocationsPlanned = .with { $0.evaluationID = "e1"; $0.placed = [allocation("a1")] } }, at: 3)
        func report(_ status: AllocationClientStatus, at index: UInt64) throws -> AppliedEvent {
            try state.apply(event { $0.allocationClientUpdated = .with { $0.updates = [.with { $0.allocationID = "a1"; $0.clientStatus = status }] } }, at: index).get()
        }
        #expect(try report(.running, at: 4).rejected.isEmpty)
        #expect(state.job("web")?.status == .running)
        #expect(try report(.complete, at: 5).rejected.isEmpty)
        let back = try report(.running, at: 6)
        #expect(back.rejected == [EventRejection("allocation a1", "cannot go from complete to running")])
        #expect(state.allocations["a1"]?.clientStatus == .complete)
        #expect(ClusterState.transitionAllowed(from: .pending, to: .running))
        #expect(!ClusterState.transitionAllowed(from: .failed, to: .pending))
    }

    @Test("a node going down makes its live allocations lost")
    func nodeDown() throws {
        var state = seeded()
        state.apply(event { $0.allocationsPlanned = .with { $0.evaluationID = "e1"; $0.placed = [allocation("a1"), allocation("a2")] } }, at: 3)
        state.apply(event { $0.allocationClientUpdated = .with { $0.updates = [.with { $0.allocationID = "a2"; $0.clientStatus = .complete }] } }, at: 4)
        state.apply(event { $0.nodeStatusChanged = .with { $0.nodeID = "n1"; $0.status = .down } }, at: 5)
        #expect(state.allocations["a1"]?.clientStatus == .lost)
        #expect(state.allocations["a2"]?.clientStatus == .complete, "terminal allocations stay as they were")
        #expect(state.allocations(withStatus: .lost).map(\.id) == ["a1"])
        #expect(state.nodes["n1"]?.status == .down)
    }

    @Test("purge needs a stopped job and removes its allocations and evaluations")
    func purge() throws {
        var state = seeded()
        state.apply(event { $0.allocationsPlanned = .with { $0.evaluationID = "e1"; $0.placed = [allocation("a1")] } }, at: 3)
        #expect(state.apply(event { $0.jobPurged = .with { $0.jobID = "web" } }, at: 4)
            == .failure(EventRejection("job web", "is not stopped; stop it before purging")))
        state.apply(event { $0.jobStopped = .with { $0.jobID = "web" } }, at: 5)
        _ = try state.apply(event { $0.jobPurged = .with { $0.jobID = "web" } }, at: 6).get()
        #expect(state.jobs.isEmpty && state.allocations.isEmpty && state.evaluations.isEmpty)
        #expect(state.allocations(onNode: "n1").isEmpty)
    }

    @Test("a batch of completions applies each in order; a refused one is reported and changes nothing; an empty batch is refused")
    func batchedCompletions() throws {
        var state = seeded()
        state.apply(event {
            $0.jobRegistered = .with {
                $0.spec = JobSpecFixture.spec(id: "api")
                $0.evaluation = EventGenerator.evaluation(id: "e2", job: "api")
            }
        }, at: 3)
        let applied = try state.apply(event {
            $0.evaluationsCompleted = .with {
                $0.completions = [
                    .with { $0.evaluationID = "e1"; $0.status = .complete; $0.followUps = [EventGenerator.evaluation(id: "e1-retry", job: "web")] },
                    .with { $0.evaluationID = "ghost"; $0.status = .complete },
                    // e1 was completed by the first item: the second completion of it is refused.
                    .with { $0.evaluationID = "e1"; $0.status = .failed },
                    .with { $0.evaluationID = "e2"; $0.status = .failed; $0.description_p = "no nodes" },
                ]
            }
        }, at: 4).get()
        #expect(applied.rejected == [
            EventRejection("evaluation ghost", "no such evaluation"),
            EventRejection("evaluation e1", "is already complete"),
        ])
        #expect(applied.evaluations == ["e1-retry"])
        #expect(state.evaluations["e1"]?.status == .complete)
        #expect(state.evaluations["e2"]?.status == .failed)
        #expect(state.evaluations["e2"]?.statusDescription == "no nodes")
        #expect(state.evaluations["e1-retry"]?.status == .pending)
        #expect(state.evaluationIDs(withStatus: .pending) == ["e1-retry"])
        // Terminal statuses are answered by a scan, not kept in the by-status index.
        #expect(state.evaluationIDs(withStatus: .complete) == ["e1"])
        #expect(state.evaluations(withStatus: .failed).map(\.id) == ["e2"])
        #expect(Set(state.evaluationsByStatus.filter { !$0.value.isEmpty }.keys) == [EvaluationStatus.pending.rawValue])
        #expect(state.apply(event { $0.evaluationsCompleted = .with { $0.completions = [] } }, at: 5)
            == .failure(EventRejection("evaluations", "none to complete")))
        #expect(state.appliedIndex == 5)
    }

    @Test("events are applied in index order only")
    func indexOrder() {
        var state = seeded()
        #expect(state.apply(event { $0.jobStopped = .with { $0.jobID = "web" } }, at: 2)
            == .failure(EventRejection("event 2", "already applied (applied index is 2)")))
    }

    @Test("random event streams give the same bytes in two states, and invalid events are refused", arguments: [1, 2, 3] as [UInt64])
    func deterministic(seed: UInt64) {
        var generator = EventGenerator(seed: seed)
        var a = ClusterState()
        var b = ClusterState()
        var refused = 0
        for index in 1...2000 as ClosedRange<UInt64> {
            let event = generator.next()
            if case .failure = a.apply(event, at: index) { refused += 1 }
            b.apply(event, at: index)
        }
        #expect(a.canonicalBytes() == b.canonicalBytes())
        #expect(refused > 0, "the generator makes invalid events too")
        #expect(!a.allocations.isEmpty && !a.jobs.isEmpty)
    }
}
