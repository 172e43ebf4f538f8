import ArgumentParser
import Foundation
import HeliosRaft
import HeliosReplication
import HeliosServer
import Logging
import ServiceLifecycle
import UnixSignals

/// `helios server`: runs one server of the Raft cluster until SIGINT/SIGTERM.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run a Helios server (one member of the Raft cluster).",
        discussion: """
            Every server lists all servers, itself included; exactly one bootstraps a new cluster:
              helios server --node-id 1 --rpc-addr 127.0.0.1:50051 \\
                --peer 1=127.0.0.1:50051 --peer 2=127.0.0.1:50052 --peer 3=127.0.0.1:50053 --bootstrap
            Restart a server with the same data directory (and without --bootstrap) to resume it.
            """
    )

    @Option(help: "This server's id (a positive number, unique in the cluster).")
    var nodeID: UInt64

    @Option(help: "host:port to serve gRPC on (API, agents and Raft).")
    var rpcAddr: String

    @Option(help: "A server of the cluster as id=host:port; repeat for every server, this one included.")
    var peer: [String] = []

    @Flag(help: "Write the initial membership of a new cluster (exactly one server, once).")
    var bootstrap = false

    @Option(help: "Where the log, hard state and snapshots live (default: data/node<id>).")
    var dataDir: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(help: "Seconds an agent may stay silent before its node is declared down.")
    var heartbeatTTL: Double = 10

    @Option(help: "Applied entries between automatic snapshots (the log is purged below each, keeping 5000).")
    var snapshotEvery: UInt64 = 100_000

    @Option(help: "Size at which log segments roll, e.g. 64MiB (the default), 8MiB; each segment is preallocated to it.")
    var segmentSize: String = "64MiB"

    @Option(help: .hidden) var rpcStack: String = ServerConfiguration.RPCStack.edge.rawValue

    func validate() throws {
        guard nodeID > 0 else { throw ValidationError("--node-id must be a positive number, got \(nodeID)") }
        guard !peer.isEmpty else {
            throw ValidationError("no --peer given; list every server of the cluster, e.g. --peer \(nodeID)=\(rpcAddr)")
        }
        _ = try parsedPeers()
        try CLILogging.validate(logLevel)
        guard snapshotEvery >= 1_000 else { throw ValidationError("--snapshot-every \(snapshotEvery) is below 1000 entries") }
        _ = try parsedSegmentSize()
        guard heartbeatTTL >= 1 else { throw ValidationError("--heartbeat-ttl \(heartbeatTTL) is below 1 second") }
        guard ServerConfiguration.RPCStack(rawValue: rpcStack) != nil else {
            throw ValidationError("--rpc-stack \(rpcStack) is not one of \(ServerConfiguration.RPCStack.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// `--segment-size` in bytes: a number with an optional KiB/MiB/GiB (or K/M/G) suffix.
    func parsedSegmentSize() throws -> Int {
        let text = segmentSize.trimmingCharacters(in: .whitespaces)
        let digits = text.prefix { $0.isNumber }
        let units: [String: Int] = ["": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "mb": 1 << 20,
                                    "g": 1 << 30, "gib": 1 << 30, "gb": 1 << 30]
        guard let number = Int(digits), let unit = units[text.dropFirst(digits.count).lowercased()],
              number.multipliedReportingOverflow(by: unit).overflow == false else {
            throw ValidationError("--segment-size '\(segmentSize)' is not a size; use e.g. 64MiB, 8MiB or 1048576")
        }
        let bytes = number * unit
        guard bytes >= 64 << 10, bytes <= 4 << 30 else {
            throw ValidationError("--segment-size \(segmentSize) is outside 64KiB...4GiB")
        }
        return bytes
    }

    func parsedPeers() throws -> [NodeID: String] {
        var peers: [NodeID: String] = [:]
        for entry in peer {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let id = UInt64(parts[0]), id > 0, !parts[1].isEmpty else {
                throw ValidationError("--peer '\(entry)' is not id=host:port (e.g. 2=127.0.0.1:50052)")
            }
            if let existing = peers[id] {
                throw ValidationError("--peer lists server \(id) twice (\(existing) and \(parts[1])); every server needs its own id")
            }
            peers[id] = String(parts[1])
        }
        return peers
    }

    func run() async throws {
        CLILogging.bootstrap(logLevel, default: .info)
        var logger = Logger(label: "helios.server")
        logger[metadataKey: "server"] = "\(nodeID)"
        var configuration = ServerConfiguration(
            nodeID: nodeID, rpcAddress: rpcAddr, peers: try parsedPeers(), bootstrap: bootstrap,
            dataDirectory: dataDir ?? "data/node\(nodeID)")
        configuration.compaction.everyEntries = snapshotEvery
        configuration.segmentSize = try parsedSegmentSize()
        configuration.rpcStack = ServerConfiguration.RPCStack(rawValue: rpcStack) ?? .edge
        let node: HeliosServerNode
        do {
            node = try await HeliosServerNode(
                configuration: configuration, logger: logger, heartbeatTTL: .milliseconds(Int64(heartbeatTTL * 1000)))
        } catch let error as ServerError {
            throw ServerError("server \(nodeID): \(error.message)")
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: ServerService(node: node))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

/// Runs a server node under service-lifecycle: a signal begins a graceful shutdown.
struct ServerService: Service {
    let node: HeliosServerNode

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await node.run()
        } onGracefulShutdown: {
            // A leader hands over first (bounded), so the cluster does not wait for its followers
            // to notice that it is gone.
            Task { await node.shutdownGracefully() }
        }
    }
}
