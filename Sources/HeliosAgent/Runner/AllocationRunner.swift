import Foundation
import HeliosProto
import SwiftProtobuf
import Synchronization

/// Runs one allocation on this node: a ``TaskRunner`` per task of its group, the allocation's
/// client status derived from theirs, reported through `report`.
final class AllocationRunner: Sendable {
    let allocation: Allocation
    let directory: String
    private let tasks: [TaskRunner]
    private let report: @Sendable (Helios_V1_AllocationUpdate) -> Void
    private let status = Mutex<(client: AllocationClientStatus, description: String)>((.pending, "starting"))
    private let restartGeneration: Mutex<UInt32>
    private let stopping = Atomic<Bool>(false)

    /// Prepares the directories and executor specs of the allocation's tasks.
    init(
        allocation: Allocation, group: Helios_V1_TaskGroup, job: JobSpec, nodeID: String, allocationsDirectory: String,
        driver: ExecDriver, report: @escaping @Sendable (Helios_V1_AllocationUpdate) -> Void
    ) throws {
        self.allocation = allocation
        self.report = report
        restartGeneration = Mutex(allocation.restartGeneration)
        directory = allocationsDirectory + "/" + allocation.id
        let logs = directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let isBatch = job.type == .batch
        let restartPolicy = group.hasRestart ? group.restart : Self.defaultRestartPolicy(isBatch: isBatch)
        var runners: [TaskRunner] = []
        let holder = RunnerHolder()
        for task in group.tasks {
            let taskDirectory = directory + "/" + task.name
            try FileManager.default.createDirectory(atPath: taskDirectory, withIntermediateDirectories: true)
            var environment: [String: String] = [
                "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HELIOS_ALLOC_ID": allocation.id,
                "HELIOS_ALLOC_NAME": allocation.name,
                "HELIOS_ALLOC_DIR": directory,
                "HELIOS_TASK_DIR": taskDirectory,
                "HELIOS_TASK_NAME": task.name,
                "HELIOS_GROUP_NAME": group.name,
                "HELIOS_JOB_NAME": job.name.isEmpty ? job.id : job.name,
                "HELIOS_JOB_ID": job.id,
                "HELIOS_NODE_ID": nodeID,
                "HELIOS_CPU_LIMIT": String(task.resources.cpuMhz),
                "HELIOS_MEMORY_LIMIT": String(task.resources.memoryMb),
            ]
            for pair in job.meta { environment["HELIOS_META_\(pair.key.uppercased())"] = pair.value }
            for pair in group.meta { environment["HELIOS_META_\(pair.key.uppercased())"] = pair.value }
            for pair in task.env { environment[pair.key] = pair.value }
            let spec = ExecutorSpec(
                allocationID: allocation.id, task: task.name, command: task.command, arguments: task.args, environment: environment,
                workingDirectory: taskDirectory, user: task.user.isEmpty ? nil : task.user, logDirectory: logs,
                maxLogFiles: Int(task.logs.maxFiles == 0 ? 10 : task.logs.maxFiles),
                maxLogFileBytes: Int(task.logs.maxFileSizeMb == 0 ? 10 : task.logs.maxFileSizeMb) << 20,
                killSignal: Self.signalNumber(task.killSignal), killTimeoutMs: task.killTimeoutMs == 0 ? 5_000 : task.killTimeoutMs,
                memoryLimitBytes: UInt64(task.resources.memoryMb) << 20, cpuShares: UInt64(task.resources.cpuMhz),
                statePath: directory + "/\(task.name).state.json")
            runners.append(TaskRunner(
                spec: spec, specPath: directory + "/\(task.name).executor.json", restartPolicy: restartPolicy, isBatch: isBatch,
                driver: driver, previous: allocation.taskStates.first { $0.task == task.name }, onChange: { _ in holder.changed() }))
        }
        tasks = runners
        holder.set { [weak self] in self?.publish() }
    }

    /// Nomad's defaults: service 2 attempts in 30 min, delay 15 s, mode fail; batch 3 in 24 h, delay 15 s.
    static func defaultRestartPolicy(isBatch: Bool) -> Helios_V1_RestartPolicy {
        .with {
            $0.attempts = isBatch ? 3 : 2
            $0.intervalMs = isBatch ? 86_400_000 : 1_800_000
            $0.delayMs = 15_000
            $0.mode = .fail
        }
    }

    static func signalNumber(_ name: String) -> Int32 {
        switch name.uppercased().replacingOccurrences(of: "SIG", with: "") {
        case "INT": SIGINT
        case "HUP": SIGHUP
        case "QUIT": SIGQUIT
        case "KILL": SIGKILL
        case "USR1": SIGUSR1
        case "USR2": SIGUSR2
        default: SIGTERM
        }
    }

    /// Runs the tasks until all end (or the allocation is stopped). `attach` maps task names to
    /// executors a previous agent process left running.
    func run(attach: [String: ExecutorState]) async {
        publish()
        let outcomes = await withTaskGroup(of: TaskRunner.Outcome.self) { group in
            for task in tasks {
                group.addTask { await task.run(attach: attach[task.spec.task]) }
            }
            var outcomes: [TaskRunner.Outcome] = []
            for await outcome in group {
                outcomes.append(outcome)
                // One task failing for good fails the allocation: stop the others (like Nomad).
                if case .failed = outcome, !stopping.load(ordering: .relaxed) {
                    for task in tasks { task.stop() }
                }
            }
            return outcomes
        }
        let failures = outcomes.compactMap { outcome -> String? in
            if case .failed(let reason) = outcome { return reason }
            return nil
        }
        status.withLock {
            if !failures.isEmpty {
                $0 = (.failed, failures.joined(separator: "; "))
            } else {
                $0 = (.complete, stopping.load(ordering: .relaxed) ? "stopped" : "all tasks completed")
            }
        }
        publish()
    }

    /// Stops every task; ``run(attach:)`` then returns with the allocation complete.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        for task in tasks { task.stop() }
    }

    /// Restarts tasks in place when the allocation's restart generation moved on.
    func restartIfRequested(generation: UInt32, task name: String) {
        let due = restartGeneration.withLock { current -> Bool in
            defer { current = max(current, generation) }
            return generation > current
        }
        guard due else { return }
        for task in tasks where name.isEmpty || task.spec.task == name { task.restart() }
    }

    /// The allocation's client status from its tasks, sent to the servers.
    private func publish() {
        let states = tasks.map(\.current)
        let (client, description) = status.withLock { status -> (AllocationClientStatus, String) in
            if !status.client.isTerminal {
                if states.allSatisfy({ $0.state == "running" }) {
                    status = (.running, "tasks running")
                } else if states.contains(where: { $0.state == "running" }) || states.contains(where: { $0.state == "dead" }) {
                    status = (.running, "some tasks running")
                }
            }
            return status
        }
        report(.with {
            $0.allocationID = allocation.id
            $0.clientStatus = client
            $0.description_p = description
            $0.taskStates = states
        })
    }
}

/// Lets the task runners call back into the allocation runner created after them.
private final class RunnerHolder: Sendable {
    private let callback = Mutex<(@Sendable () -> Void)?>(nil)
    func set(_ body: @escaping @Sendable () -> Void) { callback.withLock { $0 = body } }
    func changed() { callback.withLock { $0 }?() }
}
