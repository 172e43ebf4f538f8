import NIOCore

/// The first handler of an accepted connection on a port that serves both gRPC and the peer link:
/// it reads the first bytes, and a connection that opens with ``PeerLinkFrame/preface`` becomes a
/// peer link, any other an HTTP/2 (gRPC) connection. It then installs that protocol's handlers,
/// hands them the bytes read so far and leaves.
final class ConnectionSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let installGRPC: (any Channel) throws -> Void
    private let installPeerLink: (any Channel) throws -> Void
    private var buffered: ByteBuffer?

    init(grpc: @escaping (any Channel) throws -> Void, peerLink: @escaping (any Channel) throws -> Void) {
        self.installGRPC = grpc
        self.installPeerLink = peerLink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if buffered == nil {
            buffered = bytes
        } else {
            buffered!.writeBuffer(&bytes)
        }
        let seen = buffered!.readableBytesView
        let preface = PeerLinkFrame.preface
        let compared = min(seen.count, preface.count)
        let isPeerLink = seen.prefix(compared).elementsEqual(preface.prefix(compared))
        if isPeerLink && seen.count < preface.count { return }  // wait for the whole preface
        do {
            var rest = buffered!
            buffered = nil
            if isPeerLink {
                rest.moveReaderIndex(forwardBy: preface.count)
                try installPeerLink(context.channel)
            } else {
                try installGRPC(context.channel)
            }
            // The new handlers come after this one: hand them what was read, then leave.
            if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
            context.fireChannelReadComplete()
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }
}
