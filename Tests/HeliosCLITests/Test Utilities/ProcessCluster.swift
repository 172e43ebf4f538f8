import Foundation
import HeliosTesting
import Synchronization
import Testing

/// A cluster of real `helios server` and `helios agent` processes on free loopback ports, in a
/// temporary directory. ``shutdown()`` stops exactly the processes it started, by pid (SIGTERM, then
/// SIGKILL after 10 s); agents run with --stop-tasks-on-shutdown so no task outlives the test.
final class ProcessCluster: Sendable {
    let directory: TemporaryDirectory
    let serverPorts: [Int]
    let agentPorts: [Int]
    private let processes = Mutex<[(name: String, process: Process)]>([])

    var serverAddresses: String { serverPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") }

    private init(servers: Int, agents: Int) throws {
        directory = try TemporaryDirectory("cli-cluster")
        let ports = try FreePorts.pick(servers + agents)
        serverPorts = Array(ports.prefix(servers))
        agentPorts = Array(ports.dropFirst(servers))
    }

    /// Runs `body` with a started cluster (a leader elected, every agent ready); always cleans up.
    static func with(servers: Int = 3, agents: Int = 3, _ body: (ProcessCluster) async throws -> Void) async throws {
        let cluster = try ProcessCluster(servers: servers, agents: agents)
        do {
            try await cluster.start()
            try await body(cluster)
        } catch {
            await cluster.shutdown(dumpLogs: true)
            throw error
        }
        await cluster.shutdown(dumpLogs: false)
    }

    private func start() async throws {
        let peers = serverPorts.enumerated().flatMap { ["--peer", "\($0.offset + 1)=127.0.0.1:\($0.element)"] }
        for (i, port) in serverPorts.enumerated() {
            var arguments = ["server", "--node-id", "\(i + 1)", "--rpc-addr", "127.0.0.1:\(port)", "--data-dir", directory.appending("server\(i + 1)"),
                             ] + peers
            if i == 0 { arguments.append("--bootstrap") }
            try launch("server\(i + 1)", arguments)
        }
        try await waitFor("a leader", timeout: .seconds(30)) {
            (try? await runHelios(["operator", "raft", "list-peers", "--server-addr", self.serverAddresses, "--retry-timeout", "1"], timeout: .seconds(10)))?.stdout.contains("leader") == true
        }
        for (i, port) in agentPorts.enumerated() {
            try launch("agent\(i + 1)", ["agent", "--node-id", "agent\(i + 1)", "--server-addr", serverAddresses, "--client-rpc-addr", "127.0.0.1:\(port)",
                                         "--data-dir", "agent\(i + 1)", "--stop-tasks-on-shutdown"])  // relative to the cluster directory
        }
        try await waitFor("\(agentPorts.count) ready agents", timeout: .seconds(30)) {
            let output = try? await runHelios(["node", "list", "--server-addr", self.serverAddresses], timeout: .seconds(10))
            return output?.stdout.split(separator: "\n").filter { $0.split(separator: " ").contains("ready") }.count == self.agentPorts.count
        }
    }

    private func launch(_ name: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = heliosBinary()
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        let log = directory.appending("\(name).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes.withLock { $0.append((name, process)) }
    }

    /// Runs the CLI against this cluster (addressed through HELIOS_ADDR, as a user would set it).
    func helios(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> ProcessOutput {
        try await runHelios(arguments, environment: ["HELIOS_ADDR": serverAddresses], timeout: timeout)
    }

    func shutdown(dumpLogs: Bool) async {
        let started = processes.withLock { $0 }
        // Agents first (they stop their tasks), then servers.
        for (_, process) in started.reversed() where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, started.contains(where: { $0.process.isRunning }) { try? await Task.sleep(for: .milliseconds(100)) }
        for (_, process) in started where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for (_, process) in started { process.waitUntilExit() }
        if dumpLogs {
            for (name, _) in started {
                let text = (try? String(contentsOfFile: directory.appending("\(name).log"), encoding: .utf8)) ?? ""
                print("---- \(name) (last lines)\n" + text.split(separator: "\n").suffix(15).joined(separator: "\n"))
            }
        }
        directory.remove()
    }
}

/// Polls `condition` every 200 ms until it holds; fails after `timeout`.
func waitFor(_ what: String, timeout: Duration, _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw WaitTimeout(description: "timed out after \(timeout) waiting for \(what)")
}

struct WaitTimeout: Error, CustomStringConvertible {
    var description: String
}
