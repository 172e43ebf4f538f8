import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosBenchProto
import HeliosProto
import HeliosTesting
import SwiftProtobuf
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `helios-bench cluster`: durable replicated writes on a 3-server Helios cluster (job
/// registrations) and, in the same run with the same load generator, on a 3-member etcd 3.4 cluster
/// (256-byte puts); then leader failover times for both. All processes are started here, on
/// loopback, with their data on disk, and killed by pid at the end.
struct ClusterBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Replicated write throughput/latency and failover, next to etcd.")

    @Option(help: "The helios binary (default: next to helios-bench).") var helios: String?
    @Option(help: "The etcd binary (Debian etcd-server).") var etcd = "/usr/bin/etcd"
    @Option(help: "Where data directories and logs go (emptied first).") var directory = ".build-bench/cluster"
    @Option(parsing: .upToNextOption, help: "Concurrency levels.") var concurrency: [Int] = [1, 16, 64, 256]
    @Option(help: "Measured seconds per round, level and system.") var seconds: Double = 5
    @Option(help: "Warm-up seconds before each measurement.") var warmup: Double = 1
    @Option(help: "Leader kills per system.") var failovers = 3
    @Option(help: "Rounds per concurrency level, alternating Helios and etcd.") var rounds = 3
    @Option(help: "HTTP/2 connections from the load generator to the leader; the workers share them round-robin.")
    var connections = 1
    @Option(help: "The Helios servers' gRPC server (their --rpc-stack: edge or grpc-swift; default: theirs).")
    var rpcStack: String?
    @Flag(inversion: .prefixedNo, help: "Also measure a local call per round (no Raft, no disk; see --floor-call): what each gRPC stack alone allows.")
    var floor = true
    @Option(help: "The local call of the --floor rounds: 'read' (a stale job read, a serializable range) or 'health' (grpc.health.v1 Check on both: the cheapest unary call).")
    var floorCall: FloorCall = .health

    enum FloorCall: String, ExpressibleByArgument, Sendable {
        case read, health

        /// How the tables name the call on Helios and on etcd.
        var names: (helios: String, etcd: String) {
            switch self {
            case .read: ("stale reads", "serializable reads")
            case .health: ("health checks", "health checks")
            }
        }
    }

    func run() async throws {
        let heliosPath = helios ?? (URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/helios")
        guard FileManager.default.isExecutableFile(atPath: heliosPath) else {
            throw ValidationError("no helios binary at \(heliosPath); build it with 'swift build -c release --product helios'")
        }
        guard FileManager.default.isExecutableFile(atPath: etcd) else {
            throw ValidationError("no etcd at \(etcd); install Debian's etcd-server (tools/setup --bench)")
        }
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let processes = ChildProcesses()
        defer { processes.killAll() }
        let heliosCluster = try HeliosProcessCluster(binary: heliosPath, directory: directory + "/helios", processes: processes, rpcStack: rpcStack)
        let etcdCluster = try EtcdProcessCluster(binary: etcd, directory: directory + "/etcd", processes: processes)
        try await heliosCluster.start()
        try await etcdCluster.start()
        defer {
            heliosCluster.close()
            etcdCluster.close()
        }

        print("Durable replicated writes, 3 members each on loopback, \(connections) HTTP/2 connection\(connections == 1 ? "" : "s") to the leader; "
            + "per level \(rounds) rounds alternating Helios and etcd, \(fixed(seconds, 0)) s each after \(fixed(warmup, 0)) s warm-up; "
            + "each column is the median over the rounds, the ratio the median of the rounds' ratios.\n")
        print("Helios acknowledges a registration once it is committed and applied; its evaluation is planned and "
            + "completed (another entry) by the leader afterwards. When the leader falls behind, the round ends with "
            + "evaluations still to do: 'drain s' is how long it took to finish them, and 'completed/s' counts the round's "
            + "registrations over the round plus that time. The ratio uses completed/s.\n")
        print("| concurrency | Helios registrations/s | drain s | completed/s | p50 ms | p99 ms | etcd puts/s | p50 ms | p99 ms | Helios / etcd | per round |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        let value = Data(repeating: 0x61, count: 256)
        if floor {
            let leader = try await heliosCluster.waitUntilAllAgree()
            _ = try await Helios_V1_Jobs.Client(wrapping: heliosCluster.clients[leader]!).register(.with { $0.spec = benchSpec("floor-probe") })
            let etcdLeader = try await etcdCluster.waitUntilAllAgree()
            _ = try await Etcdserverpb_KV.Client(wrapping: etcdCluster.clients[etcdLeader]!).put(.with {
                $0.key = Data("floor-probe".utf8)
                $0.value = value
            })
        }
        var floorRows: [String] = []
        var cpuRows: [String] = []
        for level in concurrency {
            var heliosResults: [LoadGenerator.Result] = []
            var etcdResults: [LoadGenerator.Result] = []
            var floorResults: [LoadGenerator.Result] = []
            var etcdFloorResults: [LoadGenerator.Result] = []
            var drains: [Double] = []
            // This VM's speed drifts by tens of percent within minutes: adjacent Helios and etcd runs
            // see the same machine, so each round gives one ratio.
            for round in 0..<rounds {
                let leader = try await heliosCluster.waitUntilAllAgree()
                heliosResults.append(try await measure(port: heliosCluster.ports[leader]!, concurrency: level, meter: heliosCluster.meter(leader: leader), { Helios_V1_Jobs.Client(wrapping: $0) }) { jobs, worker, i in
                    _ = try await jobs.register(.with { $0.spec = benchSpec("c\(level)-r\(round)-w\(worker)-\(i)") })
                })
                // Registrations are acknowledged before their evaluations run: wait for the leader to
                // finish them, so that work is counted here and does not slow etcd's round down.
                drains.append(try await heliosCluster.waitUntilIdle(leader: leader))
                let etcdLeader = try await etcdCluster.waitUntilAllAgree()
                etcdResults.append(try await measure(port: etcdCluster.clientPorts[etcdLeader]!, concurrency: level, meter: etcdCluster.meter(leader: etcdLeader), { Etcdserverpb_KV.Client(wrapping: $0) }) { kv, worker, i in
                    _ = try await kv.put(.with {
                        $0.key = Data("c\(level)-r\(round)-w\(worker)-\(i)".utf8)
                        $0.value = value
                    })
                })
                if floor {
                    let leader = try await heliosCluster.waitUntilAllAgree()
                    let etcdLeader = try await etcdCluster.waitUntilAllAgree()
                    switch floorCall {
                    case .read:
                        floorResults.append(try await measure(port: heliosCluster.ports[leader]!, concurrency: level, meter: heliosCluster.meter(leader: leader), { Helios_V1_Jobs.Client(wrapping: $0) }) { jobs, _, _ in
                            _ = try await jobs.get(.with {
                                $0.jobID = "floor-probe"
                                $0.read = .with { $0.stale = true }
                            })
                        })
                        etcdFloorResults.append(try await measure(port: etcdCluster.clientPorts[etcdLeader]!, concurrency: level, meter: etcdCluster.meter(leader: etcdLeader), { Etcdserverpb_KV.Client(wrapping: $0) }) { kv, _, _ in
                            _ = try await kv.range(.with {
                                $0.key = Data("floor-probe".utf8)
                                $0.serializable = true
                            })
                        })
                    case .health:
                        floorResults.append(try await measureHealth(port: heliosCluster.ports[leader]!, concurrency: level, meter: heliosCluster.meter(leader: leader)))
                        etcdFloorResults.append(try await measureHealth(port: etcdCluster.clientPorts[etcdLeader]!, concurrency: level, meter: etcdCluster.meter(leader: etcdLeader)))
                    }
                }
            }
            if floor {
                let overPuts = zip(floorResults, etcdResults).map { $0.throughput / max($1.throughput, 1) }
                let overReads = zip(floorResults, etcdFloorResults).map { $0.throughput / max($1.throughput, 1) }
                floorRows.append("| \(level) | \(fixed(median(floorResults.map(\.throughput)), 0)) | \(fixed(median(floorResults.map(\.p50)), 2)) | "
                    + "\(fixed(median(floorResults.map(\.p99)), 2)) | \(fixed(median(etcdFloorResults.map(\.throughput)), 0)) | "
                    + "\(fixed(median(etcdFloorResults.map(\.p50)), 2)) | \(fixed(median(etcdFloorResults.map(\.p99)), 2)) | "
                    + "\(fixed(median(overReads), 2))x | \(fixed(median(overPuts), 2))x |")
            }
            cpuRows.append("| \(level) | \(cpuCell(heliosResults, split: true)) | \(cpuCell(etcdResults, split: true)) | "
                + "\(cpuCell(floorResults)) | \(cpuCell(etcdFloorResults)) | "
                + "\(cpuCell(heliosResults, \.generatorMicroseconds)) | \(cpuCell(etcdResults, \.generatorMicroseconds)) | "
                + "\(cpuBound(heliosResults, etcdResults, floorResults)) |")
            // Completed work per second: the round's registrations over the round plus the time the
            // leader needed afterwards to finish their evaluations.
            let completed = zip(heliosResults, drains).map { Double($0.operations) / (seconds + $1) }
            let ratios = zip(completed, etcdResults).map { $0 / max($1.throughput, 1) }
            print("| \(level) | \(fixed(median(heliosResults.map(\.throughput)), 0)) | \(fixed(median(drains), 2)) | \(fixed(median(completed), 0)) | "
                + "\(fixed(median(heliosResults.map(\.p50)), 2)) | "
                + "\(fixed(median(heliosResults.map(\.p99)), 2)) | \(fixed(median(etcdResults.map(\.throughput)), 0)) | "
                + "\(fixed(median(etcdResults.map(\.p50)), 2)) | \(fixed(median(etcdResults.map(\.p99)), 2)) | \(fixed(median(ratios), 2))x | "
                + ratios.map { fixed($0, 2) }.joined(separator: ", ") + " |")
            for (name, results) in [("Helios", heliosResults), ("etcd", etcdResults), ("Helios \(floorCall.names.helios)", floorResults), ("etcd \(floorCall.names.etcd)", etcdFloorResults)] {
                let errors = results.map(\.errors).reduce(0, +)
                guard errors > 0 else { continue }
                let first = results.compactMap(\.firstError).first ?? "?"
                FileHandle.standardError.write("\(name) at concurrency \(level): \(errors) errors, first: \(first)\n".data(using: .utf8)!)
            }
            fflush(nil)
        }

        if floor {
            let (heliosCall, etcdCall) = floorCall.names
            switch floorCall {
            case .read:
                print("\nThe gRPC stacks alone: local reads with the same load generator after each round's writes, served from the "
                    + "leader's memory with no Raft round and no disk (Helios `Jobs.Get` with `stale`; etcd `Range` of one key with "
                    + "`serializable`). Helios reads / etcd reads compares the two servers' RPC paths (Helios' edge layer on SwiftNIO, or grpc-swift-2 with --rpc-stack grpc-swift; grpc-go); "
                    + "Helios reads / etcd puts bounds what Helios writes could reach on this stack if Raft, the disk and the state cost nothing.\n")
            case .health:
                print("\nThe gRPC stacks alone: `grpc.health.v1.Health/Check` on each leader with the same load generator after each "
                    + "round's writes (the cheapest unary call either server has: no state, no Raft, no disk). The first ratio compares "
                    + "the two servers' RPC paths (Helios' edge layer on SwiftNIO, or grpc-swift-2 with --rpc-stack grpc-swift; grpc-go); the second bounds what Helios writes could reach "
                    + "on this stack if Raft, the disk and the state cost nothing.\n")
            }
            print("| concurrency | Helios \(heliosCall)/s | p50 ms | p99 ms | etcd \(etcdCall)/s | p50 ms | p99 ms | Helios / etcd \(heliosCall == etcdCall ? heliosCall : "reads") | Helios \(heliosCall) / etcd puts |")
            print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for row in floorRows { print(row) }
        }

        print("\nCPU per operation in the measured windows (microseconds of user + system time, medians over the rounds): "
            + "the three servers of each system (from /proc/<pid>/stat) and the load generator (getrusage). Both systems and the "
            + "generator share the machine's cores, so throughput follows these sums.\n")
        print("The last column bounds Helios' throughput against etcd's where the cores are saturated (throughput then goes "
            + "as the inverse of CPU per operation): it is etcd's CPU per put (members + generator) over the least a registration "
            + "could cost Helios on this stack, if its leader did no more than serve the cheapest call of the local-call round "
            + "plus what one follower does for the entry (the followers' measured share, times 1.5) and the generator's cost "
            + "per registration. It holds where the cores are saturated ('cores busy': the servers and the generator during the Helios "
            + "round, of \(ProcessInfo.processInfo.activeProcessorCount) cores); below that, latency sets the rate.\n")
        print("| concurrency | Helios servers per registration (leader + followers) | etcd members per put (leader + followers) | "
            + "Helios servers per \(floor ? floorCall.names.helios.dropLast() : "local call") | etcd members per \(floor ? floorCall.names.etcd.dropLast() : "local call") | generator per registration | generator per put | cores busy | bound on Helios / etcd |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in cpuRows { print(row) }

        guard failovers > 0 else { return }
        print("\nLeader failover: kill -9 the leader, then write to the survivors every 10 ms until one is "
            + "acknowledged. Both use a 100 ms heartbeat and a 1 s election timeout (randomized up to 2 s); Helios followers "
            + "also campaign within a few ticks when the leader's peer link closes (docs/raft.md).\n")
        print("| system | failovers | min ms | median ms | max ms |")
        print("|---|---:|---:|---:|---:|")
        var heliosTimes: [Double] = []
        for _ in 0..<failovers { heliosTimes.append(try await heliosCluster.failover()) }
        var etcdTimes: [Double] = []
        for _ in 0..<failovers { etcdTimes.append(try await etcdCluster.failover()) }
        for (name, times) in [("Helios", heliosTimes), ("etcd", etcdTimes)] {
            let sorted = times.sorted()
            print("| \(name) | \(sorted.count) | \(fixed(sorted.first ?? 0, 0)) | \(fixed(sorted[sorted.count / 2], 0)) | \(fixed(sorted.last ?? 0, 0)) |")
        }
    }
}

extension ClusterBenchmark {
    /// The median over the rounds of: etcd's CPU per put (members + generator) over the least CPU a
    /// registration could cost Helios on this stack (the local call's server CPU, the followers' share
    /// times 1.5, the generator's share); and how busy the cores were in the Helios rounds (the bound
    /// holds where they are saturated). "-" without the figures.
    func cpuBound(_ helios: [LoadGenerator.Result], _ etcd: [LoadGenerator.Result], _ floor: [LoadGenerator.Result]) -> String {
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        var bounds: [Double] = []
        var busy: [Double] = []
        for ((registration, put), local) in zip(zip(helios, etcd), floor) {
            guard let servers = registration.serverMicroseconds, let leader = registration.leaderMicroseconds,
                  let generator = registration.generatorMicroseconds, let call = local.serverMicroseconds,
                  let etcdServers = put.serverMicroseconds, let etcdGenerator = put.generatorMicroseconds else { continue }
            busy.append((servers + generator) * registration.throughput / 1_000_000 / cores)
            bounds.append((etcdServers + etcdGenerator) / (call + 1.5 * (servers - leader) + generator))
        }
        guard !bounds.isEmpty else { return "- | -" }
        return "\(fixed(median(busy) * 100, 0))% | \(fixed(median(bounds), 2))x"
    }

    /// The median over the rounds of a CPU figure, "-" without one; with `split`, also the leader's
    /// and the followers' parts ("416 (262 + 154)").
    func cpuCell(_ results: [LoadGenerator.Result], _ value: KeyPath<LoadGenerator.Result, Double?> = \.serverMicroseconds, split: Bool = false) -> String {
        let values = results.compactMap { $0[keyPath: value] }
        guard !values.isEmpty else { return "-" }
        let leaders = results.compactMap(\.leaderMicroseconds)
        guard split, leaders.count == values.count else { return fixed(median(values), 0) }
        let total = median(values)
        let leader = median(leaders)
        return "\(fixed(total, 0)) (\(fixed(leader, 0)) + \(fixed(total - leader, 0)))"
    }

    /// A round of `grpc.health.v1.Health/Check` calls (both systems serve it) against the server at `port`.
    func measureHealth(port: Int, concurrency level: Int, meter: CPUMeter) async throws -> LoadGenerator.Result {
        try await measure(port: port, concurrency: level, meter: meter, { Grpc_Health_V1_Health.Client(wrapping: $0) }) { health, _, _ in
            _ = try await health.check(.init())
        }
    }

    /// One round of the load generator against the server at `port`, through `connections` fresh
    /// clients (each its own HTTP/2 connection, shut down afterwards) that the workers share
    /// round-robin; `call` gets its worker's service client, the worker and the call's number.
    /// `meter` counts the CPU of the system's processes and of the generator in the measured window.
    func measure<Service: Sendable>(
        port: Int, concurrency level: Int, meter: CPUMeter, _ wrap: (GRPCClient<HTTP2ClientTransport.Posix>) -> Service,
        _ call: @escaping @Sendable (Service, Int, Int) async throws -> Void
    ) async throws -> LoadGenerator.Result {
        let clients = try (0..<max(connections, 1)).map { _ in try makeClient(port: port) }
        defer { for client in clients { client.beginGracefulShutdown() } }
        let services = clients.map(wrap)
        return try await LoadGenerator.run(concurrency: level, warmup: warmup, seconds: seconds, meter: meter) { worker, i in
            try await call(services[worker % services.count], worker, i)
        }
    }
}

/// The job each benchmark registration submits (about the size of a small real job).
func benchSpec(_ id: String) -> Helios_V1_JobSpec {
    JobSpecFixture.spec(
        id: id, count: 1, cpu: 100, memory: 64, group: "app", task: "main", command: "/usr/bin/sleep", args: ["3600"], env: [:])
}
