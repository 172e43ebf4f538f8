import Foundation

/// How a `helios agent` runs.
public struct AgentConfiguration: Sendable {
    /// The node's id (unique in the cluster).
    public var nodeID: String
    /// The servers (host:port), tried in turn.
    public var servers: [String]
    /// host:port this agent serves log streaming on; registered as the node's address.
    public var clientRPCAddress: String
    public var dataDirectory: String
    public var name: String
    public var datacenter: String
    public var meta: [String: String]
    /// Stop every task on shutdown (default: leave them running, like Nomad).
    public var stopTasksOnShutdown: Bool
    /// The `helios` binary that provides `helios executor`.
    public var executorBinary: String

    public init(
        nodeID: String, servers: [String], clientRPCAddress: String, dataDirectory: String, name: String? = nil,
        datacenter: String = "dc1", meta: [String: String] = [:], stopTasksOnShutdown: Bool = false,
        executorBinary: String = ExecDriver.currentBinary
    ) {
        self.nodeID = nodeID
        self.servers = servers
        self.clientRPCAddress = clientRPCAddress
        // Absolute: executors run with "/" as their working directory and must find the same files.
        self.dataDirectory = dataDirectory.hasPrefix("/")
            ? dataDirectory : FileManager.default.currentDirectoryPath + "/" + dataDirectory
        self.name = name ?? nodeID
        self.datacenter = datacenter
        self.meta = meta
        self.stopTasksOnShutdown = stopTasksOnShutdown
        self.executorBinary = executorBinary
    }
}
