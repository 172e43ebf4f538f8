import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// A gRPC server of Helios' own: a TCP listener whose connections speak HTTP/2 and serve the methods
/// of a ``GRPCRouter`` straight on the frames (``GRPCConnectionHandler``). Wire-compatible with any
/// gRPC client (grpc-go, grpcio, grpc-swift); what it implements and refuses is in
/// `docs/grpc-edge.md`.
public final class GRPCServerEndpoint: Sendable {
    /// Bounds on what a client may make the server hold.
    public struct Limits: Sendable {
        /// The largest request message (a larger one is refused with RESOURCE_EXHAUSTED as soon as
        /// its length prefix arrives).
        public var maximumMessageBytes = 64 << 20
        /// Concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS; more are refused).
        public var maximumConcurrentStreams = 1024
        /// How many request bytes a client may send ahead, on the connection and on each stream
        /// (the initial stream window in SETTINGS, and the level WINDOW_UPDATEs restore).
        public var receiveWindowBytes = 1 << 20
        /// Response bytes a stream may have waiting for the client's flow-control window before a
        /// server-streaming handler's ``GRPCCall/send(_:)`` future waits.
        public var responseBufferBytes = 1 << 20
        /// Inbound PING, SETTINGS and PRIORITY frames allowed per 10 s before the connection is
        /// closed as a flood (clients' bandwidth probes stay well under it).
        public var controlFramesPer10Seconds = 5_000
        /// The largest peer link frame accepted (Raft messages carry snapshots).
        public var maximumPeerLinkFrameBytes = 256 << 20

        public init() {}
    }

    private let router: GRPCRouter
    private let limits: Limits
    private let peerLink: (any PeerLinkAcceptor)?
    private let tls: NIOSSLContext?
    private let group: any EventLoopGroup
    private let state = Mutex<State>(State())

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    /// With a `peerLink` acceptor, the port also takes peer links: a connection that opens with
    /// ``PeerLinkFrame/preface`` is one (``ConnectionSniffer``). With `tls`, every connection
    /// starts with a TLS handshake (``tlsConfiguration(certificateChain:privateKey:clientTrustRoots:)``);
    /// the client's verified certificate then reaches the handlers (``GRPCCall/peerCertificate``,
    /// ``PeerLinkInbound/peerCertificate``).
    public init(
        router: GRPCRouter, limits: Limits = Limits(), peerLink: (any PeerLinkAcceptor)? = nil, tls: NIOSSLContext? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.router = router
        self.limits = limits
        self.peerLink = peerLink
        self.tls = tls
        self.group = group
    }

    /// Starts listening; returns the bound address (port 0 picks a free port).
    public func bind(host: String, port: Int) async throws -> SocketAddress {
        let router = self.router
        let limits = self.limits
        let peerLink = self.peerLink
        let tls = self.tls
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    if let peerLink {
                        try channel.pipeline.syncOperations.addHandler(ConnectionSniffer(
                            grpc: { try Self.configure($0, router: router, limits: limits) },
                            peerLink: { try Self.configurePeerLink($0, acceptor: peerLink, limits: limits) }))
                    } else {
                        try Self.configure(channel, router: router, limits: limits)
                    }
                    self?.track(channel)
                }
            }
        let listener = try await bootstrap.bind(host: host, port: port).get()
        state.withLock { $0.listener = listener }
        guard let address = listener.localAddress else { throw GRPCStatus(.internalError, "listener on \(host):\(port) has no address") }
        return address
    }

    /// Installs the HTTP/2 and gRPC handlers of one connection on `channel` (the endpoint does it for
    /// every accepted connection; the fuzz target does it on an embedded channel).
    public static func configure(_ channel: any Channel, router: GRPCRouter, limits: Limits) throws {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: limits.maximumConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16 << 10),
            HTTP2Setting(parameter: .initialWindowSize, value: limits.receiveWindowBytes),
        ]
        connection.controlFrameRateLimit.maximumCount = limits.controlFramesPer10Seconds
        connection.controlFrameRateLimit.windowLength = .seconds(10)
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(NIOHTTP2Handler(mode: .server, connectionConfiguration: connection, streamConfiguration: .init()))
        try sync.addHandler(GRPCConnectionHandler(router: router, limits: limits))
    }

    /// A TLS server configuration for the endpoint: its certificate chain and key, ALPN `h2` (gRPC)
    /// and `helios-peer` (the peer link), and, with `clientTrustRoots`, mutual TLS: a client must
    /// present a certificate those roots verify.
    public static func tlsConfiguration(
        certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey, clientTrustRoots: [NIOSSLCertificate]?
    ) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.applicationProtocols = ["h2", "helios-peer"]
        if let clientTrustRoots {
            configuration.trustRoots = .certificates(clientTrustRoots)
            configuration.certificateVerification = .noHostnameVerification
        }
        return configuration
    }

    /// Installs the listener's peer link handlers on `channel` (after its preface was read).
    public static func configurePeerLink(_ channel: any Channel, acceptor: any PeerLinkAcceptor, limits: Limits) throws {
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(ByteToMessageHandler(PeerLinkFrameDecoder(maximumFrameBytes: limits.maximumPeerLinkFrameBytes)))
        try sync.addHandler(PeerLinkServerHandler(acceptor: acceptor))
    }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { $0.connections.removeValue(forKey: id) }
        }
    }

    /// Stops accepting connections, sends every gRPC connection GOAWAY (calls in progress finish,
    /// new ones are refused) and closes peer links, and waits up to `timeout` for them to close before closing what is left.
    public func shutdownGracefully(timeout: Duration = .seconds(5)) async {
        let (listener, connections) = state.withLock { ($0.listener, Array($0.connections.values)) }
        try? await listener?.close()
        for channel in connections {
            channel.eventLoop.execute {
                if let handler = try? channel.pipeline.syncOperations.handler(type: GRPCConnectionHandler.self) {
                    handler.quiesce()
                } else {
                    channel.close(promise: nil)  // a peer link (its dialer reconnects elsewhere), or not yet known
                }
            }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !state.withLock({ $0.connections.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for channel in state.withLock({ Array($0.connections.values) }) { try? await channel.close() }
    }

    /// Open client connections (for tests).
    public var connectionCount: Int { state.withLock { $0.connections.count } }
}
