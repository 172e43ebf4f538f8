import HeliosEdge
import HeliosProto
import HeliosRaft
import HeliosReplication
import Logging
import NIOCore
import SwiftProtobuf
import Synchronization

/// The Raft messages and forwarded proposals of one server, over a peer link to each other server
/// (`Formats/peer-link.md`): each `send` becomes one frame per peer (one write, one syscall), or
/// several of at most ``frameBytes`` when it carries more: a leader whose follower comes back from
/// a stall can hand it hundreds of 1 MiB appends in one Ready, and the link then drops what does
/// not fit its write buffer frame by frame instead of writing one frame of hundreds of MiB.
final class LinkRaftTransport: ServerRaftTransport {
    /// The most message bytes one frame carries (a single larger message goes alone).
    static let frameBytes = 4 << 20

    private let own: NodeID
    private let links: Mutex<[NodeID: PeerLinkClient]>
    private let logger: Logger

    init(own: NodeID, peers: [NodeID: PeerAddress], logger: Logger) {
        self.own = own
        self.logger = logger
        links = Mutex([:])
        update(peers: peers)
    }

    func update(peers addresses: [NodeID: PeerAddress]) {
        let retired = links.withLock { links -> [PeerLinkClient] in
            var retired: [PeerLinkClient] = []
            for (id, link) in links where addresses[id].map({ $0.host != link.host || $0.port != link.port }) ?? true {
                retired.append(link)
                links[id] = nil
            }
            for (id, address) in addresses where links[id] == nil && id != own {
                links[id] = PeerLinkClient(
                    hello: PeerLinkHello(sender: own, receiver: id), host: address.host, port: address.port, logger: logger)
            }
            return retired
        }
        for link in retired { link.close() }
    }

    func send(_ messages: [HeliosRaft.Message]) {
        var byPeer: [NodeID: [HeliosRaft.Message]] = [:]
        for message in messages { byPeer[message.to, default: []].append(message) }
        for (id, batch) in byPeer {
            guard let link = links.withLock({ $0[id] }) else {
                logger.debug("dropping Raft messages to unknown peer", metadata: ["peer": "\(id)"])
                continue
            }
            for frame in Self.frames(batch) { link.send(frame) }
        }
    }

    /// `messages` as raft frames of at most ``frameBytes`` of messages each. A `RaftBatch` is its
    /// messages one after another, each as field 1 (tag 0x0a, a varint length, the message).
    static func frames(_ messages: [HeliosRaft.Message]) -> [PeerLinkFrame] {
        var frames: [PeerLinkFrame] = []
        var payload = ByteBuffer()
        for message in messages {
            guard let bytes: [UInt8] = try? RaftMessageCoding.encode(message).serializedBytes() else { continue }
            if payload.readableBytes > 0 && payload.readableBytes + bytes.count > frameBytes {
                frames.append(PeerLinkFrame(kind: .raft, payload: payload))
                payload = ByteBuffer()
            }
            payload.writeInteger(UInt8(0x0a))
            var length = UInt64(bytes.count)
            while length >= 0x80 {
                payload.writeInteger(UInt8(truncatingIfNeeded: length) | 0x80)
                length >>= 7
            }
            payload.writeInteger(UInt8(length))
            payload.writeBytes(bytes)
        }
        if payload.readableBytes > 0 { frames.append(PeerLinkFrame(kind: .raft, payload: payload)) }
        return frames
    }

    /// Hands `request` to server `leader` and returns its answer.
    func forward(_ request: Helios_V1_ProposeRequest, to leader: NodeID, timeout: Duration) async throws -> Helios_V1_ProposeResponse {
        guard let link = links.withLock({ $0[leader] }) else { throw PeerLinkClient.RequestError.unavailable("server \(leader) is not in this server's peer list") }
        let answer = try await link.request(try request.serializedBytes(), timeout: timeout)
        return try Helios_V1_ProposeResponse(serializedBytes: Array(buffer: answer))
    }

    func shutdown() {
        for link in links.withLock({ Array($0.values) }) { link.close() }
    }
}
