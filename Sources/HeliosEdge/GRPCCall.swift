import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOSSL
import Synchronization

/// One call being served: what the client asked (path, metadata, deadline, peer) and how to answer.
///
/// Every method may be called from any thread; answers reach the client in the order they are made.
/// After the call ends (finished, cancelled by the client, past its deadline, connection gone),
/// further answers are dropped and ``send(_:)`` fails.
public final class GRPCCall: Sendable {
    /// The method's path, `/package.Service/Method`.
    public let path: String
    /// The request headers (metadata), e.g. an authorization token.
    public let metadata: HPACKHeaders
    /// The peer's address (`ipv4:127.0.0.1:51234`).
    public let remotePeer: String
    /// When the client stops waiting (`grpc-timeout`), if it said.
    public let deadline: NIODeadline?
    /// The certificate the client presented and TLS verified (mutual TLS), nil on a plaintext
    /// connection or without a client certificate.
    public let peerCertificate: NIOSSLCertificate?
    let eventLoop: any EventLoop
    let streamID: HTTP2StreamID
    private let connection: NIOLoopBound<GRPCConnectionHandler>
    private let cancellation = Mutex<(cancelled: Bool, callbacks: [@Sendable () -> Void])>((false, []))

    init(
        path: String, metadata: HPACKHeaders, remotePeer: String, peerCertificate: NIOSSLCertificate?, deadline: NIODeadline?,
        streamID: HTTP2StreamID, connection: GRPCConnectionHandler, eventLoop: any EventLoop
    ) {
        self.path = path
        self.peerCertificate = peerCertificate
        self.metadata = metadata
        self.remotePeer = remotePeer
        self.deadline = deadline
        self.streamID = streamID
        self.eventLoop = eventLoop
        self.connection = NIOLoopBound(connection, eventLoop: eventLoop)
    }

    /// Answers a unary or client-streaming call: the response message, then status OK.
    public func respond(_ message: [UInt8]) {
        onLoop { $0.respond(self.streamID, message: message) }
    }

    /// Sends one response message of a server-streaming call. The future completes when the client
    /// has room for more (flow control), and fails once the call has ended.
    @discardableResult
    public func send(_ message: [UInt8]) -> EventLoopFuture<Void> {
        guard eventLoop.inEventLoop else { return eventLoop.flatSubmit { self.send(message) } }
        return connection.value.send(streamID, message: message)
            ?? eventLoop.makeFailedFuture(GRPCStatus(.cancelled, "\(path): the call has ended"))
    }

    /// Ends the call with `status` (OK after the messages sent, or an error).
    public func finish(_ status: GRPCStatus) {
        onLoop { $0.finish(self.streamID, status: status) }
    }

    /// Whether the call ended before it was answered: the client cancelled, the deadline passed, or
    /// the connection closed.
    public var isCancelled: Bool { cancellation.withLock { $0.cancelled } }

    /// Runs `callback` once when the call is cancelled (at once if it already was).
    public func onCancel(_ callback: @escaping @Sendable () -> Void) {
        let now = cancellation.withLock { state -> Bool in
            if state.cancelled { return true }
            state.callbacks.append(callback)
            return false
        }
        if now { callback() }
    }

    /// Marks the call cancelled and runs the callbacks (the connection handler calls this).
    func cancel() {
        let callbacks = cancellation.withLock { state -> [@Sendable () -> Void] in
            guard !state.cancelled else { return [] }
            state.cancelled = true
            defer { state.callbacks = [] }
            return state.callbacks
        }
        for callback in callbacks { callback() }
    }

    private func onLoop(_ body: @escaping @Sendable (GRPCConnectionHandler) -> Void) {
        if eventLoop.inEventLoop {
            body(connection.value)
        } else {
            eventLoop.execute { body(self.connection.value) }
        }
    }
}
