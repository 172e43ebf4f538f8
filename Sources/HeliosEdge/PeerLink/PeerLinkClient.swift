import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The dialing end of a peer link to one server: one long-lived TCP connection (the preface, a
/// hello, then frames), reconnected with back-off (50 ms doubling to 1 s) while the client lives.
///
/// ``send(_:)`` is best effort, for Raft messages: while the connection is being made, frames wait
/// in a bounded queue; while ``Limits/writeBufferBytes`` of frames are handed to the connection and
/// not yet taken by the socket, new frames are dropped (Raft sends again). ``request(_:timeout:)`` is a call answered by the listener (a
/// forwarded proposal), failed at once if the connection cannot be made or breaks.
public final class PeerLinkClient: Sendable {
    /// Bounds on what the client holds.
    public struct Limits: Sendable {
        /// Bytes of frames queued while connecting (beyond it the oldest are dropped).
        public var queuedBytes = 64 << 20
        /// Bytes handed to the connection and not yet taken by the socket, beyond which new frames
        /// are dropped (counted from the caller's side, so a burst of sends from another thread is
        /// bounded too, not only what the event loop has seen).
        public var writeBufferBytes = 16 << 20
        /// The largest frame accepted from the listener.
        public var maximumFrameBytes = 64 << 20

        public init() {}
    }

    /// Why a request got no answer.
    public enum RequestError: Error, Sendable, CustomStringConvertible {
        /// The listener could not be reached, or the link broke before the answer.
        case unavailable(String)
        /// No answer within the timeout.
        case timeout
        /// The listener refused the request: a gRPC status code and its message.
        case refused(code: UInt8, message: String)

        public var description: String {
            switch self {
            case .unavailable(let reason): reason
            case .timeout: "no answer within the deadline"
            case .refused(_, let message): message
            }
        }
    }

    public let hello: PeerLinkHello
    public let host: String
    public let port: Int
    private let limits: Limits
    private let tls: (context: NIOSSLContext, serverHostname: String?)?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())
    /// Bytes of frames handed to the connection whose write has not completed.
    private let unwritten = Atomic<Int>(0)

    private struct State {
        var channel: (any Channel)?
        var connecting = false
        var closed = false
        var queue: [ByteBuffer] = []
        var queuedBytes = 0
        var backoff: Duration = .milliseconds(50)
        var nextRequest: UInt64 = 0
        var pending: [UInt64: CheckedContinuation<ByteBuffer, any Error>] = [:]
    }

    /// With `tls`, the link starts with a TLS handshake (the context carries this server's
    /// certificate for mutual TLS and the roots that verify the listener's); `serverHostname` is the
    /// name the listener's certificate must hold (nil: its address is checked as an IP).
    public init(
        hello: PeerLinkHello, host: String, port: Int, limits: Limits = Limits(), tls: (context: NIOSSLContext, serverHostname: String?)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.hello = hello
        self.host = host
        self.port = port
        self.limits = limits
        self.tls = tls
        self.group = group
        self.logger = logger
    }

    /// Sends a frame if the link can take it now or once connected; drops it otherwise. Returns
    /// false when it was dropped at once (the write buffer is full, or the link is closed).
    @discardableResult
    public func send(_ frame: PeerLinkFrame) -> Bool {
        let bytes = frame.encoded()
        let (channel, connect) = state.withLock { state -> ((any Channel)?, Bool) in
            guard !state.closed else { return (nil, false) }
            if let channel = state.channel { return (channel, false) }
            state.queue.append(bytes)
            state.queuedBytes += bytes.readableBytes
            while state.queuedBytes > limits.queuedBytes, !state.queue.isEmpty {
                state.queuedBytes -= state.queue.removeFirst().readableBytes
            }
            defer { state.connecting = true }
            return (nil, !state.connecting)
        }
        if let channel {
            // A peer that does not read (stopped, partitioned) must not grow this buffer: drop.
            let size = bytes.readableBytes
            let before = unwritten.add(size, ordering: .relaxed).oldValue
            guard before == 0 || before + size <= limits.writeBufferBytes else {
                unwritten.subtract(size, ordering: .relaxed)
                return false
            }
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { _ in self.unwritten.subtract(size, ordering: .relaxed) }
            channel.writeAndFlush(bytes, promise: written)
            return true
        }
        if connect { self.connect() }
        return !state.withLock { $0.closed }
    }

    /// Sends a request and waits for its answer.
    public func request(_ body: [UInt8], timeout: Duration) async throws -> ByteBuffer {
        let id = state.withLock { state -> UInt64 in
            state.nextRequest += 1
            return state.nextRequest
        }
        let loop = group.next()
        return try await withCheckedThrowingContinuation { continuation in
            let closed = state.withLock { state -> Bool in
                guard !state.closed else { return true }
                state.pending[id] = continuation
                return false
            }
            guard !closed else { return continuation.resume(throwing: RequestError.unavailable("the link to server \(hello.receiver) is closed")) }
            loop.scheduleTask(in: TimeAmount(timeout)) {
                self.complete(id, .failure(RequestError.timeout))
            }
            if !send(.request(.request, id: id, body)) {
                complete(id, .failure(RequestError.unavailable("the link to server \(hello.receiver) is full (the server is not reading); retry")))
            }
        }
    }

    /// Closes the link; pending requests fail.
    public func close() {
        let (channel, pending) = state.withLock { state -> ((any Channel)?, [CheckedContinuation<ByteBuffer, any Error>]) in
            state.closed = true
            defer {
                state.pending = [:]
                state.channel = nil
                state.queue = []
            }
            return (state.channel, Array(state.pending.values))
        }
        channel?.close(promise: nil)
        for continuation in pending { continuation.resume(throwing: RequestError.unavailable("the link to server \(hello.receiver) closed")) }
    }

    /// Whether the connection is up (for tests).
    public var isConnected: Bool { state.withLock { $0.channel != nil } }

    /// Bytes handed to the connection and not yet written to the socket (for tests).
    public var unwrittenBytes: Int { unwritten.load(ordering: .relaxed) }

    // MARK: Connection

    private func connect() {
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(1))
            .channelInitializer { [limits, tls] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname)) }
                    try sync.addHandler(ByteToMessageHandler(PeerLinkFrameDecoder(maximumFrameBytes: limits.maximumFrameBytes)))
                    try sync.addHandler(PeerLinkClientHandler(client: self))
                }
            }
        bootstrap.connect(host: host, port: port).whenComplete { result in
            switch result {
            case .success(let channel): self.connected(channel)
            case .failure(let error): self.disconnected(reason: "cannot connect to \(self.host):\(self.port): \(error)")
            }
        }
    }

    private func connected(_ channel: any Channel) {
        var first = channel.allocator.buffer(capacity: 64)
        first.writeBytes(PeerLinkFrame.preface)
        hello.frame.write(to: &first)
        let queued = state.withLock { state -> [ByteBuffer]? in
            guard !state.closed else { return nil }
            state.channel = channel
            state.connecting = false
            state.backoff = .milliseconds(50)
            defer {
                state.queue = []
                state.queuedBytes = 0
            }
            return state.queue
        }
        guard let queued else { return channel.close(promise: nil) }
        channel.write(first, promise: nil)
        for bytes in queued { channel.write(bytes, promise: nil) }
        channel.flush()
        channel.closeFuture.whenComplete { _ in self.disconnected(reason: "the link to server \(self.hello.receiver) closed") }
    }

    /// The connection failed or closed: pending requests fail, and a new connection is made after
    /// the back-off.
    private func disconnected(reason: String) {
        let (pending, delay) = state.withLock { state -> ([CheckedContinuation<ByteBuffer, any Error>], Duration?) in
            state.channel = nil
            defer { state.pending = [:] }
            guard !state.closed else { return (Array(state.pending.values), nil) }
            state.connecting = true
            let delay = state.backoff
            state.backoff = min(state.backoff * 2, .seconds(1))
            return (Array(state.pending.values), delay)
        }
        for continuation in pending { continuation.resume(throwing: RequestError.unavailable(reason)) }
        guard let delay else { return }
        logger.debug("peer link down", metadata: ["peer": "\(hello.receiver)", "address": "\(host):\(port)", "reason": "\(reason)"])
        group.next().scheduleTask(in: TimeAmount(delay)) {
            self.connect()
        }
    }

    /// A response or error frame arrived (on the channel's event loop).
    fileprivate func received(_ frame: PeerLinkFrame, channel: any Channel) {
        do {
            switch frame.kind {
            case .response:
                let (id, body) = try frame.splitRequestID()
                complete(id, .success(body))
            case .error:
                let (id, code, message) = try frame.errorFields()
                if id == 0 {
                    logger.error("server \(hello.receiver) refused the peer link", metadata: ["address": "\(host):\(port)", "error": "\(message)"])
                    channel.close(promise: nil)
                } else {
                    complete(id, .failure(RequestError.refused(code: code, message: message)))
                }
            case .hello, .raft, .request:
                throw PeerLinkError("server \(hello.receiver) sent a \(frame.kind) frame; a listener sends only responses and errors")
            }
        } catch {
            logger.error("closing a peer link that broke the format", metadata: ["peer": "\(hello.receiver)", "error": "\(error)"])
            channel.close(promise: nil)
        }
    }

    private func complete(_ id: UInt64, _ result: Result<ByteBuffer, any Error>) {
        guard let continuation = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return }
        continuation.resume(with: result)
    }
}

/// The dialer's pipeline end: hands the listener's frames to the client.
private final class PeerLinkClientHandler: ChannelInboundHandler {
    typealias InboundIn = PeerLinkFrame
    let client: PeerLinkClient

    init(client: PeerLinkClient) {
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        client.received(unwrapInboundIn(data), channel: context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
