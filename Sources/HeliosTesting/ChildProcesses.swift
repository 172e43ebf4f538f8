import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The processes a benchmark or a fault suite started, so each can be signalled and killed by its pid
/// (and all of them at the end): never a process this program did not start.
public final class ChildProcesses: Sendable {
    private let running = Mutex<[String: Process]>([:])

    public init() {}

    /// Starts `binary` with output to `log`; remembers it under `name`.
    public func start(_ name: String, _ binary: String, _ arguments: [String], log: String) throws {
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        output.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        running.withLock { $0[name] = process }
    }

    /// If the process started as `name` has exited by itself, forgets it and says how it ended
    /// (`exit status 1`, `signal 6`); nil while it runs (or if it was never started).
    public func exitedByItself(_ name: String) -> String? {
        guard let process = running.withLock({ $0[name] }), !process.isRunning else { return nil }
        running.withLock { _ = $0.removeValue(forKey: name) }
        return process.terminationReason == .exit ? "exit status \(process.terminationStatus)" : "signal \(process.terminationStatus)"
    }

    /// SIGKILL to the process started as `name` (a crash, not a shutdown).
    public func kill(_ name: String) {
        guard let pid = running.withLock({ $0.removeValue(forKey: name) })?.processIdentifier else { return }
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    public func isRunning(_ name: String) -> Bool { running.withLock { $0[name] != nil } }

    /// The pid of the process started as `name`, while it runs.
    public func pid(_ name: String) -> Int32? { running.withLock { $0[name]?.processIdentifier } }

    /// Sends `signal` (e.g. SIGSTOP, SIGCONT) to the process started as `name`.
    public func signal(_ name: String, _ signal: Int32) {
        guard let pid = pid(name) else { return }
        _ = Glibc.kill(pid, signal)
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`; returns whether it exited by itself.
    @discardableResult
    public func terminate(_ name: String, grace: Duration = .seconds(10)) -> Bool {
        guard let process = running.withLock({ $0.removeValue(forKey: name) }) else { return true }
        let pid = process.processIdentifier
        _ = Glibc.kill(pid, SIGCONT)
        _ = Glibc.kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            // Foundation's Process may already have reaped it (then waitpid says ECHILD).
            if !process.isRunning { return true }
            if waitpid(pid, &status, WNOHANG) == pid { return true }
            usleep(50_000)
        }
        _ = Glibc.kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
        return false
    }

    /// Runs `binary` to its end with stdout and stderr combined; SIGKILLs it (by pid) if it outlives
    /// `limit`. Returns its exit status and output.
    public static func runToEnd(_ binary: String, _ arguments: [String], limit: TimeInterval) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let pid = process.processIdentifier
        let watchdog = Thread {
            Thread.sleep(forTimeInterval: limit)
            if process.isRunning { _ = Glibc.kill(pid, SIGKILL) }
        }
        watchdog.start()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    public func killAll() {
        for name in running.withLock({ Array($0.keys) }) { kill(name) }
    }
}
