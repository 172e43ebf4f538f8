import HeliosProto
import SwiftProtobuf

/// Produces realistic event streams from a seed: nodes register, jobs are registered, evaluated,
/// planned, run, fail, complete, get stopped and purged; nodes go down; plus invalid events (unknown
/// ids, forbidden transitions, duplicate ids) that apply must refuse.
public struct EventGenerator {
    public var random: SeededRandom
    public private(set) var time: UInt64 = 1_700_000_000_000
    private var counter = 0
    /// What the generator believes exists (it may be wrong on purpose).
    private var nodes: [String] = []
    private var jobs: [String] = []
    private var pendingEvaluations: [(id: String, job: String)] = []
    private var allocations: [(id: String, job: String)] = []

    public init(seed: UInt64) {
        random = SeededRandom(seed: seed)
    }

    mutating func id(_ prefix: String) -> String {
        counter += 1
        let suffix = String(random.next() & 0xFFFF_FFFF, radix: 16)
        return "\(prefix)-\(counter)-\(suffix)"
    }

    mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[Int(random.next() % UInt64(items.count))]
    }

    public static func node(id: String, cpu: UInt32 = 4000, memory: UInt32 = 8192) -> NodeInfo {
        .with {
            $0.id = id
            $0.name = "host-\(id)"
            $0.datacenter = "dc1"
            $0.address = "127.0.0.1:60051"
            $0.resources = .with { $0.cpuMhz = cpu; $0.memoryMb = memory }
            $0.attributes = [.with { $0.key = "os.name"; $0.value = "linux" }, .with { $0.key = "cpu.arch"; $0.value = "x86_64" }]
            $0.status = .ready
            $0.eligible = true
        }
    }

    public static func evaluation(id: String, job: String, trigger: Helios_V1_EvaluationTrigger = .jobRegister) -> Evaluation {
        .with {
            $0.id = id
            $0.jobID = job
            $0.trigger = trigger
            $0.status = .pending
        }
    }

    /// The next event.
    public mutating func next() -> Event {
        time += random.next() % 5000
        var event = Event()
        event.timeMs = time
        let roll = random.next() % 100
        switch roll {
        case 0..<8:
            let node = id("node")
            nodes.append(node)
            event.nodeRegistered = .with { $0.node = Self.node(id: node) }
        case 8..<20:
            let job = jobs.isEmpty || random.chance(0.6) ? id("job") : pick(jobs)!
            if !jobs.contains(job) { jobs.append(job) }
            let evaluation = id("eval")
            pendingEvaluations.append((evaluation, job))
            event.jobRegistered = .with {
                $0.spec = JobSpecFixture.spec(id: job, type: random.chance(0.3) ? .batch : .service, count: UInt32(1 + random.next() % 3))
                $0.evaluation = Self.evaluation(id: evaluation, job: job)
            }
        case 20..<40:
            // A plan for a pending evaluation, placing on known nodes (some may no longer fit).
            guard let (evaluation, job) = pick(pendingEvaluations), let node = pick(nodes) else { return next() }
            let count = 1 + Int(random.next() % 3)
            event.allocationsPlanned = .with {
                $0.evaluationID = evaluation
                $0.placed = (0..<count).map { i in
                    let allocation = id("alloc")
                    allocations.append((allocation, job))
                    return .with {
                        $0.id = allocation
                        $0.jobID = job
                        $0.jobVersion = 1 + random.next() % 2
                        $0.taskGroup = "main"
                        $0.nodeID = node
                        $0.name = "\(job).main[\(i)]"
                        $0.resources = .with { $0.cpuMhz = 100; $0.memoryMb = 64 }
                    }
                }
            }
        case 40..<48:
            guard let (evaluation, _) = pick(pendingEvaluations) else { return next() }
            pendingEvaluations.removeAll { $0.id == evaluation }
            let completion = Helios_V1_EvaluationCompleted.with {
                $0.evaluationID = evaluation
                $0.status = random.chance(0.9) ? .complete : .failed
            }
            if random.chance(0.3) {
                // A leader's batch: another pending one if there is one, and now and then an unknown
                // evaluation (refused on its own while the rest applies).
                var completions = [completion]
                if let (other, _) = pick(pendingEvaluations) {
                    pendingEvaluations.removeAll { $0.id == other }
                    completions.append(.with { $0.evaluationID = other; $0.status = .complete })
                }
                if random.chance(0.2) { completions.append(.with { $0.evaluationID = "unknown"; $0.status = .complete }) }
                event.evaluationsCompleted = .with { $0.completions = completions }
            } else {
                event.evaluationCompleted = completion
            }
        case 48..<75:
            // Agents report; some transitions are invalid (terminal -> running).
            let reports = (0..<(1 + Int(random.next() % 4))).compactMap { _ -> Helios_V1_AllocationUpdate? in
                guard let (allocation, _) = pick(allocations) else { return nil }
                let statuses: [AllocationClientStatus] = [.running, .running, .complete, .failed, .pending]
                return .with {
                    $0.allocationID = allocation
                    $0.clientStatus = pick(statuses)!
                    $0.taskStates = [.with { $0.task = "task"; $0.state = "running"; $0.restarts = UInt32(random.next() % 3) }]
                }
            }
            guard !reports.isEmpty else { return next() }
            event.allocationClientUpdated = .with { $0.updates = reports }
        case 75..<80:
            guard let (allocation, _) = pick(allocations) else { return next() }
            event.allocationDesiredChanged = .with {
                $0.changes = [.with { $0.allocationID = allocation; $0.desiredStatus = random.chance(0.5) ? .stop : .evict }]
            }
        case 80..<85:
            guard let node = pick(nodes) else { return next() }
            event.nodeStatusChanged = .with {
                $0.nodeID = node
                let choice = random.next() % 3
                if choice == 0 { $0.status = .down }
                if choice == 1 { $0.status = .ready }
                if choice == 2 { $0.eligible = random.chance(0.5) }
            }
        case 85..<89:
            guard let job = pick(jobs) else { return next() }
            event.jobStopped = .with { $0.jobID = job }
        case 89..<91:
            guard let job = pick(jobs) else { return next() }
            event.jobPurged = .with { $0.jobID = job }
            jobs.removeAll { $0 == job }
            allocations.removeAll { $0.job == job }
            pendingEvaluations.removeAll { $0.job == job }
        case 91..<93:
            event.clusterConfigurationChanged = .with {
                $0.members = (1...3).map { n in .with { $0.id = UInt64(n); $0.address = "127.0.0.1:5005\(n)"; $0.voter = true } }
            }
        default:
            // Invalid on purpose: unknown objects, bad specs.
            switch random.next() % 4 {
            case 0: event.jobStopped = .with { $0.jobID = "no-such-job" }
            case 1: event.allocationClientUpdated = .with { $0.updates = [.with { $0.allocationID = "ghost"; $0.clientStatus = .running }] }
            case 2: event.jobRegistered = .with { $0.spec = .with { $0.id = "bad job" } }
            default: event.evaluationCompleted = .with { $0.evaluationID = "unknown"; $0.status = .complete }
            }
        }
        return event
    }
}
