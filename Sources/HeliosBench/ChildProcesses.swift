import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The processes a benchmark started, so each can be killed by its pid (and all of them at the end).
final class ChildProcesses: Sendable {
    private let running = Mutex<[String: Int32]>([:])

    /// Starts `binary` with output to `log`; remembers it under `name`.
    func start(_ name: String, _ binary: String, _ arguments: [String], log: String) throws {
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        output.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        running.withLock { $0[name] = process.processIdentifier }
    }

    /// SIGKILL to the process started as `name` (a crash, not a shutdown).
    func kill(_ name: String) {
        guard let pid = running.withLock({ $0.removeValue(forKey: name) }) else { return }
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    func isRunning(_ name: String) -> Bool { running.withLock { $0[name] != nil } }

    func killAll() {
        for name in running.withLock({ Array($0.keys) }) { kill(name) }
    }
}
