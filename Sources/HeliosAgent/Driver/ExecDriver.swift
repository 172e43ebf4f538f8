import CSpawn
import Foundation

/// Starts tasks through `helios executor` processes and watches them through their state files.
/// The agent never becomes the task's parent, so a restarted agent re-attaches to what still runs.
public struct ExecDriver: Sendable {
    /// The `helios` binary that provides `helios executor`.
    public let executorBinary: String

    public init(executorBinary: String) {
        self.executorBinary = executorBinary
    }

    /// The `helios` binary of this process (for the executor).
    public static var currentBinary: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return buffer.withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0).prefix(count), as: UTF8.self) }
    }

    /// Writes the spec and starts its executor (in a new session); returns once the executor has
    /// recorded the task's pid or why it could not start (at most 10 s).
    public func start(_ spec: ExecutorSpec, specPath: String) async throws -> ExecutorState {
        try? FileManager.default.removeItem(atPath: spec.statePath)
        let data = try JSONEncoder().encode(spec)
        try data.write(to: URL(fileURLWithPath: specPath))
        let executorLog = spec.logDirectory + "/\(spec.task).executor.log"
        let fd = open(executorLog, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        defer { if fd >= 0 { close(fd) } }
        var spawnError: Int32 = 0
        var failedStep: UnsafePointer<CChar>?
        let environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        let pid: pid_t = TaskExecutor.withCStrings(["helios", "executor", "--spec", specPath]) { argv in
            TaskExecutor.withCStrings(environment) { envp in
                helios_spawn(executorBinary, argv, envp, "/", fd, fd, 1, &spawnError, &failedStep)
            }
        }
        guard pid > 0 else {
            throw ExecutorError(
                "cannot start the executor \(executorBinary) for task \(spec.task) of allocation \(spec.allocationID): "
                    + "\(failedStep.map { String(cString: $0) } ?? "spawn"): \(String(cString: strerror(spawnError)))")
        }
        Reaper.shared.adopt(pid)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let state = ExecutorState.load(spec.statePath), state.taskPID != nil || state.finished { return state }
            if !Reaper.shared.isRunning(pid) {
                throw ExecutorError("the executor for task \(spec.task) of allocation \(spec.allocationID) exited before starting it; see \(executorLog)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ExecutorError("the executor for task \(spec.task) of allocation \(spec.allocationID) did not start it within 10 s; see \(executorLog)")
    }

    /// Asks the executor to stop its task (kill signal, then SIGKILL after the kill timeout).
    public func stop(_ state: ExecutorState) {
        guard ProcessInfoReader.isAlive(state.executorPID, startTime: state.executorStartTime) else { return }
        kill(state.executorPID, SIGTERM)
    }

    /// The task's state now: nil while it runs; the final state when it ended; a synthesized failure
    /// when the executor vanished without recording an end (e.g. it was killed).
    public func poll(statePath: String) -> ExecutorState? {
        guard let state = ExecutorState.load(statePath) else { return nil }
        if state.finished { return state }
        if ProcessInfoReader.isAlive(state.executorPID, startTime: state.executorStartTime) { return nil }
        // Re-read: it may have finished between the two reads.
        if let again = ExecutorState.load(statePath), again.finished { return again }
        var lost = state
        lost.finished = true
        lost.startError = lost.startError ?? "the executor (pid \(state.executorPID)) died without recording how the task ended"
        return lost
    }
}

/// Reaps executor processes this agent started (they are its children until it exits), so they do
/// not linger as zombies; after an agent restart they are re-parented and reaped by init.
final class Reaper: @unchecked Sendable {
    // @unchecked: `children` is guarded by `lock`.
    static let shared = Reaper()
    private let lock = NSLock()
    private var children: Set<pid_t> = []
    private var started = false

    func adopt(_ pid: pid_t) {
        lock.lock()
        children.insert(pid)
        let start = !started
        started = true
        lock.unlock()
        if start {
            Thread {
                while true {
                    self.reap()
                    usleep(100_000)
                }
            }.start()
        }
    }

    func isRunning(_ pid: pid_t) -> Bool {
        reap()
        lock.lock()
        defer { lock.unlock() }
        return children.contains(pid)
    }

    private func reap() {
        lock.lock()
        let pids = children
        lock.unlock()
        for pid in pids {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                lock.lock()
                children.remove(pid)
                lock.unlock()
            }
        }
    }
}
