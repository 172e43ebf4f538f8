import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosProto
import Logging
import SwiftProtobuf
import Synchronization

/// One `helios agent`: registers its node, heartbeats, watches the allocations the scheduler gives
/// it and converges to them (start new ones, stop removed ones) through the exec driver, reports
/// their status in batches, and serves their logs on its client RPC address.
public final class HeliosAgentNode: Sendable {
    public let configuration: AgentConfiguration
    let logger: Logger
    let servers: ServerPool
    let driver: ExecDriver
    let allocationsDirectory: String
    /// Allocations running here, by id.
    let runners = Mutex<[String: AllocationRunner]>([:])
    /// Status updates waiting to be sent (latest per allocation).
    let pendingUpdates = Mutex<[String: Helios_V1_AllocationUpdate]>([:])
    let heartbeatInterval = Mutex<Duration>(.seconds(3))
    let stopping = Atomic<Bool>(false)
    /// Which allocations run here, for the log service's follows.
    let followState = LogFollowState()
    let clientServer: GRPCServer<HTTP2ServerTransport.Posix>
    let clientTransport: HTTP2ServerTransport.Posix
    /// Job specs by job id and version (allocations name them; the agent fetches each once).
    let jobSpecs = Mutex<[String: JobSpec]>([:])
    /// Allocations that ran to their end here (never started again).
    let finished = Mutex<Set<String>>([])
    /// Whether executors of allocations no longer assigned here were looked for (once per process).
    let orphansChecked = Atomic<Bool>(false)

    public init(configuration: AgentConfiguration, logger: Logger = Logger(label: "helios.agent")) throws {
        guard !configuration.nodeID.isEmpty else { throw AgentError("--node-id must not be empty") }
        self.configuration = configuration
        self.logger = logger
        servers = try ServerPool(addresses: configuration.servers, logger: logger)
        driver = ExecDriver(executorBinary: configuration.executorBinary)
        allocationsDirectory = configuration.dataDirectory + "/allocs"
        try FileManager.default.createDirectory(atPath: allocationsDirectory, withIntermediateDirectories: true)
        let (host, port) = try ServerPool.parse(configuration.clientRPCAddress)
        var transportConfiguration = HTTP2ServerTransport.Posix.Config.defaults
        transportConfiguration.http2.maxConcurrentStreams = 1024
        clientTransport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port), transportSecurity: .plaintext, config: transportConfiguration)
        clientServer = GRPCServer(transport: clientTransport, services: [AgentClientService(allocationsDirectory: allocationsDirectory, followState: followState)])
    }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Runs until ``shutdown()``.
    public func run() async throws {
        // Cancellation (e.g. a service group tearing down after another service failed) is a shutdown.
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.clientServer.serve() }
                group.addTask { await self.runSession() }
                group.addTask { await self.runReporter() }
                try await group.next()
                self.shutdown()
                while let _ = try? await group.next() {}
            }
        } onCancel: {
            self.shutdown()
        }
        if configuration.stopTasksOnShutdown {
            for runner in runners.withLock({ Array($0.values) }) { runner.stop() }
        }
        servers.shutdown()
    }

    /// Stops the agent; its tasks keep running unless the configuration says otherwise.
    public func shutdown() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        followState.stop()
        clientServer.beginGracefulShutdown()
    }

    // MARK: Registration, heartbeats and the allocation watch

    /// Registers, then heartbeats and watches allocations until stopped; re-registers whenever a
    /// server no longer knows the node, and backs off while no server answers.
    private func runSession() async {
        var backoff = Duration.milliseconds(200)
        while !isStopping {
            do {
                try await register()
                backoff = .milliseconds(200)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.heartbeatLoop() }
                    group.addTask { try await self.watchLoop() }
                    try await group.next()
                    group.cancelAll()
                }
            } catch {
                if isStopping { break }
                logger.warning("lost the servers; retrying", metadata: ["error": "\(error)", "servers": "\(servers.addresses)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    func register() async throws {
        let (resources, attributes) = NodeFingerprint.detect()
        let node = NodeInfo.with {
            $0.id = configuration.nodeID
            $0.name = configuration.name
            $0.datacenter = configuration.datacenter
            $0.address = configuration.clientRPCAddress
            $0.resources = resources
            $0.attributes = attributes.sorted { $0.key < $1.key }.map { pair in .with { $0.key = pair.key; $0.value = pair.value } }
            $0.meta = configuration.meta.sorted { $0.key < $1.key }.map { pair in .with { $0.key = pair.key; $0.value = pair.value } }
        }
        let response = try await servers.call { client in
            try await Helios_V1_Agents.Client(wrapping: client).register(.with { $0.node = node }, options: ServerPool.options)
        }
        heartbeatInterval.withLock { $0 = .milliseconds(Int64(max(200, response.heartbeatIntervalMs))) }
        logger.info("registered", metadata: [
            "node": "\(configuration.nodeID)", "cpu-mhz": "\(resources.cpuMhz)", "memory-mb": "\(resources.memoryMb)",
        ])
    }

    private func heartbeatLoop() async throws {
        while !isStopping {
            try await Task.sleep(for: heartbeatInterval.withLock { $0 })
            do {
                let response = try await servers.call { client in
                    try await Helios_V1_Agents.Client(wrapping: client).heartbeat(
                        .with { $0.nodeID = configuration.nodeID }, options: ServerPool.options)
                }
                heartbeatInterval.withLock { $0 = .milliseconds(Int64(max(200, response.heartbeatIntervalMs))) }
            } catch let error as RPCError where error.code == .notFound {
                logger.warning("the servers do not know this node any more; registering again")
                try await register()
            }
        }
    }

    private func watchLoop() async throws {
        while !isStopping {
            try await servers.call { client in
                var options = CallOptions.defaults
                options.waitForReady = false
                // A node's allocations in one update may pass 4 MiB; the transport bounds what a
                // stream decodes by the request limit (see HeliosClient's unaryOptions).
                options.maxRequestMessageBytes = 64 << 20
                options.maxResponseMessageBytes = 64 << 20
                try await Helios_V1_Agents.Client(wrapping: client).watchAllocations(
                    .with { $0.nodeID = configuration.nodeID }, options: options
                ) { response in
                    for try await update in response.messages {
                        if self.isStopping { return }
                        await self.converge(to: update.allocations)
                    }
                }
            }
        }
    }

    // MARK: Status reporting

    func enqueue(_ update: Helios_V1_AllocationUpdate) {
        pendingUpdates.withLock { $0[update.allocationID] = update }
    }

    /// Sends the queued status updates every 200 ms (one call for all of them); keeps them on failure.
    private func runReporter() async {
        while !isStopping || !pendingUpdates.withLock({ $0.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(200))
            let batch = pendingUpdates.withLock { pending -> [Helios_V1_AllocationUpdate] in
                defer { pending = [:] }
                return Array(pending.values)
            }
            guard !batch.isEmpty else {
                if isStopping { return }
                continue
            }
            do {
                _ = try await servers.call { client in
                    try await Helios_V1_Agents.Client(wrapping: client).updateAllocations(.with { $0.updates = batch }, options: ServerPool.options)
                }
            } catch let error as RPCError where error.code == .failedPrecondition || error.code == .invalidArgument {
                // Refused for good (e.g. a transition from a terminal state): do not resend.
                logger.debug("allocation updates refused", metadata: ["error": "\(error)"])
            } catch {
                // Keep them (newer updates win) and try again.
                pendingUpdates.withLock { pending in
                    for update in batch where pending[update.allocationID] == nil { pending[update.allocationID] = update }
                }
                if isStopping { return }
            }
        }
    }
}
