import GRPCCore
import HeliosAPI
import HeliosEdge
import HeliosProto
import HeliosRaft
import HeliosReplication
import NIOCore
import SwiftProtobuf

/// Takes the peer links other servers dial to this one: Raft messages are stepped into the Raft
/// loop as they arrive (on the link's event loop, no task), forwarded proposals are proposed here.
struct RaftLinkAcceptor: PeerLinkAcceptor {
    let node: HeliosServerNode

    func accept(_ hello: PeerLinkHello, link: PeerLinkInbound) throws(PeerLinkError) -> any PeerLinkReceiver {
        let own = node.configuration.nodeID
        guard hello.receiver == own else {
            throw PeerLinkError("server \(hello.sender) dialed server \(hello.receiver) at \(node.configuration.rpcAddress), which is server \(own); check the --peer addresses")
        }
        guard hello.sender != own else {
            throw PeerLinkError("a peer link from server \(own) to itself; check the --peer addresses")
        }
        return Receiver(node: node, sender: hello.sender, link: link)
    }

    /// One accepted link: its sender is fixed by the hello, and every message must come from it.
    struct Receiver: PeerLinkReceiver {
        let node: HeliosServerNode
        let sender: NodeID
        let link: PeerLinkInbound

        func received(_ frame: PeerLinkFrame) throws(PeerLinkError) {
            switch frame.kind {
            case .raft: try step(frame.payload)
            case .request: try propose(frame)
            default: throw PeerLinkError("server \(sender) sent a \(frame.kind) frame; expected raft or request")
            }
        }

        func closed() {
            // A follower that loses its leader this way campaigns within a few ticks.
            if !node.isStopping { node.driver.connectionClosed(from: sender) }
        }

        private func step(_ payload: ByteBuffer) throws(PeerLinkError) {
            let own = node.configuration.nodeID
            let batch: Helios_V1_RaftBatch
            do {
                batch = try Helios_V1_RaftBatch(serializedBytes: Array(buffer: payload))
            } catch {
                throw PeerLinkError("a raft frame from server \(sender) is not a helios.v1.RaftBatch (\(error))")
            }
            for wire in batch.messages {
                guard let message = RaftMessageCoding.decode(wire) else {
                    throw PeerLinkError("a Raft message of type \(wire.type) from server \(sender) is not a Raft message type")
                }
                guard message.to == own, message.from == sender else {
                    throw PeerLinkError(
                        "a Raft message from server \(message.from) to server \(message.to) arrived on server \(sender)'s link to server \(own); check the --peer addresses")
                }
                node.driver.receive(message)
            }
        }

        private func propose(_ frame: PeerLinkFrame) throws(PeerLinkError) {
            let (id, body) = try frame.splitRequestID()
            let request: Helios_V1_ProposeRequest
            do {
                request = try Helios_V1_ProposeRequest(serializedBytes: Array(buffer: body))
            } catch {
                return link.fail(id, code: 3 /* INVALID_ARGUMENT */, "a forwarded proposal from server \(sender) is not a helios.v1.ProposeRequest (\(error))")
            }
            let (node, link) = (self.node, self.link)
            Task.immediate {
                do {
                    let response = try await ClusterService(node: node).propose(request)
                    link.respond(to: id, try response.serializedBytes())
                } catch let error as RPCError {
                    link.fail(id, code: UInt8(truncatingIfNeeded: error.code.rawValue), error.message)
                } catch {
                    link.fail(id, code: 14 /* UNAVAILABLE */, "\(error)")
                }
            }
        }
    }
}
