import NIOCore
import NIOSSL
import Synchronization

/// Decides whether a dialing server may use the link, and receives what it sends.
public protocol PeerLinkAcceptor: Sendable {
    /// A dialer said hello. Returns the receiver of its frames, or throws to refuse the link (the
    /// dialer gets the error's description in an error frame, then the connection closes).
    func accept(_ hello: PeerLinkHello, link: PeerLinkInbound) throws(PeerLinkError) -> any PeerLinkReceiver
}

/// Receives one accepted link's frames, on the link's event loop, in order.
public protocol PeerLinkReceiver: Sendable {
    /// A ``PeerLinkFrame/Kind/raft`` or ``PeerLinkFrame/Kind/request`` frame. Throwing closes the
    /// link with an error frame naming the problem.
    func received(_ frame: PeerLinkFrame) throws(PeerLinkError)
    /// The link closed (the dialer went away, or the connection broke).
    func closed()
}

/// The listener's end of one peer link: answers requests, from any thread.
public final class PeerLinkInbound: Sendable {
    /// The dialer's address.
    public let remotePeer: String
    /// The certificate the dialer presented and TLS verified, nil on a plaintext link.
    public let peerCertificate: NIOSSLCertificate?
    private let channel: any Channel

    /// Called on the channel's event loop, after the handshake (a frame arrived).
    init(channel: any Channel) {
        self.channel = channel
        self.remotePeer = channel.remoteAddress.map { "\($0)" } ?? "unknown"
        self.peerCertificate = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
    }

    /// Answers request `id` with `response` (a ``PeerLinkFrame/Kind/response`` frame).
    public func respond(to id: UInt64, _ response: [UInt8]) {
        channel.writeAndFlush(PeerLinkFrame.request(.response, id: id, response).encoded(), promise: nil)
    }

    /// Refuses request `id` with a gRPC status code and a message.
    public func fail(_ id: UInt64, code: UInt8, _ message: String) {
        channel.writeAndFlush(PeerLinkFrame.error(id: id, code: code, message).encoded(), promise: nil)
    }
}

/// The listener's handler of a peer link connection (after ``PeerLinkFrameDecoder``): the first
/// frame must be a hello the acceptor takes; later frames go to its receiver. Any error ends the
/// link with a connection-level error frame that names it.
final class PeerLinkServerHandler: ChannelInboundHandler {
    typealias InboundIn = PeerLinkFrame
    typealias OutboundOut = ByteBuffer

    private let acceptor: any PeerLinkAcceptor
    private var receiver: (any PeerLinkReceiver)?
    private var failed = false

    init(acceptor: any PeerLinkAcceptor) {
        self.acceptor = acceptor
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = unwrapInboundIn(data)
        do throws(PeerLinkError) {
            if let receiver {
                switch frame.kind {
                case .raft, .request:
                    try receiver.received(frame)
                case .hello, .response, .error:
                    throw PeerLinkError("a \(frame.kind) frame from the dialing server; after hello it sends only raft and request frames")
                }
            } else {
                let hello = try PeerLinkHello(frame)
                receiver = try acceptor.accept(hello, link: PeerLinkInbound(channel: context.channel))
            }
        } catch {
            fail(context, error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        receiver?.closed()
        receiver = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, error as? PeerLinkError ?? PeerLinkError("\(error)"))
    }

    private func fail(_ context: ChannelHandlerContext, _ error: PeerLinkError) {
        guard !failed else { return }
        failed = true
        let frame = PeerLinkFrame.error(id: 0, code: 9 /* FAILED_PRECONDITION */, error.description)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame.encoded(allocator: context.channel.allocator))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
