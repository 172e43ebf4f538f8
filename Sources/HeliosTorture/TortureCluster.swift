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
    /// With disk faults: server 3's data directory on its own small file system.
    let disks: DiskLab?
    /// The servers' `--snapshot-every` (nil: their default).
    let snapshotEvery: UInt64?
    /// The servers' `--rpc-stack` (nil: their default).
    let rpcStack: String?

    init(binary: String, directory: String, lab: NetworkLab?, disks: DiskLab?, snapshotEvery: UInt64? = nil, rpcStack: String? = nil) throws {
        self.binary = binary
        self.directory = directory
        self.lab = lab
        self.disks = disks
        self.snapshotEvery = snapshotEvery
        self.rpcStack = rpcStack
        ports = try FreePorts.pick(3)
    }

    var ids: [UInt64] { [1, 2, 3] }
    func address(_ id: UInt64) -> String {
        if let lab { return "\(lab.address(id)):50051" }
        return "127.0.0.1:\(ports[Int(id) - 1])"
    }
    var addresses: [String] { ids.map(address) }
    func name(_ id: UInt64) -> String { "server\(id)" }
    func dataDirectory(_ id: UInt64) -> String {
        if let disks, id == disks.fullDiskServer { return disks.mount + "/server\(id)" }
        return directory + "/server\(id)"
    }

    func start(_ id: UInt64, bootstrap: Bool = false) throws {
        // Small segments: rolls (file creation, preallocation, directory syncs) happen every few seconds.
        var arguments = ["server", "--node-id", "\(id)", "--rpc-addr", address(id), "--data-dir", dataDirectory(id), "--log-level", "info",
                         "--segment-size", "256KiB"]
        for peer in ids { arguments += ["--peer", "\(peer)=\(address(peer))"] }
        if bootstrap { arguments.append("--bootstrap") }
        if let snapshotEvery { arguments += ["--snapshot-every", "\(snapshotEvery)"] }
        if let rpcStack { arguments += ["--rpc-stack", rpcStack] }
        if let lab {
            // `ip netns exec` execs the server in the namespace (same pid, so kills still hit it).
            try processes.start(name(id), "/usr/sbin/ip", ["netns", "exec", lab.namespace(id), binary] + arguments, log: directory + "/server\(id).log")
        } else {
            try processes.start(name(id), binary, arguments, log: directory + "/server\(id).log")
        }
    }

    /// Starts every server that is not running; returns those that had exited by themselves (a
    /// crash the round did not cause, or a stop on a full disk) with how they ended.
    @discardableResult
    func startAll(first: Bool) throws -> [UInt64: String] {
        var exited: [UInt64: String] = [:]
        for id in ids {
            if let how = processes.exitedByItself(name(id)) { exited[id] = how }
            if !processes.isRunning(name(id)) { try start(id, bootstrap: first && id == 1) }
        }
        return exited
    }

    /// The last `lines` lines of server `id`'s log.
    func logTail(_ id: UInt64, lines: Int = 5) -> String {
        let text = (try? String(contentsOfFile: directory + "/server\(id).log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
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
        throw TortureError("no leader all running servers agree on within \(timeout): \(views.joined(separator: "; ")); logs in \(directory)\(dumpStacks())")
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
        throw TortureError("servers did not converge within \(timeout): applied \(last.mapValues(\.appliedIndex))\(dumpStacks())")
    }

    /// Every running server's thread stacks (gdb, if installed) in `server<N>.stacks.txt` of the run's
    /// directory, for a failure where a server stopped answering or moving: returns where they are.
    func dumpStacks() -> String {
        let gdb = "/usr/bin/gdb"
        guard FileManager.default.isExecutableFile(atPath: gdb) else { return "" }
        var written: [String] = []
        for id in ids {
            guard let pid = processes.pid(name(id)), kill(pid, 0) == 0 else { continue }
            let path = directory + "/server\(id).stacks.txt"
            guard let (_, output) = try? ChildProcesses.runToEnd(gdb, ["-p", "\(pid)", "-batch", "-ex", "thread apply all bt 40"], limit: 60),
                  (try? output.write(toFile: path, atomically: true, encoding: .utf8)) != nil
            else { continue }
            written.append(path)
        }
        return written.isEmpty ? "" : "; thread stacks in \(written.joined(separator: ", "))"
    }

    /// `helios operator log verify` on server `id`'s data directory (it must not be running); nil
    /// when clean, else what failed.
    func verify(_ id: UInt64) throws -> String? {
        let (status, output) = try ChildProcesses.runToEnd(binary, ["operator", "log", "verify", "--data-dir", dataDirectory(id)], limit: 120)
        guard status != 0 else { return nil }
        return "helios operator log verify failed on \(dataDirectory(id)): \(output.suffix(500))"
    }

    /// Stops server `id` gracefully, verifies its log offline, restarts it and waits until every
    /// server agrees on a leader again; nil when clean.
    func verifyOffline(_ id: UInt64) async throws -> String? {
        let stopped = processes.terminate(name(id))  // SIGKILL after 10 s
        let problem = try verify(id)
        try start(id)
        _ = try await waitForLeader(timeout: .seconds(30))
        if !stopped { return "server \(id) did not stop within 10 s of SIGTERM; its log ends:\n\(logTail(id))" }
        return problem
    }

    func shutdown() {
        for id in ids { processes.terminate(name(id)) }
    }
}

struct TortureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
