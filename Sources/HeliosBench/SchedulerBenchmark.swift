import ArgumentParser
import HeliosProto
import HeliosScheduler
import HeliosState
import HeliosTesting
import SwiftProtobuf

/// `helios-bench scheduler`: placements per second for many jobs on many nodes, the scheduler
/// planning each evaluation and the plan applier re-checking and applying each plan (both run on
/// the leader for every evaluation). Reference: Nomad's C1M (3,750 placements/s, 5 servers).
struct SchedulerBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler", abstract: "Scheduler placements/s on simulated nodes.")

    @Option(help: "Registered nodes.") var nodes = 5_000
    @Option(help: "Jobs to place.") var jobs = 1_000
    @Option(help: "Allocations per job.") var count = 100
    @Option(help: "Rounds (a fresh state each); the median is reported.") var rounds = 3

    func run() throws {
        print("| workload | placements | plan s | plan+apply s | placements/s (plan) | placements/s (plan+apply) |")
        print("|---|---:|---:|---:|---:|---:|")
        for (name, spread) in [("bin packing", false), ("spread over 50 racks + constraint", true)] {
            var results: [(placed: Int, plan: Double, total: Double)] = []
            for round in 0..<rounds { results.append(try measure(spread: spread, seed: UInt64(round))) }
            let median = results.sorted { $0.total < $1.total }[results.count / 2]
            print("| \(name), \(nodes) nodes, \(jobs) jobs x \(count) | \(median.placed) | \(fixed(median.plan, 2)) | \(fixed(median.total, 2)) | "
                + "\(fixed(Double(median.placed) / median.plan, 0)) | \(fixed(Double(median.placed) / median.total, 0)) |")
        }
    }

    func measure(spread: Bool, seed: UInt64) throws -> (placed: Int, plan: Double, total: Double) {
        var state = ClusterState()
        var index: UInt64 = 0
        var time: UInt64 = 1_000_000
        func apply(_ event: Event) throws {
            index += 1
            if case .failure(let rejection) = state.apply(event, at: index) { throw ValidationError("setup refused: \(rejection)") }
        }
        for n in 0..<nodes {
            try apply(.with {
                $0.timeMs = time
                $0.nodeRegistered.node = .with {
                    $0.id = "node-\(n)"
                    $0.name = "node-\(n)"
                    $0.datacenter = "dc1"
                    $0.status = .ready
                    $0.eligible = true
                    $0.resources = .with {
                        $0.cpuMhz = 16_000
                        $0.memoryMb = 32_768
                    }
                    $0.attributes = [
                        .with { $0.key = "kernel.name"; $0.value = "linux" },
                        .with { $0.key = "rack"; $0.value = "r\(n % 50)" },
                    ]
                }
            })
        }
        var evaluations: [Evaluation] = []
        for j in 0..<jobs {
            let evaluation = Evaluation.with {
                $0.id = "eval-\(seed)-\(j)"
                $0.jobID = "job-\(j)"
                $0.status = .pending
                $0.trigger = .jobRegister
            }
            try apply(.with {
                $0.timeMs = time
                $0.jobRegistered = .with {
                    $0.spec = JobSpecFixture.spec(
                        id: "job-\(j)", count: UInt32(count), cpu: 100, memory: 128, group: "app", task: "main", args: [], env: [:])
                    if spread {
                        $0.spec.groups[0].spreads = [.with { $0.attribute = "rack"; $0.weight = 100 }]
                        $0.spec.groups[0].constraints = [.with { $0.attribute = "kernel.name"; $0.operator = .equal; $0.value = "linux" }]
                    }
                    $0.evaluation = evaluation
                }
            })
            evaluations.append(state.evaluations[evaluation.id]!)
        }
        var counter: UInt64 = seed << 40
        let clock = ContinuousClock()
        var planning = Duration.zero
        var placed = 0
        let started = clock.now
        for evaluation in evaluations {
            time += 1
            let scheduler = Scheduler(now: time, makeID: {
                counter += 1
                return "alloc-\(String(counter, radix: 16))"
            })
            let planStart = clock.now
            let plan = scheduler.plan(for: evaluation, in: state)
            planning += clock.now - planStart
            index += 1
            let event = Event.with {
                $0.timeMs = time
                $0.allocationsPlanned = plan.event(plannedAtIndex: index - 1)
            }
            switch state.apply(event, at: index) {
            case .success(let applied):
                placed += applied.placed.count
                if !applied.rejected.isEmpty { throw ValidationError("plan refused: \(applied.rejected[0])") }
            case .failure(let rejection):
                throw ValidationError("plan refused: \(rejection)")
            }
        }
        let total = clock.now - started
        guard placed == jobs * count else { throw ValidationError("placed \(placed) of \(jobs * count)") }
        return (placed, planning.seconds, total.seconds)
    }
}
