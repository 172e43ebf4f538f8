import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto
import HeliosTesting

/// `helios-torture`: a 3-server cluster of real processes under a recorded write load, broken on
/// purpose in rounds; after each round it checks that nothing acknowledged was lost, that all servers
/// hold byte-identical state, that the recorded history is linearizable, and that every data directory
/// passes `helios operator log verify` (each server in turn stopped gracefully, verified, restarted).
@main
struct HeliosTorture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helios-torture",
        abstract: "Break a 3-server Helios cluster on purpose and check that it loses nothing (loopback only).")

    @Option(help: "Fault rounds (each fault kind in turn).") var rounds = 6
    @Option(help: "Seconds of load before each fault and after it.") var seconds: Double = 2
    @Option(help: "Concurrent clients.") var clients = 8
    @Option(help: "The helios binary (default: next to this one).") var helios: String?
    @Option(help: "Where data and logs go (default: a temporary directory, removed on success).") var directory: String?
    @Option(help: "Stop after this many seconds in total, whatever the rounds.") var timeLimit: Double = 600
    @Option(help: "The servers' --snapshot-every (at least 1000; small values make restarts and lagging followers load snapshots).")
    var snapshotEvery: UInt64?
    @Option(help: "The servers' gRPC server: edge (HeliosEdge, their default) or grpc-swift (grpc-swift-2's server).")
    var rpcStack: String?
    @Flag(help: "Also partition the network (each server in its own network namespace, links cut with ip link; needs root).")
    var partitions = false
    @Flag(help: "Also fill one server's disk (its data directory on a small tmpfs) and slow the leader's disk (a blkio/io cgroup write limit); needs root.")
    var diskFaults = false

    enum Fault: String, CaseIterable {
        case killLeader = "SIGKILL the leader"
        case killFollower = "SIGKILL a follower"
        case killAll = "SIGKILL all three"
        case pauseLeader = "SIGSTOP the leader for 3 s"
        case partitionFollower = "partition a follower for 5 s"
        case partitionLeader = "partition the leader for 5 s"
        case fullDisk = "fill server 3's disk"
        case slowDisk = "slow the leader's disk to 20 writes/s for 5 s"
    }

    func run() async throws {
        let binary = helios ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("helios").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ValidationError("no helios binary at \(binary); build it (swift build --product helios) or pass --helios")
        }
        let base = directory ?? NSTemporaryDirectory() + "helios-torture-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let lab = partitions ? try NetworkLab(ids: [1, 2, 3]) : nil
        defer { lab?.tearDown() }
        let disks = diskFaults ? try DiskLab(directory: base) : nil
        defer { disks?.tearDown() }
        if let disks {
            print("disk faults: server 3's data directory on a tmpfs at \(disks.mount); "
                + (disks.throttle.map { "slow disk through a \($0.description)" } ?? "no blkio/io cgroup here: the slow-disk round is skipped"))
        }
        let cluster = try TortureCluster(binary: binary, directory: base, lab: lab, disks: disks, snapshotEvery: snapshotEvery, rpcStack: rpcStack)
        // Interrupted: kill what was started and delete the namespaces before exiting.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let interrupts = [Int32(SIGINT), Int32(SIGTERM)].map { (number: Int32) -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                cluster.processes.killAll()
                lab?.tearDown()
                disks?.tearDown()
                print("interrupted; data and server logs kept in \(base)")
                Foundation.exit(130)
            }
            source.resume()
            return source
        }
        defer { for source in interrupts { source.cancel() } }
        let faults = Fault.allCases.filter { fault in
            switch fault {
            case .partitionFollower, .partitionLeader: partitions
            case .fullDisk: disks != nil
            case .slowDisk: disks?.throttle != nil
            default: true
            }
        }
        let started = ContinuousClock.now
        try cluster.startAll(first: true)
        defer { cluster.processes.killAll() }
        _ = try await cluster.waitForLeader(timeout: .seconds(30))
        let workload = Workload(cluster: cluster, clients: clients)
        let load = Task { await workload.run() }
        var report = Report()
        var failures: [String] = []
        for round in 0..<rounds {
            if ContinuousClock.now - started > .seconds(timeLimit) { break }
            let fault = faults[round % faults.count]
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            let leader = try await cluster.waitForLeader(timeout: .seconds(30))
            let faultAt = ContinuousClock.now
            var note = ""
            switch fault {
            case .killLeader:
                cluster.processes.kill(cluster.name(leader))
            case .killFollower:
                cluster.processes.kill(cluster.name(cluster.ids.first { $0 != leader }!))
            case .killAll:
                for id in cluster.ids { cluster.processes.kill(cluster.name(id)) }
            case .pauseLeader:
                cluster.processes.signal(cluster.name(leader), SIGSTOP)
                try await Task.sleep(for: .seconds(3))
                cluster.processes.signal(cluster.name(leader), SIGCONT)
            case .partitionFollower, .partitionLeader:
                let target = fault == .partitionLeader ? leader : cluster.ids.first { $0 != leader }!
                try lab?.setConnected(target, false)
                try await Task.sleep(for: .seconds(5))
                try lab?.setConnected(target, true)
            case .fullDisk:
                note = try await fillDisk(cluster, disks!)
            case .slowDisk:
                note = try await slowDisk(cluster, disks!.throttle!, leader: leader, workload: workload)
            }
            try await Task.sleep(for: .milliseconds(500))
            let exited = try cluster.startAll(first: false)
            for (id, how) in exited.sorted(by: { $0.key < $1.key }) where !(fault == .fullDisk && id == disks?.fullDiskServer) {
                failures.append("round \(round + 1): server \(id) exited by itself (\(how)); its log ends:\n\(cluster.logTail(id))")
            }
            _ = try await cluster.waitForLeader(timeout: .seconds(30))
            let recovered = ContinuousClock.now - faultAt
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            // Check with the load paused: every server converges to the same applied index.
            workload.pause()
            let checked = try await check(cluster, workload)
            workload.resume()
            // Every data directory verifies clean after every round: each server in turn is stopped
            // gracefully (the other two keep serving the load), verified offline and restarted.
            var verified = 0
            for id in cluster.ids {
                if let problem = try await cluster.verifyOffline(id) {
                    failures.append("round \(round + 1): \(problem)")
                } else {
                    verified += 1
                }
            }
            report.rounds.append(.init(fault: fault.rawValue, recoverySeconds: recovered.seconds, acknowledged: checked.acknowledged,
                                       lost: checked.lost.count, digests: checked.digests, violations: checked.violations.count,
                                       verified: verified, note: note))
            print(report.rounds.last!.line(round + 1))
            failures += checked.lost.prefix(5).map { "round \(round + 1): acknowledged registration \($0) is missing" }
            failures += checked.violations.prefix(5).map { "round \(round + 1): history not linearizable for \($0)" }
            if Set(checked.digests.values).count != 1 { failures.append("round \(round + 1): state digests differ: \(checked.digests)") }
        }
        load.cancel()
        await load.value
        cluster.shutdown()
        // And once more at the end, after the last shutdown.
        for id in cluster.ids {
            if let problem = try cluster.verify(id) { failures.append(problem) }
        }
        let operations = workload.operations
        report.operations = operations.count
        report.acknowledgedWrites = operations.filter { $0.kind != .get && $0.outcome == .ok }.count
        report.unknownWrites = operations.filter { $0.kind != .get && $0.outcome == .unknown }.count
        report.refused = operations.filter { $0.outcome == .refused }.count
        if report.acknowledgedWrites == 0 { failures.append("no write was acknowledged: the load did not run (refused: \(report.refused))") }
        print(report.summary)
        if failures.isEmpty {
            if directory == nil {
                disks?.tearDown()  // unmount first: a mount point cannot be removed
                try? FileManager.default.removeItem(atPath: base)
            }
            print("OK: no acknowledged write lost, identical state on every server, linearizable history, clean logs")
        } else {
            for failure in failures { print("FAIL: \(failure)") }
            print("data and server logs kept in \(base)")
            throw ExitCode(1)
        }
    }

    /// Fills server 3's file system until the server stops on ENOSPC (or 10 s pass: it may not have
    /// needed a new block), then frees the space; the round restarts it. Says what happened.
    func fillDisk(_ cluster: TortureCluster, _ disks: DiskLab) async throws -> String {
        let id = disks.fullDiskServer
        let taken = try disks.fill()
        let filled = ContinuousClock.now
        let deadline = filled + .seconds(10)
        var stopped: String?
        while ContinuousClock.now < deadline {
            if let how = cluster.processes.exitedByItself(cluster.name(id)) {
                stopped = how
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        disks.drain()
        guard let stopped else { return "server \(id) kept running on a full disk (\(taken) bytes filled) for 10 s" }
        let tail = cluster.logTail(id, lines: 20)
        guard tail.contains("No space left on device") else {
            throw TortureError("server \(id) stopped (\(stopped)) on a full disk without saying so; its log ends:\n\(tail)")
        }
        let after = String(format: "%.1f", (ContinuousClock.now - filled).seconds)
        return "server \(id) stopped on ENOSPC within \(after) s (\(stopped)), restarted after the space was freed"
    }

    /// Moves the leader (or, if it is the tmpfs-backed server, the two others) into the throttled
    /// cgroup for 5 s.
    func slowDisk(_ cluster: TortureCluster, _ throttle: DiskLab.Throttle, leader: UInt64, workload: Workload) async throws -> String {
        let targets = leader == cluster.disks?.fullDiskServer ? cluster.ids.filter { $0 != leader } : [leader]
        var moved: [(Int32, String)] = []
        for id in targets {
            guard let pid = cluster.processes.pid(cluster.name(id)) else { continue }
            moved.append((pid, try throttle.slow(pid)))
        }
        let start = DispatchTime.now().uptimeNanoseconds
        try await Task.sleep(for: .seconds(5))
        let end = DispatchTime.now().uptimeNanoseconds
        for (pid, original) in moved { throttle.release(pid, to: original) }
        // The effect, from the recorded history: writes acknowledged while slowed vs. the 5 s before.
        let writes = workload.operations.filter { $0.kind != .get && $0.outcome == .ok }
        let slowed = writes.filter { $0.completedAt >= start && $0.completedAt < end }.count
        let before = writes.filter { $0.completedAt >= start - (end - start) && $0.completedAt < start }.count
        let servers = targets.map(String.init).joined(separator: " and ")
        return "disk of server \(servers) slowed: \(slowed) writes acknowledged in those 5 s, \(before) in the 5 s before"
    }

    struct Checked {
        var acknowledged: Int
        var lost: [String]
        var digests: [UInt64: UInt32]
        var violations: [String]
    }

    /// Every acknowledged registration on every server (stale reads after convergence: each server's
    /// own state), equal digests, a linearizable history so far.
    func check(_ cluster: TortureCluster, _ workload: Workload) async throws -> Checked {
        // Let in-flight calls finish (they are bounded by the client's 2 s retry timeout).
        try await Task.sleep(for: .seconds(2.5))
        let infos = try await cluster.waitForConvergence(timeout: .seconds(30))
        let acknowledged = workload.acknowledgedRegistrations
        var lost: Set<String> = []
        for id in cluster.ids {
            let client = try HeliosClient(addresses: [cluster.address(id)])
            defer { client.close() }
            let present = Set(try await client.jobs(stale: true).map(\.id))
            lost.formUnion(acknowledged.subtracting(present))
        }
        return Checked(
            acknowledged: acknowledged.count, lost: lost.sorted(), digests: infos.mapValues(\.stateDigest),
            violations: RegistryLinearizability.violations(in: workload.operations))
    }
}

/// What a run did, for people and for docs/reliability.md.
struct Report {
    struct Round {
        var fault: String
        var recoverySeconds: Double
        var acknowledged: Int
        var lost: Int
        var digests: [UInt64: UInt32]
        var violations: Int
        var verified: Int
        var note: String

        func line(_ number: Int) -> String {
            let digest = Set(digests.values).count == 1 ? "equal" : "DIFFER"
            return "round \(number): \(fault): all servers agree on a leader \(String(format: "%.2f", recoverySeconds)) s; "
                + "\(acknowledged) registrations acknowledged so far, \(lost) lost; digests \(digest); \(violations) non-linearizable keys; "
                + "log verify clean on \(verified)/3"
                + (note.isEmpty ? "" : "; \(note)")
        }
    }

    var rounds: [Round] = []
    var operations = 0
    var acknowledgedWrites = 0
    var unknownWrites = 0
    var refused = 0

    var summary: String {
        let recoveries = rounds.map(\.recoverySeconds).sorted()
        let median = recoveries.isEmpty ? 0 : recoveries[recoveries.count / 2]
        return "\(rounds.count) rounds, \(operations) operations, \(acknowledgedWrites) writes acknowledged, \(unknownWrites) without an answer, "
            + "\(rounds.map(\.lost).max() ?? 0) lost; time to a leader after a fault: median \(String(format: "%.2f", median)) s, max \(String(format: "%.2f", recoveries.last ?? 0)) s"
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
