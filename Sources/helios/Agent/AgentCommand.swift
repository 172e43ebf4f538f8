import ArgumentParser
import Foundation
import HeliosAgent
import Logging
import ServiceLifecycle
import UnixSignals

/// `helios agent`: runs a worker node until SIGINT/SIGTERM.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run a Helios agent: register this machine and run the tasks the servers assign it.",
        discussion: """
            helios agent --node-id 1 --server-addr http://127.0.0.1:50051 --client-rpc-addr 127.0.0.1:60051 --data-dir data/agent1
            Tasks keep running when the agent stops (a restarted agent re-attaches to them); pass
            --stop-tasks-on-shutdown to stop them instead.
            """
    )

    @Option(help: "This node's id (unique in the cluster).")
    var nodeID: String

    @Option(help: "A server (host:port or http://host:port); repeat or separate with commas. The agent fails over between them.")
    var serverAddr: [String] = ["127.0.0.1:50051"]

    @Option(help: "host:port this agent serves log streaming on (registered as the node's address).")
    var clientRpcAddr: String

    @Option(help: "Where allocation directories, logs and executor state live (default: data/agent<node-id>).")
    var dataDir: String?

    @Option(help: "The node's name (default: the node id).")
    var name: String?

    @Option(help: "The node's datacenter.")
    var datacenter = "dc1"

    @Option(help: "Node metadata as key=value; repeatable.")
    var meta: [String] = []

    @Flag(help: "Stop every task when the agent shuts down.")
    var stopTasksOnShutdown = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func parsedMeta() throws -> [String: String] {
        var values: [String: String] = [:]
        for entry in meta {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--meta '\(entry)' is not key=value") }
            values[String(parts[0])] = String(parts[1])
        }
        return values
    }

    func validate() throws {
        _ = try parsedMeta()
        try CLILogging.validate(logLevel)
    }

    func run() async throws {
        CLILogging.bootstrap(logLevel, default: .info)
        var logger = Logger(label: "helios.agent")
        logger[metadataKey: "node"] = "\(nodeID)"
        let servers = serverAddr.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        let configuration = AgentConfiguration(
            nodeID: nodeID, servers: servers, clientRPCAddress: clientRpcAddr, dataDirectory: dataDir ?? "data/agent\(nodeID)",
            name: name, datacenter: datacenter, meta: try parsedMeta(), stopTasksOnShutdown: stopTasksOnShutdown)
        let agent = try HeliosAgentNode(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: AgentService(agent: agent))], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

struct AgentService: Service {
    let agent: HeliosAgentNode

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await agent.run()
        } onGracefulShutdown: {
            agent.shutdown()
        }
    }
}

/// `helios executor --spec FILE`: supervises one task for an agent (started by the agent; not for people).
struct ExecutorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executor", abstract: "Supervise one task for an agent (internal).", shouldDisplay: false)

    @Option(help: "The executor spec the agent wrote.")
    var spec: String

    func run() throws {
        let status = TaskExecutor.run(specPath: spec)
        if status != 0 { throw ExitCode(status) }
    }
}
