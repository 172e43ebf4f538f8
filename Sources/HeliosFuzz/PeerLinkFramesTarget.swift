import Foundation
import HeliosEdge
import HeliosProto
import NIOCore
import NIOEmbedded
import SwiftProtobuf

/// Feeds the input, after the peer link preface, to a listener's peer link handlers (an embedded
/// channel; the acceptor takes hellos for server 1 and decodes raft frames as a server does): the
/// link serves or closes with an error frame, never crashes, and buffers no frame over the limit.
/// Byte 0 picks how the rest is split into reads (1 to 256 bytes each).
enum PeerLinkFramesTarget: FuzzTarget {
    static let name = "peer-link"
    static let summary = "raw peer link frames into a listener: served or refused with an error frame, never a crash"

    static let maximumFrameBytes = 4096

    struct Acceptor: PeerLinkAcceptor {
        func accept(_ hello: PeerLinkHello, link: PeerLinkInbound) throws(PeerLinkError) -> any PeerLinkReceiver {
            guard hello.receiver == 1 else { throw PeerLinkError("this is server 1, not \(hello.receiver)") }
            return Receiver(sender: hello.sender, link: link)
        }
    }

    struct Receiver: PeerLinkReceiver {
        let sender: UInt64
        let link: PeerLinkInbound

        func received(_ frame: PeerLinkFrame) throws(PeerLinkError) {
            guard frame.payload.readableBytes <= maximumFrameBytes else { violated("a frame of \(frame.payload.readableBytes) bytes passed a limit of \(maximumFrameBytes)") }
            switch frame.kind {
            case .raft:
                guard let batch = try? Helios_V1_RaftBatch(serializedBytes: Array(buffer: frame.payload)) else {
                    throw PeerLinkError("not a RaftBatch")
                }
                for message in batch.messages where message.from != sender || message.to != 1 {
                    throw PeerLinkError("message from \(message.from) to \(message.to) on server \(sender)'s link")
                }
            case .request:
                let (id, body) = try frame.splitRequestID()
                if (try? Helios_V1_ProposeRequest(serializedBytes: Array(buffer: body))) != nil {
                    link.respond(to: id, [])
                } else {
                    link.fail(id, code: 3, "not a ProposeRequest")
                }
            default:
                violated("the handler passed a \(frame.kind) frame to the receiver")
            }
        }

        func closed() {}
    }

    /// A hello, raft frames and requests as a server's dialer writes them.
    static func seeds() throws -> [[UInt8]] {
        var frames = ByteBuffer()
        PeerLinkHello(sender: 2, receiver: 1).frame.write(to: &frames)
        let heartbeat = Helios_V1_RaftBatch.with { $0.messages = [.with { $0.type = 7; $0.from = 2; $0.to = 1; $0.term = 3; $0.commit = 9 }] }
        PeerLinkFrame(kind: .raft, payload: ByteBuffer(bytes: try heartbeat.serializedBytes() as [UInt8])).write(to: &frames)
        PeerLinkFrame.request(.request, id: 1, try Helios_V1_ProposeRequest.with { $0.event = Data([1, 2, 3]) }.serializedBytes()).write(to: &frames)
        PeerLinkFrame.request(.request, id: 2, [0xFF, 0xFF]).write(to: &frames)
        PeerLinkFrame(kind: .raft, payload: ByteBuffer()).write(to: &frames)
        let bytes = Array(buffer: frames)
        return [[0] + bytes, [200] + bytes]
    }

    static func run(_ input: [UInt8]) -> String {
        guard let split = input.first else { return "empty" }
        guard input.count <= 1 << 20 else { return "too large" }
        var limits = GRPCServerEndpoint.Limits()
        limits.maximumPeerLinkFrameBytes = maximumFrameBytes
        let channel = EmbeddedChannel()
        do {
            try GRPCServerEndpoint.configurePeerLink(channel, acceptor: Acceptor(), limits: limits)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        } catch {
            violated("the peer link handlers could not be set up: \(error)")
        }
        var answers = ByteBuffer()
        var outcome = feed(Array(input.dropFirst()), step: Int(split) + 1, into: channel) { channel in
            while var part = try? channel.readOutbound(as: ByteBuffer.self) { answers.writeBuffer(&part) }
        } ? "refused" : "served"
        if !channel.isActive { outcome = "refused" }
        // Whatever the listener wrote back is well-formed frames: responses and errors.
        var decoder = PeerLinkFrameDecoder(maximumFrameBytes: 1 << 20)
        do {
            while let frame = try decoder.decode(buffer: &answers) {
                guard frame.kind == .response || frame.kind == .error else { violated("the listener wrote a \(frame.kind) frame") }
            }
        } catch {
            violated("the listener wrote a malformed frame: \(error)")
        }
        if answers.readableBytes > 0 { violated("the listener wrote \(answers.readableBytes) bytes that are not a whole frame") }
        _ = try? channel.finish()
        return outcome
    }
}
