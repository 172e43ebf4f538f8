import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// Carries Raft messages to peers over gRPC (`helios.v1.Raft/Send`): one long-lived connection per
/// peer, and everything queued for a peer while the previous batch was in flight goes in the next
/// batch. Best effort: a failed send is dropped (Raft retries) and reported through `unreachable`.
final class GRPCRaftTransport: RaftTransport, Sendable {
    private let peers: Mutex<[NodeID: Peer]>
    private let logger: Logger

    final class Peer: Sendable {
        let id: NodeID
        let address: PeerAddress
        let client: GRPCClient<HTTP2ClientTransport.Posix>
        let queue = Mutex<(messages: [HeliosRaft.Message], sending: Bool)>(([], false))
        let run: Task<Void, Never>

        init(id: NodeID, address: PeerAddress) throws {
            self.id = id
            self.address = address
            let transport = try address.clientTransport()
            let client = GRPCClient(transport: transport)
            self.client = client
            run = Task { try? await client.runConnections() }
        }
    }

    init(peers: [NodeID: PeerAddress], logger: Logger) throws {
        var built: [NodeID: Peer] = [:]
        for (id, address) in peers { built[id] = try Peer(id: id, address: address) }
        self.peers = Mutex(built)
        self.logger = logger
    }

    /// Replaces the peer set (membership changed): new peers get a connection, removed ones lose theirs.
    func update(peers addresses: [NodeID: PeerAddress]) {
        let retired = peers.withLock { peers -> [Peer] in
            var retired: [Peer] = []
            for (id, peer) in peers where addresses[id] != peer.address {
                retired.append(peer)
                peers[id] = nil
            }
            for (id, address) in addresses where peers[id] == nil {
                do {
                    peers[id] = try Peer(id: id, address: address)
                } catch {
                    logger.error("cannot create a Raft connection", metadata: ["peer": "\(id)", "address": "\(address)", "error": "\(error)"])
                }
            }
            return retired
        }
        for peer in retired {
            peer.client.beginGracefulShutdown()
            peer.run.cancel()
        }
    }

    func send(_ messages: [HeliosRaft.Message]) {
        var byPeer: [NodeID: [HeliosRaft.Message]] = [:]
        for message in messages { byPeer[message.to, default: []].append(message) }
        for (id, batch) in byPeer {
            guard let peer = peers.withLock({ $0[id] }) else {
                logger.debug("dropping Raft messages to unknown peer", metadata: ["peer": "\(id)"])
                continue
            }
            let start = peer.queue.withLock { state -> Bool in
                state.messages += batch
                if state.sending { return false }
                state.sending = true
                return true
            }
            if start { Task { await self.drain(peer) } }
        }
    }

    /// Sends whatever is queued for `peer`, batch after batch, until the queue is empty.
    private func drain(_ peer: Peer) async {
        let raft = Helios_V1_Raft.Client(wrapping: peer.client)
        while true {
            let batch = peer.queue.withLock { state -> [HeliosRaft.Message] in
                let batch = state.messages
                state.messages = []
                if batch.isEmpty { state.sending = false }
                return batch
            }
            if batch.isEmpty { return }
            let request = Helios_V1_RaftBatch.with { $0.messages = batch.map(RaftMessageCoding.encode) }
            var options = CallOptions.defaults
            options.timeout = .seconds(5)
            options.maxRequestMessageBytes = 64 << 20
            do {
                _ = try await raft.send(request, options: options)
            } catch {
                logger.debug("Raft send failed", metadata: ["peer": "\(peer.id)", "address": "\(peer.address)", "error": "\(error)"])
            }
        }
    }

    func shutdown() {
        for peer in peers.withLock({ Array($0.values) }) {
            peer.client.beginGracefulShutdown()
            peer.run.cancel()
        }
    }
}
