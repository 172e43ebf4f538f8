import HeliosEdge
import HeliosProto
import HeliosRaft
import HeliosReplication
import Logging
import NIOCore
import SwiftProtobuf
import Synchronization

/// The Raft messages and forwarded proposals of one server, over a peer link to each other server
/// (`Formats/peer-link.md`): each `send` becomes one frame per peer, one write and one syscall.
final class LinkRaftTransport: ServerRaftTransport {
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
            let wire = Helios_V1_RaftBatch.with { $0.messages = batch.map(RaftMessageCoding.encode) }
            guard let bytes: [UInt8] = try? wire.serializedBytes() else { continue }
            link.send(PeerLinkFrame(kind: .raft, payload: ByteBuffer(bytes: bytes)))
        }
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

/// What a server's Raft transport offers besides sending: following membership and stopping.
protocol ServerRaftTransport: RaftTransport {
    /// Replaces the peer set (membership changed): new peers get a connection, removed ones lose theirs.
    func update(peers: [NodeID: PeerAddress])
    func shutdown()
}

extension GRPCRaftTransport: ServerRaftTransport {}
