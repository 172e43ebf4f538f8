import HeliosRaft
import HeliosReplication

/// What a server's Raft transport offers besides sending: following membership and stopping.
protocol ServerRaftTransport: RaftTransport {
    /// Replaces the peer set (membership changed): new peers get a connection, removed ones lose theirs.
    func update(peers: [NodeID: PeerAddress])
    func shutdown()
}

extension GRPCRaftTransport: ServerRaftTransport {}
