import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosEdge
import NIOCore
import HeliosLog
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosSnapshot
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// A configuration or start-up problem a person can act on.
public struct ServerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One `helios server`: a Raft node (driver over the segmented log) whose state machine is the
/// cluster projection, serving the public, agent, Raft and health gRPC services on one port.
public final class HeliosServerNode: Sendable {
    public let configuration: ServerConfiguration
    let logger: Logger
    let stateMachine: ProjectionStateMachine
    let storage: SegmentedRaftStorage
    let driver: RaftDriver
    /// The Raft messages to the other servers: the peer link (``LinkRaftTransport``), or gRPC
    /// streams with `--rpc-stack grpc-swift`, whose port cannot take peer links.
    let raftTransport: any ServerRaftTransport
    let peers: PeerClients
    /// What serves the port (``ServerConfiguration/rpcStack``). Set at the end of `init` (the
    /// services refer to the node); cleared when ``run()`` ends so the node and its services do not
    /// keep each other alive.
    private let servingHolder = Mutex<Serving?>(nil)

    enum Serving: Sendable {
        case grpcSwift(GRPCServer<HTTP2ServerTransport.Posix>, HTTP2ServerTransport.Posix)
        /// Every service on the edge layer (``makeRouter()``).
        case edge(GRPCServerEndpoint)
    }

    /// Where the server listens, once ``run()`` bound it.
    private let bound = Mutex<PeerAddress?>(nil)
    private let listen: PeerAddress
    let leaderState = Mutex(LeaderState())
    /// Turns for committing plans that change allocations (``concurrentPlans``).
    let planSlots = AsyncSemaphore(permits: HeliosServerNode.concurrentPlans)
    /// Evaluation completions waiting to be committed together.
    let completions = CompletionBatcher()
    let stopping = Mutex(false)
    /// The peer addresses the connections currently point at.
    let knownPeers: Mutex<[NodeID: String]>
    let snapshotStore: FileRaftSnapshotStore
    /// Wakes the leader loop (new evaluations, capacity changes, the ticker).
    let wakeups = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    /// The Helios version servers report.
    public static let version = "0.1.0"
    /// Seconds between agent heartbeats, and how long a node may stay silent before it is down.
    public let heartbeatInterval: Duration
    public let heartbeatTTL: Duration

    /// Opens the data directory (locking it), bootstraps if asked, and prepares the services.
    /// Nothing runs until ``run()``. A follower campaigns after `electionTicks` to twice that many
    /// ticks without hearing from a leader (1-2 s by default, as etcd), or within a few ticks when the
    /// leader's connection closes.
    public init(
        configuration: ServerConfiguration, logger: Logger = Logger(label: "helios.server"),
        tickInterval: Duration = .milliseconds(100), electionTicks: Int = 10, heartbeatInterval: Duration = .seconds(3),
        heartbeatTTL: Duration = .seconds(10)
    ) async throws {
        self.configuration = configuration
        self.logger = logger
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTTL = heartbeatTTL
        guard configuration.nodeID != 0 else { throw ServerError("--node-id must be a positive number") }
        guard let own = configuration.peers[configuration.nodeID] else {
            throw ServerError(
                "the peer list does not include this server (node \(configuration.nodeID)); list every server, this one "
                    + "included, e.g. --peer \(configuration.nodeID)=\(configuration.rpcAddress)")
        }
        guard let listen = PeerAddress(configuration.rpcAddress) else {
            throw ServerError("--rpc-addr '\(configuration.rpcAddress)' is not host:port")
        }
        self.listen = listen
        var addresses: [NodeID: PeerAddress] = [:]
        for (id, text) in configuration.peers {
            guard let address = PeerAddress(text) else { throw ServerError("--peer \(id)=\(text): '\(text)' is not host:port") }
            addresses[id] = address
        }
        if own != configuration.rpcAddress && PeerAddress(own)?.port != listen.port {
            throw ServerError("--rpc-addr \(configuration.rpcAddress) differs from this server's --peer \(configuration.nodeID)=\(own)")
        }
        let duplicates = Dictionary(grouping: addresses, by: { $0.value }).filter { $0.value.count > 1 }
        if let duplicate = duplicates.first {
            throw ServerError("servers \(duplicate.value.map(\.key).sorted()) share the address \(duplicate.key); every server needs its own")
        }

        let data = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var logConfiguration = LogConfiguration()
        logConfiguration.logger = logger
        logConfiguration.segmentSize = configuration.segmentSize
        let snapshots = FileRaftSnapshotStore(directory: SnapshotDirectory(path: data + "/snapshots", logger: logger))
        snapshotStore = snapshots
        knownPeers = Mutex(configuration.peers.filter { $0.key != configuration.nodeID })
        do {
            storage = try SegmentedRaftStorage(directory: data, logConfiguration: logConfiguration, snapshots: snapshots)
        } catch let error as LogError where error.code == .locked {
            throw ServerError("data directory \(data) is in use: \(error.message)")
        }
        if configuration.bootstrap {
            let voters = Set(configuration.peers.keys)
            do {
                try await storage.bootstrap(ConfigurationState(voters: voters))
                logger.info("bootstrapped a new cluster", metadata: ["voters": "\(voters.sorted())"])
            } catch let error as LogError {
                await storage.close()
                throw ServerError("--bootstrap refused: \(error.message)")
            }
        }
        stateMachine = ProjectionStateMachine(logger: logger)
        var raftConfiguration = RaftConfiguration(id: configuration.nodeID, randomSeed: UInt64.random(in: 1...UInt64.max))
        raftConfiguration.electionTicks = electionTicks
        raftConfiguration.heartbeatTicks = 1
        raftConfiguration.broadcastCommit = false
        let others = addresses.filter { $0.key != configuration.nodeID }
        switch configuration.rpcStack {
        case .edge: raftTransport = LinkRaftTransport(own: configuration.nodeID, peers: others, logger: logger)
        case .grpcSwift: raftTransport = try GRPCRaftTransport(peers: others, logger: logger)
        }
        driver = RaftDriver(
            configuration: raftConfiguration, storage: storage, transport: raftTransport, stateMachine: stateMachine,
            tickInterval: tickInterval, compaction: configuration.compaction, logger: logger)
        peers = try PeerClients(addresses: addresses.filter { $0.key != configuration.nodeID })

        let serving: Serving
        switch configuration.rpcStack {
        case .grpcSwift:
            var transportConfiguration = HTTP2ServerTransport.Posix.Config.defaults
            transportConfiguration.http2.maxConcurrentStreams = 1024
            transportConfiguration.rpc.maxRequestPayloadSize = 64 << 20
            let transport = HTTP2ServerTransport.Posix(
                address: .ipv4(host: listen.host, port: listen.port), transportSecurity: .plaintext, config: transportConfiguration)
            serving = .grpcSwift(GRPCServer(transport: transport, services: makeServices()), transport)
        case .edge:
            var limits = GRPCServerEndpoint.Limits()
            limits.maximumMessageBytes = 64 << 20
            limits.maximumConcurrentStreams = 1024
            serving = .edge(GRPCServerEndpoint(router: makeRouter(), limits: limits, peerLink: RaftLinkAcceptor(node: self)))
        }
        servingHolder.withLock { $0 = serving }
    }

    private func makeServices() -> [any RegistrableRPCService] {
        [
            RaftService(node: self), ClusterService(node: self), JobsService(node: self), AllocationsService(node: self),
            NodesService(node: self), EventsService(node: self), OperatorService(node: self), AgentsService(node: self),
            HealthService(node: self),
        ]
    }

    /// The address the server listens on once ``run()`` has bound it (resolves port 0); waits up to
    /// 10 s for that.
    public var listeningAddress: PeerAddress {
        get async throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                if let address = bound.withLock({ $0 }) { return address }
                try await Task.sleep(for: .milliseconds(5))
            }
            throw ServerError("server \(configuration.nodeID) is not listening on \(configuration.rpcAddress) (not running?)")
        }
    }

    /// Serves until ``shutdown()``: the gRPC server, the Raft loop and the leader's duties.
    public func run() async throws {
        guard let serving = servingHolder.withLock({ $0 }) else { throw ServerError("server node \(configuration.nodeID) already ran; create a new one") }
        defer { servingHolder.withLock { $0 = nil } }
        if isStopping {
            // Shut down before it ever ran: just release the data directory.
            await storage.close()
            return
        }
        if case .edge(let endpoint) = serving {
            do {
                let address = try await endpoint.bind(host: listen.host, port: listen.port)
                listening(PeerAddress(host: address.ipAddress ?? listen.host, port: address.port ?? listen.port))
            } catch {
                logger.error("cannot listen", metadata: ["address": "\(configuration.rpcAddress)", "error": "\(error)"])
                shutdown()
                await storage.close()
                throw ServerError("cannot listen on --rpc-addr \(configuration.rpcAddress): \(error); is another process using the port?")
            }
        }
        defer { bound.withLock { $0 = nil } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var helpers = 0
            if case .grpcSwift(let server, let transport) = serving {
                group.addTask { try await server.serve() }
                group.addTask {
                    if let address = try? await transport.listeningAddress, let ipv4 = address.ipv4 {
                        self.listening(PeerAddress(host: ipv4.host, port: ipv4.port))
                    }
                }
                helpers = 1
            }
            group.addTask { try await self.driver.run() }
            group.addTask { await self.runLeaderDuties() }
            group.addTask { await self.watchForBlockedEvaluations() }
            // Wait for the address logger (grpc-swift) and then for the first long-running task to
            // end (a shutdown or a failure such as a taken port), then stop everything else.
            do {
                for _ in 0...helpers { try await group.next() }
            } catch {
                logger.error("server stopping after a failure", metadata: ["error": "\(error)"])
                self.shutdown()
                while let _ = try? await group.next() {}
                throw error
            }
            self.shutdown()
            while let _ = try await group.next() {}
        }
        if case .edge(let endpoint) = serving {
            // Calls still in progress had their GOAWAY at shutdown(); whatever is left closes now, so
            // the port is free when run() returns.
            await endpoint.shutdownGracefully(timeout: .milliseconds(500))
        }
    }

    private func listening(_ address: PeerAddress) {
        bound.withLock { $0 = address }
        logger.info("serving gRPC", metadata: ["address": "\(address)", "data-dir": "\(configuration.dataDirectory)", "stack": "\(configuration.rpcStack.rawValue)"])
    }

    /// Stops serving: the gRPC server drains, the Raft loop ends and saves its hard state.
    public func shutdown() {
        let first = stopping.withLock { stopping -> Bool in
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        switch servingHolder.withLock({ $0 }) {
        case .grpcSwift(let server, _): server.beginGracefulShutdown()
        case .edge(let endpoint): Task { await endpoint.shutdownGracefully(timeout: .seconds(2)) }
        case nil: break
        }
        driver.shutdown()
        raftTransport.shutdown()
        peers.shutdown()
        stateMachine.changes.finish()
        wakeups.continuation.finish()
    }

    /// Stops serving like ``shutdown()``, but a leader first hands leadership to its most up-to-date
    /// voter (as etcd does on a graceful stop), so writes pause for one election round trip rather
    /// than for the followers to notice. Gives up after `timeout` and stops anyway. Returns whether
    /// leadership was handed over.
    @discardableResult
    public func shutdownGracefully(timeout: Duration = .seconds(2)) async -> Bool {
        defer { shutdown() }
        guard !isStopping, let status = driver.status, status.role == .leader else { return false }
        let candidates = status.progress.filter { $0.key != status.id && status.configuration.voters.contains($0.key) }
        // The voter holding the most of the log (on a tie, the lowest id).
        guard let target = candidates.max(by: { ($0.value.match, $1.key) < ($1.value.match, $0.key) })?.key else { return false }
        logger.info("handing leadership over before stopping", metadata: ["to": "\(target)", "term": "\(status.term)"])
        driver.transferLeadership(to: target)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let now = driver.status, now.role != .leader || now.term != status.term { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        logger.warning("leadership was not handed over in time; stopping anyway", metadata: ["to": "\(target)"])
        return false
    }

    var isStopping: Bool { stopping.withLock { $0 } }

    /// Starts an election on this server now instead of at its election timeout (tests, tooling).
    public func campaign() { driver.campaign() }

    // MARK: Reading and writing

    /// Reads the state after a linearizable read barrier (unless `stale`), under the state's lock:
    /// for reads of a few records. Reads that walk the state use ``view(stale:)``.
    func read<R>(stale: Bool, _ body: (ClusterState) throws -> R) async throws -> R {
        if !stale { try await readBarrier() }
        return try stateMachine.read(body)
    }

    /// The state after a linearizable read barrier (unless `stale`), as an immutable view taken in
    /// O(1) (``ProjectionStateMachine/view()``): walking it never holds up apply.
    func view(stale: Bool) async throws -> ClusterState {
        if !stale { try await readBarrier() }
        return stateMachine.view()
    }

    /// Confirms the local state is current (ReadIndex through the leader). While no leader is known
    /// (an election is running, or the server just started), waits for one for up to 3 s, as a write
    /// does, instead of failing at once.
    private func readBarrier() async throws {
        let deadline = ContinuousClock.now + .seconds(3)
        while true {
            do {
                _ = try await driver.readBarrier(timeout: .seconds(5))
                return
            } catch ProposalError.notLeader(let leader) where leader == 0 && ContinuousClock.now < deadline && !isStopping {
                try await Task.sleep(for: .milliseconds(20))
            } catch let error as ProposalError {
                throw RPCError(code: .unavailable, message: "cannot confirm the state is current (\(error)); retry, or pass stale reads")
            }
        }
    }

    /// The outcome of a proposal as the API reports it.
    struct Outcome {
        var index: UInt64
        var refused: String?
        var rejectedItems: [String]
        var jobVersion: UInt64?
        var placed: [String] = []

        init(index: UInt64, refused: String?, rejectedItems: [String], jobVersion: UInt64?, placed: [String] = []) {
            self.index = index
            self.refused = refused
            self.rejectedItems = rejectedItems
            self.jobVersion = jobVersion
            self.placed = placed
        }

        /// The leader's answer to a forwarded proposal.
        init(_ response: Helios_V1_ProposeResponse) {
            self.init(
                index: response.index, refused: response.refused.isEmpty ? nil : response.refused, rejectedItems: response.rejectedItems,
                jobVersion: response.jobVersion == 0 ? nil : response.jobVersion)
        }
    }

    /// Commits `event` (through the leader, wherever it is) and returns what applying it did.
    /// `background`: the leader's own work, which may wait a few milliseconds to share the next
    /// client write's Ready (``RaftDriver/propose(_:timeout:background:)``).
    func propose(_ event: Event, background: Bool = false) async throws -> Outcome {
        let bytes: [UInt8] = try event.serializedBytes()
        // While no leader is known (an election is running), wait for one for up to 3 s, looking
        // every 20 ms so the write goes out as soon as the election ends.
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline {
            let status = driver.status
            if status?.role == .leader {
                do {
                    let committed = try await driver.propose(bytes, timeout: .seconds(10), background: background)
                    let change = committed.result as? AppliedChange
                    return Outcome(
                        index: committed.index, refused: change?.refused?.description, rejectedItems: change?.applied?.rejected.map(\.description) ?? [],
                        jobVersion: change?.applied?.jobVersion, placed: change?.applied?.placed ?? [])
                } catch ProposalError.notLeader(let leader) where leader != 0 {
                    return try await forward(bytes, to: leader)
                } catch let error as ProposalError {
                    throw RPCError(code: .unavailable, message: "the write was not confirmed: \(error)")
                }
            }
            guard let leader = status?.leader, leader != 0 else {
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            return try await forward(bytes, to: leader)
        }
        throw RPCError(code: .unavailable, message: "no leader was elected within 3 s; retry in a few seconds (is a majority of the servers up?)")
    }

    private func forward(_ bytes: [UInt8], to leader: NodeID) async throws -> Outcome {
        if let link = raftTransport as? LinkRaftTransport {
            let response: Helios_V1_ProposeResponse
            do {
                response = try await link.forward(.with { $0.event = Data(bytes) }, to: leader, timeout: .seconds(10))
            } catch PeerLinkClient.RequestError.refused(let code, let message) {
                throw RPCError(code: Status.Code(rawValue: Int(code)).flatMap(RPCError.Code.init) ?? .unknown, message: message)
            } catch let error as PeerLinkClient.RequestError {
                throw RPCError(code: .unavailable, message: "leader \(leader) did not answer (\(error)); retry")
            }
            return Outcome(response)
        }
        guard let client = peers.client(for: leader) else {
            throw RPCError(code: .unavailable, message: "leader \(leader) is not in this server's peer list")
        }
        // Fail fast when the leader is unreachable (it may have just died): the caller retries and a new
        // leader is found, instead of the call waiting for a connection that will not come.
        let options = Self.forwardingOptions
        let response: Helios_V1_ProposeResponse
        do {
            response = try await Helios_V1_Cluster.Client(wrapping: client).propose(.with { $0.event = Data(bytes) }, options: options)
        } catch let error as RPCError where error.code == .unavailable {
            throw RPCError(code: .unavailable, message: "leader \(leader) is unreachable (\(error.message)); retry")
        }
        return Outcome(response)
    }

    /// The address of the current leader, if known.
    var leaderAddress: String? {
        guard let leader = driver.status?.leader, leader != 0 else { return nil }
        return configuration.peers[leader]
    }

    // MARK: Ids and time (decided here, carried in events)

    /// A random id in the 8-4-4-4-12 form of a UUID (128 random bits, lowercase hex). Written
    /// straight into the string's storage: the leader makes one or two per registration.
    static func newID() -> String {
        var random = SystemRandomNumberGenerator()
        return formatID(random.next(), random.next())
    }

    /// `high` and `low` as 32 hex digits grouped 8-4-4-4-12.
    static func formatID(_ high: UInt64, _ low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var position = 0
            func put(_ value: UInt64, _ count: Int) {
                for shift in stride(from: (count - 1) * 4, through: 0, by: -4) {
                    buffer[position] = digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
                    position += 1
                }
            }
            func dash() {
                buffer[position] = UInt8(ascii: "-")
                position += 1
            }
            put(high >> 32, 8); dash()
            put(high >> 16, 4); dash()
            put(high, 4); dash()
            put(low >> 48, 4); dash()
            put(low, 12)
            return position
        }
    }

    static func nowMilliseconds() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}
