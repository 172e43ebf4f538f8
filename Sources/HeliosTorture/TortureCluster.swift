import Foundation
import HeliosClient
import HeliosProto
import HeliosTesting

/// Three real `helios server` processes on loopback, each with its own data directory, that the
/// fault rounds kill, pause and restart by pid.
final class TortureCluster: Sendable {
    let binary: String
    let directory: String
    let ports: [Int]
    let processes = ChildProcesses()
    /// With partitions: each server in its own network namespace.
    let lab: NetworkLab?

    init(binary: String, directory: String, lab: NetworkLab?) throws {
        self.binary = binary
        self.directory = directory
        self.lab = lab
        ports = try FreePorts.pick(3)
    }

    var ids: [UInt64] { [1, 2, 3] }
    func address(_ id: UInt64) -> String {
        if let lab { return "\(lab.address(id)):50051" }
        return "127.0.0.1:\(ports[Int(id) - 1])"
    }
    var addresses: [String] { ids.map(address) }
    func name(_ id: UInt64) -> String { "server\(id)" }
    func dataDirectory(_ id: UInt64) -> String { directory + "/server\(id)" }

    func start(_ id: UInt64, bootstrap: Bool = false) throws {
        var arguments = ["server", "--node-id", "\(id)", "--rpc-addr", address(id), "--data-dir", dataDirectory(id), "--log-level", "info"]
        for peer in ids { arguments += ["--peer", "\(peer)=\(address(peer))"] }
        if bootstrap { arguments.append("--bootstrap") }
        if let lab {
            // `ip netns exec` execs the server in the namespace (same pid, so kills still hit it).
            try processes.start(name(id), "/usr/sbin/ip", ["netns", "exec", lab.namespace(id), binary] + arguments, log: directory + "/server\(id).log")
        } else {
            try processes.start(name(id), binary, arguments, log: directory + "/server\(id).log")
        }
    }

    func startAll(first: Bool) throws {
        for id in ids where !processes.isRunning(name(id)) { try start(id, bootstrap: first && id == 1) }
    }

    /// Each running server's view (nil for one that does not answer).
    func infos(withStateDigest: Bool = false) async -> [UInt64: Helios_V1_ClusterInfoResponse] {
        var infos: [UInt64: Helios_V1_ClusterInfoResponse] = [:]
        for id in ids where processes.isRunning(name(id)) {
            var configuration = HeliosClient.Configuration()
            configuration.retryTimeout = .milliseconds(300)
            configuration.callTimeout = .seconds(1)
            guard let client = try? HeliosClient(addresses: [address(id)], configuration: configuration) else { continue }
            infos[id] = try? await client.clusterInfo(withStateDigest: withStateDigest)
            client.close()
        }
        return infos
    }

    /// The leader every running server agrees on, within `timeout`.
    func waitForLeader(timeout: Duration) async throws -> UInt64 {
        let deadline = ContinuousClock.now + timeout
        var infos: [UInt64: Helios_V1_ClusterInfoResponse] = [:]
        while ContinuousClock.now < deadline {
            infos = await self.infos()
            let leaders = Set(infos.values.map(\.leaderID))
            if infos.count == ids.filter({ processes.isRunning(name($0)) }).count, leaders.count == 1, let leader = leaders.first, leader != 0 {
                return leader
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let views = ids.map { id -> String in
            let alive = processes.pid(name(id)).map { kill($0, 0) == 0 } ?? false
            guard let info = infos[id] else { return "server \(id): no answer (process \(alive ? "alive" : "gone"))" }
            return "server \(id): leader \(info.leaderID), term \(info.term), applied \(info.appliedIndex)"
        }
        throw TortureError("no leader all running servers agree on within \(timeout): \(views.joined(separator: "; ")); logs in \(directory)")
    }

    /// Waits until every server has applied the same index (no writes running) and returns their
    /// views; the digests must then be equal.
    func waitForConvergence(timeout: Duration) async throws -> [UInt64: Helios_V1_ClusterInfoResponse] {
        let deadline = ContinuousClock.now + timeout
        var last: [UInt64: Helios_V1_ClusterInfoResponse] = [:]
        while ContinuousClock.now < deadline {
            last = await infos()
            let applied = Set(last.values.map(\.appliedIndex))
            if last.count == ids.count, applied.count == 1 {
                // Quiet and equal: now the (costly) digests, which must be taken at that same index.
                let digested = await infos(withStateDigest: true)
                if digested.count == ids.count, Set(digested.values.map(\.appliedIndex)) == applied { return digested }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TortureError("servers did not converge within \(timeout): applied \(last.mapValues(\.appliedIndex))")
    }

    func shutdown() {
        for id in ids { processes.terminate(name(id)) }
    }
}

struct TortureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
