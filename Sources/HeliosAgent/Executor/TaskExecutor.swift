import CSpawn
import Foundation
import Synchronization

/// The body of `helios executor --spec FILE`: starts one task in its own process group (inside its
/// cgroup), copies its stdout and stderr into rotating log files, stops it on SIGTERM/SIGINT (the
/// task's kill signal, then SIGKILL after its kill timeout, to the whole group), and records
/// everything in the state file the agent reads. It runs in its own session, so it and the task
/// outlive an agent restart.
public enum TaskExecutor {
    /// Runs the task to completion; returns the executor's exit status (0 when the state file says how
    /// the task ended, 1 when the executor itself could not work).
    public static func run(specPath: String) -> Int32 {
        let spec: ExecutorSpec
        do {
            guard let data = FileManager.default.contents(atPath: specPath) else {
                throw ExecutorError("executor spec \(specPath) cannot be read")
            }
            spec = try JSONDecoder().decode(ExecutorSpec.self, from: data)
        } catch {
            FileHandle.standardError.write("helios executor: \(error)\n".data(using: .utf8)!)
            return 1
        }
        // Stop requests arrive as signals; the handler only records them, the loop below acts.
        helios_install_stop_handlers()
        signal(SIGPIPE, SIG_IGN)

        let pid = getpid()
        var state = ExecutorState(executorPID: pid, executorStartTime: ProcessInfoReader.startTime(of: pid) ?? 0)
        func save() {
            do { try state.save(spec.statePath) } catch { FileHandle.standardError.write("helios executor: \(error)\n".data(using: .utf8)!) }
        }
        // Run as another user: it must exist here, and it gets the task directory (as Nomad does).
        if let user = spec.user, !user.isEmpty {
            guard let entry = getpwnam(user) else {
                state.finished = true
                state.startError = "user '\(user)' does not exist on this node; create it or remove 'user' from the task"
                state.finishedAtMs = nowMs()
                save()
                return 0
            }
            if chown(spec.workingDirectory, entry.pointee.pw_uid, entry.pointee.pw_gid) != 0 {
                state.finished = true
                state.startError = "chown \(spec.workingDirectory) to user '\(user)': \(String(cString: strerror(errno))) (the agent must run as root to switch users)"
                state.finishedAtMs = nowMs()
                save()
                return 0
            }
        }
        let cgroup = Cgroup.create(
            name: "\(spec.allocationID)-\(spec.task)", memoryBytes: spec.memoryLimitBytes, cpuShares: spec.cpuShares)
        state.limits = cgroup.enforcement
        // Join the group before forking so the task starts inside it, then leave it.
        try? cgroup.add(pid)

        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            state.finished = true
            state.startError = "cannot create pipes: \(String(cString: strerror(errno)))"
            save()
            return 1
        }
        var command = spec.command
        var arguments = [spec.command] + spec.arguments
        if let user = spec.user, !user.isEmpty {
            command = "/usr/sbin/runuser"
            arguments = ["runuser", "-u", user, "--"] + [spec.command] + spec.arguments
        }
        let resolved = resolve(command, path: spec.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
        let environment = spec.environment.map { "\($0.key)=\($0.value)" }.sorted()
        var spawnError: Int32 = 0
        var failedStep: UnsafePointer<CChar>?
        let child: pid_t = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                helios_spawn(resolved, argv, envp, spec.workingDirectory, outPipe[1], errPipe[1], 0, &spawnError, &failedStep)
            }
        }
        close(outPipe[1])
        close(errPipe[1])
        cgroup.removeToRoot(pid)
        guard child > 0 else {
            let step = failedStep.map { String(cString: $0) } ?? "spawn"
            let target = step == "chdir" ? spec.workingDirectory : resolved
            state.finished = true
            state.startError = "\(step) \(target): \(String(cString: strerror(spawnError)))"
            state.finishedAtMs = nowMs()
            save()
            cgroup.remove()
            return 0
        }
        state.taskPID = child
        state.startedAtMs = nowMs()
        save()

        let pumps = [
            pump(outPipe[0], spec: spec, stream: "stdout"),
            pump(errPipe[0], spec: spec, stream: "stderr"),
        ]
        var status: Int32 = 0
        var killDeadline: ContinuousClock.Instant?
        while true {
            let result = waitpid(child, &status, WNOHANG)
            if result == child { break }
            if result < 0 && errno != EINTR { break }
            if helios_stop_requested() != 0 && killDeadline == nil {
                state.stopRequested = true
                kill(-child, spec.killSignal)
                killDeadline = .now + .milliseconds(Int64(spec.killTimeoutMs))
            }
            if let deadline = killDeadline, ContinuousClock.now >= deadline {
                kill(-child, SIGKILL)
                killDeadline = .now + .seconds(3600)
            }
            usleep(20_000)
        }
        // Nothing of the task may outlive it (daemons it forked in its group included).
        kill(-child, SIGKILL)
        for thread in pumps { thread.waitUntilDone() }
        if (status & 0x7F) == 0 {
            state.exitCode = (status >> 8) & 0xFF
        } else {
            state.signal = status & 0x7F
        }
        state.oomKilled = cgroup.oomKilled
        state.finished = true
        state.finishedAtMs = nowMs()
        save()
        cgroup.remove()
        return 0
    }

    static func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// The executable for `command`: as given if it contains a '/', else the first match on `path`.
    static func resolve(_ command: String, path: String) -> String {
        if command.contains("/") { return command }
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return command  // execve reports it missing
    }

    /// Copies a pipe into rotating files until it closes.
    static func pump(_ fd: Int32, spec: ExecutorSpec, stream: String) -> PumpThread {
        let thread = PumpThread {
            defer { close(fd) }
            guard let writer = try? RotatingLogWriter(
                directory: spec.logDirectory, task: spec.task, stream: stream, maxFiles: spec.maxLogFiles, maxBytes: spec.maxLogFileBytes)
            else {
                // Still drain the pipe so the task never blocks on a full pipe.
                var sink = [UInt8](repeating: 0, count: 65536)
                while read(fd, &sink, sink.count) > 0 {}
                return
            }
            defer { writer.close() }
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                buffer.withUnsafeBytes { try? writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
        }
        thread.start()
        return thread
    }

    /// Calls `body` with a NULL-terminated C array of the strings.
    static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// A thread whose end can be awaited.
final class PumpThread: @unchecked Sendable {
    // @unchecked: `done` is a semaphore; the body runs once on the thread.
    private let body: @Sendable () -> Void
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    func start() {
        let thread = Thread { [body, done] in
            body()
            done.signal()
        }
        thread.start()
    }

    func waitUntilDone() { done.wait() }
}
