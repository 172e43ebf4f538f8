import Foundation
import HeliosProto
import SwiftProtobuf
import Synchronization

/// Runs one task of an allocation through the exec driver: starts it (or re-attaches), waits for it
/// to end, applies the group's restart policy on this node, and records task events.
final class TaskRunner: Sendable {
    enum Outcome: Sendable {
        /// Ended successfully (batch exit 0) or was stopped on request.
        case finished
        /// Failed for good (restart attempts exhausted, or it could not start).
        case failed(String)
    }

    let spec: ExecutorSpec
    let specPath: String
    let restartPolicy: Helios_V1_RestartPolicy
    let isBatch: Bool
    let driver: ExecDriver
    /// Called whenever the task's state changes.
    let onChange: @Sendable (TaskState) -> Void
    private let state: Mutex<TaskState>
    private let control = Mutex<(stop: Bool, restart: Bool, executor: ExecutorState?)>((false, false, nil))

    /// `previous` is the state the servers last saw (kept across an agent restart).
    init(spec: ExecutorSpec, specPath: String, restartPolicy: Helios_V1_RestartPolicy, isBatch: Bool, driver: ExecDriver,
         previous: TaskState?, onChange: @escaping @Sendable (TaskState) -> Void) {
        self.spec = spec
        self.specPath = specPath
        self.restartPolicy = restartPolicy
        self.isBatch = isBatch
        self.driver = driver
        self.onChange = onChange
        state = Mutex(previous ?? TaskState.with {
            $0.task = spec.task
            $0.state = "pending"
        })
    }

    var current: TaskState { state.withLock { $0 } }

    private func update(_ body: (inout TaskState) -> Void) {
        let snapshot = state.withLock { state -> TaskState in
            body(&state)
            // Like Nomad, keep the most recent events only.
            if state.events.count > 10 { state.events.removeFirst(state.events.count - 10) }
            return state
        }
        onChange(snapshot)
    }

    private func event(_ type: String, _ message: String, exitCode: Int32 = 0, signal: Int32 = 0, oom: Bool = false) -> Helios_V1_TaskEvent {
        .with {
            $0.type = type
            $0.timeMs = TaskExecutor.nowMs()
            $0.message = message
            $0.exitCode = exitCode
            $0.signal = signal
            $0.oomKilled = oom
        }
    }

    /// Asks the task to stop (kill signal, then SIGKILL after the kill timeout); ``run(attach:)`` returns after.
    func stop() {
        let executor = control.withLock { control -> ExecutorState? in
            control.stop = true
            return control.executor
        }
        if let executor { driver.stop(executor) }
    }

    /// Restarts the task in place (an operator's request; not counted against the restart policy).
    func restart() {
        let executor = control.withLock { control -> ExecutorState? in
            control.restart = true
            return control.executor
        }
        if let executor { driver.stop(executor) }
    }

    /// Runs until the task finishes for good or is stopped. `attach` is the state of an executor left
    /// running by a previous agent process.
    func run(attach: ExecutorState?) async -> Outcome {
        var restarts: [UInt64] = []  // times of restarts within the policy interval
        var attached = attach
        while true {
            if control.withLock({ $0.stop }) {
                update { $0.state = "dead"; $0.finishedAtMs = TaskExecutor.nowMs() }
                return .finished
            }
            let running: ExecutorState
            if let existing = attached {
                running = existing
                attached = nil
                update {
                    $0.state = "running"
                    $0.events.append(event("Reattached", "re-attached to pid \(existing.taskPID ?? 0) after an agent restart"))
                }
            } else {
                do {
                    running = try await driver.start(spec, specPath: specPath)
                } catch {
                    update {
                        $0.state = "dead"
                        $0.failed = true
                        $0.events.append(event("Driver Failure", "\(error)"))
                    }
                    return .failed("\(error)")
                }
                if let problem = running.startError {
                    update {
                        $0.state = "dead"
                        $0.failed = true
                        $0.finishedAtMs = TaskExecutor.nowMs()
                        $0.events.append(event("Driver Failure", "task \(spec.task) could not start: \(problem)"))
                    }
                    return .failed("task \(spec.task) could not start: \(problem)")
                }
                update {
                    $0.state = "running"
                    $0.startedAtMs = running.startedAtMs ?? TaskExecutor.nowMs()
                    $0.events.append(event("Started", "task started by the exec driver (pid \(running.taskPID ?? 0)); \(running.limits)"))
                }
            }
            control.withLock { $0.executor = running }
            // A stop that arrived while starting must still reach the executor.
            if control.withLock({ $0.stop || $0.restart }) { driver.stop(running) }
            var ended: ExecutorState?
            while ended == nil {
                try? await Task.sleep(for: .milliseconds(100))
                ended = driver.poll(statePath: spec.statePath)
            }
            let final = ended!
            control.withLock { $0.executor = nil }
            let exitCode = final.exitCode ?? -1
            let signal = final.signal ?? 0
            var message = signal != 0 ? "terminated by signal \(signal)" : "exited with code \(exitCode)"
            if final.oomKilled { message += " (OOM killed: over its memory limit of \(spec.memoryLimitBytes >> 20) MB)" }
            if let problem = final.startError { message = problem }
            update {
                $0.events.append(event("Terminated", message, exitCode: exitCode, signal: signal, oom: final.oomKilled))
                $0.finishedAtMs = final.finishedAtMs ?? TaskExecutor.nowMs()
            }
            let (stopped, restartRequested) = control.withLock { control -> (Bool, Bool) in
                defer { control.restart = false }
                return (control.stop, control.restart)
            }
            if stopped {
                update {
                    $0.state = "dead"
                    $0.events.append(event("Killed", "task stopped on request"))
                }
                return .finished
            }
            if restartRequested {
                update {
                    $0.restarts += 1
                    $0.events.append(event("Restart Signaled", "restarted on request"))
                }
                continue
            }
            let succeeded = exitCode == 0 && signal == 0 && final.startError == nil
            if isBatch && succeeded {
                update { $0.state = "dead" }
                return .finished
            }
            // Restart policy: `attempts` restarts within `interval`; then fail, or wait out the interval.
            let now = TaskExecutor.nowMs()
            let interval = restartPolicy.intervalMs
            restarts.removeAll { interval > 0 && $0 + interval < now }
            if restarts.count >= Int(restartPolicy.attempts) {
                if restartPolicy.mode == .delay, interval > 0, let oldest = restarts.first {
                    let wait = oldest + interval - now
                    update { $0.events.append(event("Restarts Exhausted", "\(restarts.count) restarts within \(interval / 1000) s; waiting \(wait / 1000) s (mode delay)")) }
                    try? await Task.sleep(for: .milliseconds(Int64(wait)))
                    restarts.removeAll()
                } else {
                    let reason = "task \(spec.task) \(message); \(restarts.count) restart(s) within \(interval / 1000) s exhausted the restart policy"
                    update {
                        $0.state = "dead"
                        $0.failed = true
                        $0.events.append(event("Not Restarting", reason))
                    }
                    return .failed(reason)
                }
            }
            restarts.append(TaskExecutor.nowMs())
            update {
                $0.restarts += 1
                $0.state = "pending"
                $0.events.append(event("Restarting", "restarting in \(restartPolicy.delayMs) ms"))
            }
            let deadline = ContinuousClock.now + .milliseconds(Int64(restartPolicy.delayMs))
            while ContinuousClock.now < deadline && !control.withLock({ $0.stop }) {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
