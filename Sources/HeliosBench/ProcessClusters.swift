import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosBenchProto
import HeliosProto
import HeliosTesting
import SwiftProtobuf

/// Measures the time from killing the leader to the first write a survivor acknowledges.
protocol FailoverCluster: AnyObject {
    var processes: ChildProcesses { get }
    var clients: [UInt64: GRPCClient<HTTP2ClientTransport.Posix>] { get }
    func leader() async throws -> UInt64
    func launch(_ id: UInt64, first: Bool) throws
    func write(via id: UInt64, key: String) async throws
    /// The name the member's process was started under.
    func name(_ id: UInt64) -> String
}

extension FailoverCluster {
    var ids: [UInt64] { clients.keys.sorted() }

    /// The pids of the members that run now.
    var pids: [Int32] { ids.compactMap { processes.pid(name($0)) } }

    /// A CPU meter over the members, with `leader`'s share apart.
    func meter(leader: UInt64) -> CPUMeter { CPUMeter(pids: pids, leader: processes.pid(name(leader))) }

    /// Starts every member of a new cluster and waits for a leader.
    func start() async throws {
        for id in ids { try launch(id, first: true) }
        try await waitUntilAllAgree()
    }

    func close() {
        for client in clients.values { client.beginGracefulShutdown() }
    }

    func failover() async throws -> Double {
        let leader = try await waitUntilAllAgree()
        let survivors = ids.filter { $0 != leader }
        let clock = ContinuousClock()
        processes.kill(name(leader))
        let killed = clock.now
        var attempt = 0
        while clock.now - killed < .seconds(30) {
            let target = survivors[attempt % survivors.count]
            attempt += 1
            do {
                try await write(via: target, key: "failover-\(UInt64.random(in: 0...UInt64.max))")
                let elapsed = (clock.now - killed).microseconds / 1000
                FileHandle.standardError.write("\(name(leader)) killed; a write was acknowledged after \(Int(elapsed)) ms; restarting it\n".data(using: .utf8)!)
                try launch(leader, first: false)
                try await waitUntilAllAgree()
                return elapsed
            } catch {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        throw BenchmarkError("no write was acknowledged within 30 s of killing leader \(leader)")
    }

    /// Waits until every member reports the same leader (the restarted one has rejoined); returns it.
    @discardableResult
    func waitUntilAllAgree() async throws -> UInt64 {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let leader = try? await leader() { return leader }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchmarkError("the members did not agree on a leader within 30 s")
    }
}

func makeClient(port: Int) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    var config = HTTP2ClientTransport.Posix.Config.defaults
    config.backoff = .init(initial: .milliseconds(20), max: .milliseconds(500), multiplier: 1.6, jitter: 0.2)
    let transport = try HTTP2ClientTransport.Posix(
        target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext, config: config)
    let client = GRPCClient(transport: transport)
    Task { try? await client.runConnections() }
    return client
}

func callOptions(timeout: Duration) -> CallOptions {
    var options = CallOptions.defaults
    options.timeout = timeout
    return options
}

/// Three `helios server` processes.
final class HeliosProcessCluster: FailoverCluster {
    let binary: String
    let directory: String
    let processes: ChildProcesses
    let ports: [UInt64: Int]
    let clients: [UInt64: GRPCClient<HTTP2ClientTransport.Posix>]
    /// The servers' `--rpc-stack`, when not their default.
    let rpcStack: String?

    init(binary: String, directory: String, processes: ChildProcesses, rpcStack: String? = nil) throws {
        self.binary = binary
        self.rpcStack = rpcStack
        self.directory = directory
        self.processes = processes
        let picked = try FreePorts.pick(3)
        var ports: [UInt64: Int] = [:]
        var clients: [UInt64: GRPCClient<HTTP2ClientTransport.Posix>] = [:]
        for (i, port) in picked.enumerated() {
            ports[UInt64(i + 1)] = port
            clients[UInt64(i + 1)] = try makeClient(port: port)
        }
        self.ports = ports
        self.clients = clients
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func name(_ id: UInt64) -> String { "helios-\(id)" }

    func launch(_ id: UInt64, first: Bool) throws {
        var arguments = ["server", "--node-id", "\(id)", "--rpc-addr", "127.0.0.1:\(ports[id]!)", "--data-dir", "\(directory)/node\(id)",
                         "--log-level", "info"]
        for (peer, port) in ports.sorted(by: { $0.key < $1.key }) { arguments += ["--peer", "\(peer)=127.0.0.1:\(port)"] }
        if first && id == 1 { arguments.append("--bootstrap") }
        if let rpcStack { arguments += ["--rpc-stack", rpcStack] }
        try processes.start(name(id), binary, arguments, log: "\(directory)/node\(id).log")
    }

    func leader() async throws -> UInt64 {
        var leaders: Set<UInt64> = []
        for (id, client) in clients {
            guard processes.isRunning(name(id)) else { continue }
            let info = try await Helios_V1_Operator.Client(wrapping: client).clusterInfo(.init(), options: callOptions(timeout: .seconds(1)))
            leaders.insert(info.leaderID)
        }
        guard leaders.count == 1, let leader = leaders.first, leader != 0 else { throw BenchmarkError("no agreed leader: \(leaders)") }
        return leader
    }

    /// Waits until the cluster has no work left: the leader's applied index has stayed put for
    /// `quiet` (a registration is acknowledged before its evaluation is planned and completed, so the
    /// leader may still be working through evaluations). Returns the seconds until the last change.
    func waitUntilIdle(leader: UInt64, quiet: Duration = .milliseconds(600), limit: Duration = .seconds(180)) async throws -> Double {
        let operations = Helios_V1_Operator.Client(wrapping: clients[leader]!)
        let clock = ContinuousClock()
        let start = clock.now
        var lastChange = start
        var lastIndex: UInt64?
        while clock.now - lastChange < quiet {
            guard clock.now - start < limit else { throw BenchmarkError("helios-\(leader) was still applying entries \(limit) after the round") }
            let index = try await operations.clusterInfo(.init(), options: callOptions(timeout: .seconds(1))).appliedIndex
            if index != lastIndex {
                if lastIndex != nil { lastChange = clock.now }
                lastIndex = index
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return (lastChange - start).microseconds / 1e6
    }

    func write(via id: UInt64, key: String) async throws {
        _ = try await Helios_V1_Jobs.Client(wrapping: clients[id]!).register(
            .with { $0.spec = benchSpec(key) }, options: callOptions(timeout: .milliseconds(500)))
    }
}

/// Three etcd members (Debian's etcd-server, 3.4), default heartbeat and election timeout.
final class EtcdProcessCluster: FailoverCluster {
    let binary: String
    let directory: String
    let processes: ChildProcesses
    let clientPorts: [UInt64: Int]
    let peerPorts: [UInt64: Int]
    let clients: [UInt64: GRPCClient<HTTP2ClientTransport.Posix>]
    /// etcd member ids (from Status) by our index.
    private var memberIDs: [UInt64: UInt64] = [:]

    init(binary: String, directory: String, processes: ChildProcesses) throws {
        self.binary = binary
        self.directory = directory
        self.processes = processes
        let picked = try FreePorts.pick(6)
        var clientPorts: [UInt64: Int] = [:]
        var peerPorts: [UInt64: Int] = [:]
        var clients: [UInt64: GRPCClient<HTTP2ClientTransport.Posix>] = [:]
        for i in 0..<3 {
            clientPorts[UInt64(i + 1)] = picked[i]
            peerPorts[UInt64(i + 1)] = picked[i + 3]
            clients[UInt64(i + 1)] = try makeClient(port: picked[i])
        }
        self.clientPorts = clientPorts
        self.peerPorts = peerPorts
        self.clients = clients
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func name(_ id: UInt64) -> String { "etcd-\(id)" }

    func launch(_ id: UInt64, first: Bool) throws {
        let cluster = peerPorts.sorted { $0.key < $1.key }.map { "e\($0.key)=http://127.0.0.1:\($0.value)" }.joined(separator: ",")
        let arguments = [
            "--name", "e\(id)", "--data-dir", "\(directory)/e\(id)",
            "--listen-client-urls", "http://127.0.0.1:\(clientPorts[id]!)", "--advertise-client-urls", "http://127.0.0.1:\(clientPorts[id]!)",
            "--listen-peer-urls", "http://127.0.0.1:\(peerPorts[id]!)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPorts[id]!)",
            "--initial-cluster", cluster, "--initial-cluster-state", first ? "new" : "existing", "--initial-cluster-token", "helios-bench",
            "--logger", "zap", "--log-level", "warn",
        ]
        try processes.start(name(id), binary, arguments, log: "\(directory)/e\(id).log")
    }

    func leader() async throws -> UInt64 {
        var leaders: Set<UInt64> = []
        for (id, client) in clients {
            guard processes.isRunning(name(id)) else { continue }
            let status = try await Etcdserverpb_Maintenance.Client(wrapping: client).status(.init(), options: callOptions(timeout: .seconds(1)))
            memberIDs[id] = status.header.memberID
            leaders.insert(status.leader)
        }
        guard leaders.count == 1, let leader = leaders.first, leader != 0,
            let index = memberIDs.first(where: { $0.value == leader })?.key
        else { throw BenchmarkError("no agreed etcd leader: \(leaders)") }
        return index
    }

    func write(via id: UInt64, key: String) async throws {
        _ = try await Etcdserverpb_KV.Client(wrapping: clients[id]!).put(
            .with {
                $0.key = Data(key.utf8)
                $0.value = Data(repeating: 0x61, count: 256)
            }, options: callOptions(timeout: .milliseconds(500)))
    }
}
