import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosServer
import HeliosTesting
import Logging
import SwiftProtobuf
import Synchronization
import Testing

/// An in-process cluster of real servers: each has its own data directory and serves real gRPC on a
/// loopback port; they replicate over gRPC. Everything is torn down by ``stop()``.
final class TestCluster: Sendable {
    struct Running: Sendable {
        var node: HeliosServerNode
        var task: Task<Void, any Error>
    }

    let directory: TemporaryDirectory
    let peers: [NodeID: String]
    let heartbeatTTL: Duration
    let electionTicks: Int
    let rpcStack: ServerConfiguration.RPCStack
    private let running = Mutex<[NodeID: Running]>([:])
    private let clients = Mutex<[NodeID: (GRPCClient<HTTP2ClientTransport.Posix>, Task<Void, Never>)]>([:])

    init(size: Int = 3, heartbeatTTL: Duration = .seconds(10), electionTicks: Int = 10, rpcStack: ServerConfiguration.RPCStack = .edge) throws {
        directory = try TemporaryDirectory("cluster")
        let ports = try FreePorts.pick(size)
        var peers: [NodeID: String] = [:]
        for (i, port) in ports.enumerated() { peers[NodeID(i + 1)] = "127.0.0.1:\(port)" }
        self.peers = peers
        self.heartbeatTTL = heartbeatTTL
        self.electionTicks = electionTicks
        self.rpcStack = rpcStack
    }

    var ids: [NodeID] { peers.keys.sorted() }

    func configuration(_ id: NodeID, bootstrap: Bool) -> ServerConfiguration {
        var configuration = ServerConfiguration(
            nodeID: id, rpcAddress: peers[id]!, peers: peers, bootstrap: bootstrap, dataDirectory: directory.appending("node\(id)"))
        configuration.rpcStack = rpcStack
        return configuration
    }

    /// Starts every server (server 1 bootstraps), waits for a leader, runs `body`, and tears the
    /// cluster down whatever happens. Ticks are 50 ms; with `electionTicks` far above the default,
    /// server 1 campaigns once all are started (no election timeout would fire within a test).
    static func with(
        size: Int = 3, heartbeatTTL: Duration = .seconds(10), electionTicks: Int = 10, rpcStack: ServerConfiguration.RPCStack = .edge,
        _ body: (TestCluster) async throws -> Void
    ) async throws {
        let cluster = try TestCluster(size: size, heartbeatTTL: heartbeatTTL, electionTicks: electionTicks, rpcStack: rpcStack)
        do {
            for id in cluster.ids { try await cluster.start(id, bootstrap: id == 1) }
            if electionTicks > 10 {
                // Until server 1 has a stream to each peer, its vote requests may be lost: ask again.
                _ = try await eventually(timeout: .seconds(15), "server 1 to win the first election") { () async -> Bool? in
                    cluster.node(1)?.campaign()
                    try? await Task.sleep(for: .milliseconds(200))
                    return (try? await cluster.operators(1).clusterInfo(.init()).leaderID) == 1 ? true : nil
                }
            }
            _ = try await cluster.waitForLeader()
            try await body(cluster)
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
    }

    func start(_ id: NodeID, bootstrap: Bool = false) async throws {
        var logger = Logger(label: "test.server")
        logger.logLevel = ProcessInfo.processInfo.environment["HELIOS_TEST_LOG"] != nil ? .debug : .critical
        logger[metadataKey: "server"] = "\(id)"
        let node = try await HeliosServerNode(
            configuration: configuration(id, bootstrap: bootstrap), logger: logger, tickInterval: .milliseconds(50),
            electionTicks: electionTicks, heartbeatInterval: .milliseconds(300), heartbeatTTL: heartbeatTTL)
        let task = Task { try await node.run() }
        running.withLock { $0[id] = Running(node: node, task: task) }
    }

    /// Stops one server and waits until it has released its data directory.
    func stop(_ id: NodeID) async {
        guard let server = running.withLock({ $0.removeValue(forKey: id) }) else { return }
        server.node.shutdown()
        _ = try? await server.task.value
    }

    /// Stops one server the way SIGTERM does (a leader hands over first); returns whether it did.
    func stopGracefully(_ id: NodeID) async -> Bool {
        guard let server = running.withLock({ $0.removeValue(forKey: id) }) else { return false }
        let handedOver = await server.node.shutdownGracefully()
        _ = try? await server.task.value
        return handedOver
    }

    /// Stops everything and deletes the data directories.
    func shutdown() async {
        for (client, run) in clients.withLock({ dict in defer { dict = [:] }; return Array(dict.values) }) {
            client.beginGracefulShutdown()
            run.cancel()
        }
        for id in ids { await stop(id) }
        directory.remove()
    }

    func node(_ id: NodeID) -> HeliosServerNode? { running.withLock { $0[id]?.node } }

    /// A gRPC client to server `id` (over its loopback port, like any external client).
    func client(_ id: NodeID) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        if let existing = clients.withLock({ $0[id]?.0 }) { return existing }
        let address = peers[id]!.split(separator: ":")
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: String(address[0]), port: Int(address[1])!), transportSecurity: .plaintext)
        let client = GRPCClient(transport: transport)
        let run = Task { _ = try? await client.runConnections() }
        clients.withLock { $0[id] = (client, run) }
        return client
    }

    func jobs(_ id: NodeID) throws -> Helios_V1_Jobs.Client<HTTP2ClientTransport.Posix> { .init(wrapping: try client(id)) }
    func agents(_ id: NodeID) throws -> Helios_V1_Agents.Client<HTTP2ClientTransport.Posix> { .init(wrapping: try client(id)) }
    func nodes(_ id: NodeID) throws -> Helios_V1_Nodes.Client<HTTP2ClientTransport.Posix> { .init(wrapping: try client(id)) }
    func operators(_ id: NodeID) throws -> Helios_V1_Operator.Client<HTTP2ClientTransport.Posix> { .init(wrapping: try client(id)) }
    func allocations(_ id: NodeID) throws -> Helios_V1_Allocations.Client<HTTP2ClientTransport.Posix> { .init(wrapping: try client(id)) }
    func events(_ id: NodeID) throws -> Helios_V1_Events.Client<HTTP2ClientTransport.Posix> { .init(wrapping: try client(id)) }

    /// Waits (at most `timeout`) until the running servers agree on a leader; returns it.
    func waitForLeader(excluding excluded: Set<NodeID> = [], timeout: Duration = .seconds(15)) async throws -> NodeID {
        try await eventually(timeout: timeout, "a leader among \(ids.filter { !excluded.contains($0) })") {
            var leaders: Set<NodeID> = []
            for id in self.ids where !excluded.contains(id) {
                guard let info = try? await self.operators(id).clusterInfo(.init()) else { return nil }
                leaders.insert(info.leaderID)
            }
            guard leaders.count == 1, let leader = leaders.first, leader != 0, !excluded.contains(leader) else { return nil }
            return leader
        }
    }

    /// Waits until every running server has applied `index` and they report the same state digest.
    func waitForConvergence(atLeast index: UInt64, timeout: Duration = .seconds(15)) async throws {
        let running = self.running.withLock { Array($0.keys) }.sorted()
        _ = try await eventually(timeout: timeout, "servers \(running) converging at index \(index)") { () -> Bool? in
            var digests: Set<UInt32> = []
            var applied: Set<UInt64> = []
            for id in running {
                guard let info = try? await self.operators(id).clusterInfo(.with { $0.withStateDigest = true }), info.appliedIndex >= index else {
                    return nil
                }
                digests.insert(info.stateDigest)
                applied.insert(info.appliedIndex)
            }
            return digests.count == 1 && applied.count == 1 ? true : nil
        }
    }
}

/// Polls `body` every 50 ms until it returns a value; fails with `what` after `timeout`.
func eventually<T: Sendable>(
    timeout: Duration, _ what: String, _ body: @Sendable () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try await body() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TimeoutError(what: what, timeout: timeout)
}

struct TimeoutError: Error, CustomStringConvertible {
    var what: String
    var timeout: Duration
    var description: String { "timed out after \(timeout) waiting for \(what)" }
}

/// A minimal valid job spec.
func jobSpec(_ id: String, count: UInt32 = 1, cpu: UInt32 = 100, memory: UInt32 = 64, type: Helios_V1_JobType = .service) -> Helios_V1_JobSpec {
    .with {
        $0.id = id
        $0.type = type
        $0.groups = [.with {
            $0.name = "app"
            $0.count = count
            $0.tasks = [.with {
                $0.name = "main"
                $0.driver = "exec"
                $0.command = "/bin/sleep"
                $0.args = ["3600"]
                $0.resources = .with {
                    $0.cpuMhz = cpu
                    $0.memoryMb = memory
                }
            }]
        }]
    }
}

/// A node as an agent registers it.
func agentNode(_ id: String, cpu: UInt32 = 4000, memory: UInt32 = 8192) -> Helios_V1_NodeInfo {
    .with {
        $0.id = id
        $0.name = id
        $0.datacenter = "dc1"
        $0.address = "127.0.0.1"
        $0.resources = .with {
            $0.cpuMhz = cpu
            $0.memoryMb = memory
        }
        $0.attributes = [.with { $0.key = "kernel.name"; $0.value = "linux" }]
    }
}
