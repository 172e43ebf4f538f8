import Foundation

/// What `helios executor` runs: written by the agent as JSON next to the task's directory. The
/// executor is a separate process (its own session), so tasks and their log collection survive an
/// agent restart, as with Nomad's executor.
public struct ExecutorSpec: Codable, Sendable, Equatable {
    public var allocationID: String
    public var task: String
    public var command: String
    public var arguments: [String]
    public var environment: [String: String]
    public var workingDirectory: String
    /// Run as this user (through `runuser`), nil for the agent's user.
    public var user: String?
    /// Where `<task>.stdout.<n>` and `<task>.stderr.<n>` go.
    public var logDirectory: String
    public var maxLogFiles: Int
    public var maxLogFileBytes: Int
    /// The signal that asks the task to stop (then SIGKILL after `killTimeoutMs`).
    public var killSignal: Int32
    public var killTimeoutMs: UInt64
    /// Limits, enforced with cgroups where writable.
    public var memoryLimitBytes: UInt64
    public var cpuShares: UInt64
    /// Where the executor keeps its ``ExecutorState``.
    public var statePath: String

    public init(
        allocationID: String, task: String, command: String, arguments: [String], environment: [String: String],
        workingDirectory: String, user: String?, logDirectory: String, maxLogFiles: Int, maxLogFileBytes: Int, killSignal: Int32,
        killTimeoutMs: UInt64, memoryLimitBytes: UInt64, cpuShares: UInt64, statePath: String
    ) {
        self.allocationID = allocationID
        self.task = task
        self.command = command
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.logDirectory = logDirectory
        self.maxLogFiles = maxLogFiles
        self.maxLogFileBytes = maxLogFileBytes
        self.killSignal = killSignal
        self.killTimeoutMs = killTimeoutMs
        self.memoryLimitBytes = memoryLimitBytes
        self.cpuShares = cpuShares
        self.statePath = statePath
    }
}

/// What the executor reports about its task (rewritten atomically on every change).
public struct ExecutorState: Codable, Sendable, Equatable {
    public var executorPID: Int32
    /// The executor's start time in clock ticks since boot (`/proc/<pid>/stat` field 22), so a
    /// recycled pid is not mistaken for it.
    public var executorStartTime: UInt64
    public var taskPID: Int32?
    public var startedAtMs: UInt64?
    /// Set once the task ended (or could not start).
    public var finished: Bool = false
    public var exitCode: Int32?
    public var signal: Int32?
    public var oomKilled: Bool = false
    /// Why the task could not start (e.g. `execve /no/such: No such file or directory`).
    public var startError: String?
    /// How the limits are enforced, or why they are not.
    public var limits: String = ""
    public var finishedAtMs: UInt64?
    /// Set when the executor stopped the task on request.
    public var stopRequested: Bool = false

    public init(executorPID: Int32, executorStartTime: UInt64) {
        self.executorPID = executorPID
        self.executorStartTime = executorStartTime
    }

    /// Reads the state file; nil if it does not exist or cannot be parsed yet.
    public static func load(_ path: String) -> ExecutorState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(ExecutorState.self, from: data)
    }

    /// Writes the state atomically (temporary file, then rename).
    public func save(_ path: String) throws {
        let data = try JSONEncoder().encode(self)
        let temporary = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            throw ExecutorError("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// An executor problem, with what went wrong and where.
public struct ExecutorError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Process facts from /proc.
public enum ProcessInfoReader {
    /// The start time of `pid` in clock ticks since boot, nil if there is no such process.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may contain spaces) start at field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// Whether `pid` is the process that started at `startTime` and has not exited (zombies count as exited).
    public static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return false }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return false }
        return UInt64(fields[19]) == startTime
    }
}
