import HeliosProto
import HeliosScheduler
import HeliosState
import HeliosTesting
import SwiftProtobuf
import Testing

@Suite("Scheduler")
struct SchedulerTests {
    /// A state under construction, with helpers that apply events.
    struct World {
        var state = ClusterState()
        var index: UInt64 = 0
        var time: UInt64 = 1_000_000
        var ids = 0

        mutating func apply(_ build: (inout Event) -> Void) {
            var event = Event()
            event.timeMs = time
            build(&event)
            index += 1
            let result = state.apply(event, at: index)
            if case .failure(let rejection) = result { Issue.record("setup event refused: \(rejection)") }
        }

        mutating func node(_ id: String, cpu: UInt32 = 4000, memory: UInt32 = 8192, attributes: [String: String] = [:], meta: [String: String] = [:]) {
            var node = EventGenerator.node(id: id, cpu: cpu, memory: memory)
            node.attributes = attributes.sorted { $0.key < $1.key }.map { kv in .with { $0.key = kv.key; $0.value = kv.value } }
            node.meta = meta.sorted { $0.key < $1.key }.map { kv in .with { $0.key = kv.key; $0.value = kv.value } }
            apply { $0.nodeRegistered = .with { $0.node = node } }
        }

        mutating func job(_ spec: JobSpec) -> Evaluation {
            let evaluation = EventGenerator.evaluation(id: "eval-\(index)", job: spec.id)
            apply { $0.jobRegistered = .with { $0.spec = spec; $0.evaluation = evaluation } }
            return state.evaluations[evaluation.id]!
        }

        mutating func scheduler() -> Scheduler {
            let base = ids
            ids += 1000
            var counter = base
            return Scheduler(now: time, makeID: {
                counter += 1
                return "id-\(counter)"
            })
        }

        /// Plans and applies; returns the plan.
        @discardableResult
        mutating func schedule(_ evaluation: Evaluation) -> SchedulerPlan {
            let plan = scheduler().plan(for: evaluation, in: state)
            let event = plan.event(plannedAtIndex: index)
            if !plan.isEmpty { apply { $0.allocationsPlanned = event } }
            return plan
        }

        mutating func report(_ id: String, _ status: AllocationClientStatus) {
            apply { $0.allocationClientUpdated = .with { $0.updates = [.with { $0.allocationID = id; $0.clientStatus = status }] } }
        }

        func live(_ job: String) -> [Allocation] {
            state.allocations(ofJob: job).filter { $0.desiredStatus == .run && !$0.clientStatus.isTerminal }
        }
    }

    static func spec(_ id: String, count: UInt32, cpu: UInt32 = 1000, type: Helios_V1_JobType = .service, _ adjust: (inout JobSpec) -> Void = { _ in }) -> JobSpec {
        var spec = JobSpecFixture.spec(id: id, type: type, count: count, cpu: cpu, memory: 128)
        adjust(&spec)
        return spec
    }

    @Test("bin packing prefers the fuller node")
    func binPacking() {
        var world = World()
        world.node("a")
        world.node("b")
        world.schedule(world.job(Self.spec("big", count: 1, cpu: 2000) { $0.constraints = [.with { $0.attribute = "node.id"; $0.value = "a" }] }))
        let plan = world.schedule(world.job(Self.spec("small", count: 1, cpu: 500)))
        #expect(plan.placed.map(\.nodeID) == ["a"], "node a is half full: packing puts the new allocation there")
        #expect(plan.placed.first?.name == "small.main[0]")
    }

    @Test("constraints: equal, not equal, regexp, version, set contains; failures name the attribute")
    func constraints() {
        var world = World()
        world.node("lin", attributes: ["os.name": "linux", "kernel.version": "6.1.0-18-amd64", "features": "sse4,avx2"])
        world.node("win", attributes: ["os.name": "windows", "kernel.version": "10.0"])
        func place(_ constraint: Helios_V1_Constraint) -> SchedulerPlan {
            world.scheduler().plan(for: world.job(Self.spec("j\(world.index)", count: 1) { $0.constraints = [constraint] }), in: world.state)
        }
        #expect(place(.with { $0.attribute = "os.name"; $0.operator = .equal; $0.value = "linux" }).placed.map(\.nodeID) == ["lin"])
        #expect(place(.with { $0.attribute = "os.name"; $0.operator = .notEqual; $0.value = "linux" }).placed.map(\.nodeID) == ["win"])
        #expect(place(.with { $0.attribute = "kernel.version"; $0.operator = .regexp; $0.value = "amd64$" }).placed.map(\.nodeID) == ["lin"])
        #expect(place(.with { $0.attribute = "kernel.version"; $0.operator = .version; $0.value = ">= 5.10, < 7" }).placed.map(\.nodeID) == ["lin"])
        #expect(place(.with { $0.attribute = "features"; $0.operator = .setContains; $0.value = "avx2" }).placed.map(\.nodeID) == ["lin"])
        let impossible = place(.with { $0.attribute = "os.name"; $0.operator = .equal; $0.value = "plan9" })
        #expect(impossible.placed.isEmpty)
        #expect(impossible.failures.first?.reason == "no feasible node among 2: 2 filtered by constraint on os.name")
        #expect(ConstraintMatcher.problem(.with { $0.attribute = "x"; $0.operator = .regexp; $0.value = "(" }) != nil)
    }

    @Test("resources: a group that fits nowhere fails with what was missing")
    func resources() {
        var world = World()
        world.node("a", cpu: 1000)
        let plan = world.scheduler().plan(for: world.job(Self.spec("hungry", count: 1, cpu: 3000)), in: world.state)
        #expect(plan.failures == [PlacementFailure(group: "main", missing: 1, reason: "no feasible node among 1: 1 without 3000 MHz of CPU free")])
        var empty = World()
        let none = empty.scheduler().plan(for: empty.job(Self.spec("x", count: 2)), in: empty.state)
        #expect(none.failures.first?.reason == "no nodes are registered")
    }

    @Test("spread balances a group across the values of an attribute")
    func spread() {
        var world = World()
        for (node, rack) in [("n1", "r1"), ("n2", "r1"), ("n3", "r2"), ("n4", "r2")] { world.node(node, cpu: 8000, meta: ["rack": rack]) }
        let plan = world.schedule(world.job(Self.spec("web", count: 4, cpu: 500) {
            $0.groups[0].spreads = [.with { $0.attribute = "meta.rack"; $0.weight = 100 }]
        }))
        let racks = plan.placed.map { $0.nodeID == "n1" || $0.nodeID == "n2" ? "r1" : "r2" }
        #expect(racks.filter { $0 == "r1" }.count == 2 && racks.filter { $0 == "r2" }.count == 2)
        #expect(Set(plan.placed.map(\.name)) == ["web.main[0]", "web.main[1]", "web.main[2]", "web.main[3]"])
    }

    @Test("scaling down stops the highest indexes; stopping the job stops everything")
    func scaleAndStop() {
        var world = World()
        world.node("a", cpu: 16000)
        world.schedule(world.job(Self.spec("web", count: 3)))
        let evaluation = world.job(Self.spec("web", count: 1))
        let down = world.schedule(evaluation)
        #expect(down.placed.isEmpty)
        #expect(down.stopped.count == 2)
        #expect(world.live("web").map(\.name) == ["web.main[0]"])
        world.apply { $0.jobStopped = .with { $0.jobID = "web"; $0.evaluation = EventGenerator.evaluation(id: "stop", job: "web") } }
        let stop = world.schedule(world.state.evaluations["stop"]!)
        #expect(stop.stopped.count == 1)
        #expect(world.live("web").isEmpty)
    }

    @Test("a changed group replaces its allocations; an unchanged one keeps them across versions")
    func updates() {
        var world = World()
        world.node("a", cpu: 16000)
        world.schedule(world.job(Self.spec("web", count: 2)))
        let first = Set(world.live("web").map(\.id))
        world.schedule(world.job(Self.spec("web", count: 2) { $0.meta = [.with { $0.key = "owner"; $0.value = "ops" }] }))
        #expect(Set(world.live("web").map(\.id)) == first, "job-level metadata does not touch the group")
        let changed = world.schedule(world.job(Self.spec("web", count: 2) { $0.groups[0].tasks[0].args = ["120"] }))
        #expect(changed.stopped.count == 2 && changed.placed.count == 2)
        #expect(world.live("web").allSatisfy { $0.jobVersion == 3 })
    }

    @Test("lost allocations are replaced at once, on another node when possible")
    func lost() {
        var world = World()
        world.node("a")
        world.node("b")
        world.schedule(world.job(Self.spec("web", count: 1)))
        let original = world.live("web")[0]
        world.report(original.id, .running)
        world.apply {
            $0.nodeStatusChanged = .with {
                $0.nodeID = original.nodeID
                $0.status = .down
                $0.evaluations = [EventGenerator.evaluation(id: "down", job: "web", trigger: .nodeUpdate)]
            }
        }
        #expect(world.state.allocations[original.id]?.clientStatus == .lost)
        let plan = world.schedule(world.state.evaluations["down"]!)
        #expect(plan.placed.count == 1)
        #expect(plan.placed[0].previousAllocation == original.id)
        #expect(plan.placed[0].nodeID != original.nodeID)
        #expect(plan.placed[0].name == original.name)
    }

    @Test("failed allocations follow the reschedule policy: delay, then replace elsewhere, then give up")
    func reschedule() {
        var world = World()
        world.node("a")
        world.node("b")
        let spec = Self.spec("batch", count: 1, type: .batch) {
            $0.groups[0].reschedule = .with { $0.attempts = 1; $0.intervalMs = 3_600_000; $0.delayMs = 5_000; $0.delayFunction = "constant" }
        }
        world.schedule(world.job(spec))
        let first = world.live("batch")[0]
        world.report(first.id, .failed)
        // Too early: a follow-up evaluation waits for the delay.
        let early = world.scheduler().plan(for: world.job(spec), in: world.state)
        #expect(early.placed.isEmpty)
        #expect(early.followUps.map(\.waitUntilMs) == [world.state.allocations[first.id]!.modifiedAtMs + 5_000])
        // After the delay: replaced, away from the node that failed.
        world.time += 6_000
        let later = world.schedule(world.job(spec))
        #expect(later.placed.count == 1)
        let second = later.placed[0]
        #expect(second.previousAllocation == first.id && second.nodeID != first.nodeID)
        #expect(second.rescheduleEvents.count == 1)
        // Its failure exhausts the single attempt: no more replacements.
        world.report(second.id, .failed)
        world.time += 60_000
        let exhausted = world.scheduler().plan(for: world.job(spec), in: world.state)
        #expect(exhausted.placed.isEmpty && exhausted.followUps.isEmpty)
    }

    @Test("allocations on a draining node are evicted and placed elsewhere")
    func drain() {
        var world = World()
        world.node("a")
        world.node("b")
        world.schedule(world.job(Self.spec("web", count: 1) { $0.constraints = [.with { $0.attribute = "node.id"; $0.operator = .notEqual; $0.value = "b" }] }))
        world.schedule(world.job(Self.spec("web", count: 1)))
        let before = world.live("web")[0]
        world.apply { $0.nodeStatusChanged = .with { $0.nodeID = before.nodeID; $0.draining = true } }
        let plan = world.schedule(world.job(Self.spec("web", count: 1)))
        #expect(plan.stopped.map(\.desiredStatus) == [.evict])
        #expect(plan.placed.count == 1 && plan.placed[0].nodeID != before.nodeID)
    }

    @Test("a stale plan is partially refused when applied to a state that changed meanwhile")
    func stalePlan() throws {
        var world = World()
        world.node("a", cpu: 2000)
        let first = world.job(Self.spec("one", count: 1, cpu: 1500))
        let second = world.job(Self.spec("two", count: 1, cpu: 1500))
        // Both plans are computed against the same state...
        let planOne = world.scheduler().plan(for: first, in: world.state)
        let planTwo = world.scheduler().plan(for: second, in: world.state)
        #expect(planOne.placed.count == 1 && planTwo.placed.count == 1)
        let plannedAt = world.index
        world.apply { $0.allocationsPlanned = planOne.event(plannedAtIndex: plannedAt) }
        // ...so the second no longer fits when it is applied.
        var event = Event()
        event.allocationsPlanned = planTwo.event(plannedAtIndex: world.index - 1)
        world.index += 1
        let result = try world.state.apply(event, at: world.index).get()
        #expect(result.placed.isEmpty)
        #expect(result.rejected.first?.reason.contains("500 MHz of CPU left") == true)
    }
}
