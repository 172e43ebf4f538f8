import ArgumentParser
import Foundation
import HeliosAgent
import HeliosClient
import HeliosProto
import HeliosServer
import Logging
import ServiceLifecycle
import UnixSignals

/// `helios dev`: a one-server cluster and one agent in one process, on a throwaway data directory
/// (Nomad's `agent -dev`).
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a one-server cluster and an agent in one process, with a temporary data directory (for trying Helios).",
        discussion: "Stop it with Ctrl-C; the temporary data directory is removed (tasks are stopped).")

    @Option(help: "host:port for the server's gRPC API.")
    var rpcAddr = "127.0.0.1:50051"

    @Option(help: "host:port the agent serves logs on.")
    var clientRpcAddr = "127.0.0.1:60051"

    @Option(help: "Keep state here instead of a temporary directory (kept on exit).")
    var dataDir: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "warning"

    func validate() throws {
        try CLILogging.validate(logLevel)
    }

    func run() async throws {
        CLILogging.bootstrap(logLevel, default: .warning)
        let logger = Logger(label: "helios.dev")
        let temporary = dataDir == nil
        let directory = dataDir ?? NSTemporaryDirectory() + "helios-dev-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }
        let resuming = FileManager.default.fileExists(atPath: directory + "/server/hardstate")
        let server = try await HeliosServerNode(
            configuration: ServerConfiguration(
                nodeID: 1, rpcAddress: rpcAddr, peers: [1: rpcAddr], bootstrap: !resuming, dataDirectory: directory + "/server"),
            logger: logger, heartbeatTTL: .seconds(10))
        let agent = try HeliosAgentNode(
            configuration: AgentConfiguration(
                nodeID: "dev", servers: [rpcAddr], clientRPCAddress: clientRpcAddr, dataDirectory: directory + "/agent",
                name: "dev", stopTasksOnShutdown: temporary),
            logger: logger)
        let banner = """
            ==> Helios dev cluster: server at \(rpcAddr), agent "dev" (logs at \(clientRpcAddr)), data in \(directory)\(temporary ? " (removed on exit)" : "")
                Try:  helios job run --name hello echo -- 'Hello from Helios'
                      helios job logs hello
                      helios job init && helios job run example.yaml
                Stop with Ctrl-C.
            """
        // Print the banner once the agent is ready, so the first job submitted has a node to run on.
        let address = rpcAddr
        let announce = Task {
            if let client = try? HeliosClient(addresses: [address]) {
                defer { client.close() }
                let deadline = ContinuousClock.now + .seconds(15)
                while ContinuousClock.now < deadline, !Task.isCancelled {
                    if (try? await client.node("dev", stale: true).node.status) == .ready { break }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            if !Task.isCancelled {
                print(banner)
                fflush(nil)
            }
        }
        defer { announce.cancel() }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: ServerService(node: server)), .init(service: AgentService(agent: agent))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
