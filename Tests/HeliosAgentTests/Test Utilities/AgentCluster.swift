import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAgent
import HeliosAPI
import HeliosProto
import HeliosServer
import HeliosTesting
import Logging
import SwiftProtobuf
import Synchronization
import Testing

/// One real server (one-member cluster, loopback gRPC) and real agents whose tasks run as real
/// processes through the built `helios executor`. ``shutdown()`` stops everything and kills, by the
/// pids the executors recorded, any task a test left behind.
final class AgentCluster: Sendable {
    let directory: TemporaryDirectory
    let serverAddress: String
    let server: HeliosServerNode
    let serverTask: Task<Void, any Error>
    private let agents = Mutex<[String: (node: HeliosAgentNode, task: Task<Void, any Error>, port: Int)]>([:])
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let clientTask: Task<Void, Never>

    private init(directory: TemporaryDirectory, heartbeatTTL: Duration) async throws {
        self.directory = directory
        let port = try FreePorts.pick(1)[0]
        serverAddress = "127.0.0.1:\(port)"
        var logger = Logger(label: "test.server")
        logger.logLevel = ProcessInfo.processInfo.environment["HELIOS_TEST_LOG"] != nil ? .debug : .critical
        server = try await HeliosServerNode(
            configuration: ServerConfiguration(
                nodeID: 1, rpcAddress: serverAddress, peers: [1: serverAddress], bootstrap: true,
                dataDirectory: directory.appending("server")),
            logger: logger, tickInterval: .milliseconds(50), heartbeatInterval: .milliseconds(300), heartbeatTTL: heartbeatTTL)
        serverTask = Task { [server] in try await server.run() }
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        client = GRPCClient(transport: transport)
        clientTask = Task { [client] in _ = try? await client.runConnections() }
    }

    /// Runs `body` with a fresh server (and whatever agents it starts), tearing everything down after.
    static func with(heartbeatTTL: Duration = .seconds(10), _ body: (AgentCluster) async throws -> Void) async throws {
        let directory = try TemporaryDirectory("agents")
        let cluster: AgentCluster
        do {
            cluster = try await AgentCluster(directory: directory, heartbeatTTL: heartbeatTTL)
        } catch {
            directory.remove()
            throw error
        }
        do {
            _ = try await eventually(timeout: .seconds(10), "the server to lead") { () -> Bool? in
                (try? await cluster.operators.clusterInfo(.init()).leaderID) == 1 ? true : nil
            }
            try await body(cluster)
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
    }

    var jobs: Helios_V1_Jobs.Client<HTTP2ClientTransport.Posix> { .init(wrapping: client) }
    var allocations: Helios_V1_Allocations.Client<HTTP2ClientTransport.Posix> { .init(wrapping: client) }
    var nodes: Helios_V1_Nodes.Client<HTTP2ClientTransport.Posix> { .init(wrapping: client) }
    var operators: Helios_V1_Operator.Client<HTTP2ClientTransport.Posix> { .init(wrapping: client) }

    func agentDirectory(_ id: String) -> String { directory.appending("agent-\(id)") }

    /// Starts an agent (again, with the same data directory, if it ran before) and waits until its
    /// node is ready.
    func startAgent(_ id: String) async throws {
        let known = agents.withLock { $0[id]?.port }
        let port = try known ?? FreePorts.pick(1)[0]
        var logger = Logger(label: "test.agent")
        logger.logLevel = ProcessInfo.processInfo.environment["HELIOS_TEST_LOG"] != nil ? .debug : .critical
        let node = try HeliosAgentNode(
            configuration: AgentConfiguration(
                nodeID: id, servers: [serverAddress], clientRPCAddress: "127.0.0.1:\(port)", dataDirectory: agentDirectory(id),
                executorBinary: heliosBinary().path),
            logger: logger)
        let task = Task { try await node.run() }
        agents.withLock { $0[id] = (node, task, port) }
        _ = try await eventually(timeout: .seconds(10), "node \(id) ready") { () -> Bool? in
            let node = try? await self.nodes.get(.with { $0.nodeID = id }).node
            return node?.status == .ready ? true : nil
        }
    }

    /// Stops an agent process-like: its loops end, its tasks keep running (as after a crash or a
    /// graceful agent shutdown).
    func stopAgent(_ id: String) async {
        guard let agent = agents.withLock({ $0[id] }) else { return }
        agent.node.shutdown()
        _ = try? await agent.task.value
    }

    /// Registers `spec` and waits until `condition` holds for the job's allocations.
    func waitForAllocations(
        _ job: String, timeout: Duration = .seconds(30), _ what: String, _ condition: @escaping @Sendable ([Helios_V1_Allocation]) -> Bool
    ) async throws -> [Helios_V1_Allocation] {
        try await eventually(timeout: timeout, "job \(job): \(what)") { () -> [Helios_V1_Allocation]? in
            guard let response = try? await self.jobs.get(.with { $0.jobID = job }) else { return nil }
            return condition(response.allocations) ? response.allocations : nil
        }
    }

    /// The task pids the executors of an agent recorded, with whether each is still alive.
    func taskProcesses(agent id: String) -> [(pid: Int32, alive: Bool)] {
        let allocs = agentDirectory(id) + "/allocs"
        var found: [(Int32, Bool)] = []
        for allocation in (try? FileManager.default.contentsOfDirectory(atPath: allocs)) ?? [] {
            let directory = allocs + "/" + allocation
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".state.json") {
                guard let state = ExecutorState.load(directory + "/" + name), let pid = state.taskPID else { continue }
                found.append((pid, kill(pid, 0) == 0 && !Self.isZombie(pid)))
            }
        }
        return found
    }

    /// The pids in process group `pgid` that are not zombies (read from /proc).
    static func liveMembers(ofGroup pgid: Int32) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).filter { pid in
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return false }
            let fields = text[text.index(after: close)...].split(separator: " ")
            // fields[0] = state, fields[1] = ppid, fields[2] = pgrp
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == pgid
        }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else {
            return true
        }
        return text[text.index(after: close)...].split(separator: " ").first == "Z"
    }

    func shutdown() async {
        for id in agents.withLock({ Array($0.keys) }) { await stopAgent(id) }
        // Kill what the executors started (their process groups) and the executors, by recorded pid.
        for id in agents.withLock({ Array($0.keys) }) {
            let allocs = agentDirectory(id) + "/allocs"
            for allocation in (try? FileManager.default.contentsOfDirectory(atPath: allocs)) ?? [] {
                let directory = allocs + "/" + allocation
                for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".state.json") {
                    guard let state = ExecutorState.load(directory + "/" + name) else { continue }
                    if ProcessInfoReader.isAlive(state.executorPID, startTime: state.executorStartTime) { kill(state.executorPID, SIGKILL) }
                    if let pid = state.taskPID, !state.finished { kill(-pid, SIGKILL) }
                }
            }
        }
        client.beginGracefulShutdown()
        clientTask.cancel()
        server.shutdown()
        _ = try? await serverTask.value
        directory.remove()
    }
}

/// Polls `body` every 100 ms until it returns a value; fails with `what` after `timeout`.
func eventually<T: Sendable>(timeout: Duration, _ what: String, _ body: @Sendable () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try await body() { return value }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw AgentTestTimeout(description: "timed out after \(timeout) waiting for \(what)")
}

struct AgentTestTimeout: Error, CustomStringConvertible {
    var description: String
}

/// `helios` next to the test bundle (SwiftPM puts products and tests in one folder).
func heliosBinary() -> URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("helios")
}

/// A one-group, one-task job.
func taskJob(
    _ id: String, type: Helios_V1_JobType = .batch, command: String, _ args: [String] = [], count: UInt32 = 1, memory: UInt32 = 64,
    configure: (inout Helios_V1_TaskGroup) -> Void = { _ in }
) -> Helios_V1_JobSpec {
    .with {
        $0.id = id
        $0.type = type
        $0.groups = [.with {
            $0.name = "g"
            $0.count = count
            $0.tasks = [.with {
                $0.name = "t"
                $0.driver = "exec"
                $0.command = command
                $0.args = args
                $0.resources = .with {
                    $0.cpuMhz = 100
                    $0.memoryMb = memory
                }
            }]
            configure(&$0)
        }]
    }
}
