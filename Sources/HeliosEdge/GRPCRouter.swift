import NIOCore

/// The methods a ``GRPCServerEndpoint`` serves, by path (`/package.Service/Method`).
///
/// Handlers are called on the connection's event loop with the request bytes (a protobuf message
/// or whatever the method carries; the layer does not decode it) and answer through the
/// ``GRPCCall``, from any thread, as soon or as late as they like: a handler that can answer at
/// once (a health check, a stale read) does so without leaving the event loop; one that waits for
/// Raft answers from the callback that tells it the outcome.
public struct GRPCRouter: Sendable {
    /// How a method is called.
    public enum Method: Sendable {
        /// One request message, one response: ``GRPCCall/respond(_:)`` or ``GRPCCall/finish(_:)``.
        case unary(@Sendable (ByteBuffer, GRPCCall) -> Void)
        /// One request message, any number of responses: ``GRPCCall/send(_:)`` each (its future
        /// completes when the client has room for more), then ``GRPCCall/finish(_:)``.
        case serverStreaming(@Sendable (ByteBuffer, GRPCCall) -> Void)
        /// Request messages as they arrive, on the event loop, to the returned receiver; one
        /// response (``GRPCCall/respond(_:)``) or a status.
        case clientStreaming(@Sendable (GRPCCall) -> any GRPCRequestReceiver)
    }

    private(set) var methods: [String: Method] = [:]

    public init() {}

    /// Serves `method` at `path` (`/helios.v1.Jobs/Register`). A path registered twice keeps the last.
    public mutating func register(_ path: String, _ method: Method) {
        methods[path] = method
    }

    /// The paths served.
    public var paths: [String] { methods.keys.sorted() }

    func method(for path: String) -> Method? { methods[path] }
}

/// Receives a client-streaming call's request messages on the connection's event loop.
public protocol GRPCRequestReceiver: Sendable {
    /// A request message arrived.
    func receive(_ message: ByteBuffer)
    /// The client ended its stream (half-close): no more messages will come.
    func end()
}
