import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosProto
import Synchronization

/// The Swift client for a Helios cluster: an async API for every public RPC.
///
/// Give it one or more server addresses. Calls go to the server that answered last; when a server is
/// unreachable or answers UNAVAILABLE (no leader yet, a write that did not commit), the call moves on
/// to the next address, and to the leader that servers report (leader-hint following), retrying with
/// backoff until ``Configuration/retryTimeout`` runs out. Errors are ``HeliosClientError``s.
///
/// ```swift
/// let client = try HeliosClient(addresses: ["127.0.0.1:50051"])
/// defer { client.close() }
/// let job = try JobFile.parse(yaml, file: "web.yaml")  // import HeliosJobFile
/// let registered = try await client.registerJob(job)
/// print("version \(registered.version), evaluation \(registered.evaluationID)")
/// ```
///
/// - Note: writes are at-least-once under retries: a register that committed but whose answer was
///   lost is sent again, which registers an identical spec (the server records no change).
public final class HeliosClient: Sendable {
    /// How patient the client is.
    public struct Configuration: Sendable {
        /// How long one call may keep retrying across servers before failing.
        public var retryTimeout: Duration = .seconds(15)
        /// The deadline of one attempt of a unary call.
        public var callTimeout: Duration = .seconds(30)
        /// The first pause after every server failed once; grows by 1.6x up to ``maxBackoff``.
        public var initialBackoff: Duration = .milliseconds(100)
        /// The longest pause between rounds.
        public var maxBackoff: Duration = .seconds(2)
        /// The largest response accepted (listing every job of a big cluster exceeds gRPC's 4 MiB default).
        public var maxResponseBytes: Int = 256 << 20

        /// The defaults: 15 s of retries, 30 s per attempt.
        public init() {}
    }

    private let servers: ServerConnections
    /// How this client retries and times out.
    public let configuration: Configuration

    /// Connects (lazily) to `addresses` (`host:port` or `http://host:port`, comma-separated lists allowed).
    public init(addresses: [String], configuration: Configuration = .init()) throws(HeliosClientError) {
        servers = try ServerConnections(addresses: try ServerAddress.parseList(addresses))
        self.configuration = configuration
    }

    /// The addresses this client knows: the ones it was given plus leaders servers reported.
    public var addresses: [ServerAddress] { servers.addresses }

    /// Closes every connection; calls in flight fail.
    public func close() { servers.close() }

    /// Options for one attempt.
    var unaryOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = configuration.callTimeout
        options.maxResponseMessageBytes = configuration.maxResponseBytes
        // grpc-swift-nio-transport (2.9) bounds the messages a client stream *decodes* by the request
        // limit (default 4 MiB), not the response limit: without this a list of ~150,000 jobs failed
        // with RESOURCE_EXHAUSTED "Message has exceeded the configured maximum payload size".
        options.maxRequestMessageBytes = configuration.maxResponseBytes
        // Fail fast on a dead server so the next one is tried.
        options.waitForReady = false
        return options
    }

    /// Runs `body` against the servers in turn until it succeeds, fails for a reason retrying cannot
    /// fix, or ``Configuration/retryTimeout`` runs out.
    func withRetries<R: Sendable>(
        _ call: String, _ body: (GRPCClient<HTTP2ClientTransport.Posix>, ServerAddress) async throws -> R
    ) async throws(HeliosClientError) -> R {
        let deadline = ContinuousClock.now + configuration.retryTimeout
        var backoff = configuration.initialBackoff
        var failures: [ServerAddress: String] = [:]
        var anyAnswered = false
        while true {
            var lastServerError: RPCError?
            let answer = try await servers.firstAnswer(body) { (error, address) throws(HeliosClientError) in
                if let error = error as? HeliosClientError { throw error }
                if Task.isCancelled || error is CancellationError { throw HeliosClientError(.cancelled, "\(call): cancelled") }
                guard let error = error as? RPCError else { throw HeliosClientError(.server, "\(call): \(error)") }
                switch error.code {
                case .unavailable where Self.isConnectionFailure(error), .deadlineExceeded where !anyAnswered:
                    failures[address] = Self.shortReason(error)
                case .unavailable:
                    // The server answered but cannot serve now (no leader, write not committed).
                    anyAnswered = true
                    failures[address] = error.message
                    lastServerError = error
                default:
                    throw HeliosClientError(error, call: call)
                }
            }
            if let answer { return answer }
            let known = servers.addresses
            await learnLeader(known: known)
            if ContinuousClock.now + backoff > deadline {
                if let lastServerError { throw HeliosClientError(lastServerError, call: call) }
                throw Self.unreachable(failures, addresses: known)
            }
            do { try await Task.sleep(for: backoff) } catch { throw HeliosClientError(.cancelled, "\(call): cancelled") }
            backoff = min(backoff * 1.6, configuration.maxBackoff)
        }
    }

    /// Asks reachable servers for the leader's address and adds it if it is new (leader-hint following:
    /// a client given one follower still finds the leader's address for later calls).
    private func learnLeader(known: [ServerAddress]) async {
        var options = CallOptions.defaults
        options.timeout = .milliseconds(500)
        options.waitForReady = false
        for endpoint in servers.all {
            guard let info = try? await Helios_V1_Operator.Client(wrapping: endpoint.client).clusterInfo(.init(), options: options),
                !info.leaderAddress.isEmpty, let leader = try? ServerAddress(parsing: info.leaderAddress)
            else { continue }
            if !known.contains(leader) { _ = try? servers.add(leader) }
            return
        }
    }

    /// Whether an UNAVAILABLE error came from the transport (no server answered) rather than from a
    /// server (which words its own messages, e.g. "no leader was elected ..."). The transport's messages
    /// are recognised by how they begin, so a server message that quotes one is not mistaken for it.
    static func isConnectionFailure(_ error: RPCError) -> Bool {
        let text = error.message
        if text.isEmpty { return true }
        let transportPrefixes = [
            "Could not establish a connection", "Channel is", "Channel isn't ready", "Failed to resolve", "RPC stream was closed",
            "RPC was rejected", "Stream unexpectedly closed", "Subchannel", "subchannel", "The TCP connection",
            "The channel was closed", "Transport is shut", "channel is closed", "channel is shutdown", "connection closed",
            "HTTP 502", "HTTP 503", "HTTP 504",
        ]
        return transportPrefixes.contains { text.hasPrefix($0) }
    }

    static func shortReason(_ error: RPCError) -> String {
        let text = "\(error.message)"
        if text.contains("Could not establish a connection") || text.lowercased().contains("refused") { return "connection refused" }
        if error.code == .deadlineExceeded { return "no answer before the deadline" }
        return text.isEmpty ? "\(error.code)" : text
    }

    static func unreachable(_ failures: [ServerAddress: String], addresses: [ServerAddress]) -> HeliosClientError {
        let detail = addresses.map { "\($0) (\(failures[$0] ?? "no answer"))" }.joined(separator: ", ")
        return HeliosClientError(
            .unreachable,
            "cannot reach a Helios server at \(detail); start one with 'helios dev', or point --server-addr (or HELIOS_ADDR) at a running server")
    }
}
