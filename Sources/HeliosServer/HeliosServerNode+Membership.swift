import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// Server addresses: the `--peer` flags at first, then the membership recorded in the state
/// (`ClusterConfigurationChanged`), which `AddPeer`/`RemovePeer` keep current.
extension HeliosServerNode {
    /// Every server's address as this server knows it (itself included).
    var serverAddresses: [NodeID: String] {
        let members = stateMachine.read { $0.members }
        if members.isEmpty { return configuration.peers }
        var addresses = configuration.peers
        for (id, member) in members { addresses[id] = member.address }
        return addresses.filter { members[$0.key] != nil }
    }

    /// Points the Raft transport and the forwarding clients at the current membership.
    func syncPeerConnections() {
        let wanted = serverAddresses.filter { $0.key != configuration.nodeID }
        let changed = knownPeers.withLock { known -> Bool in
            defer { known = wanted }
            return known != wanted
        }
        guard changed else { return }
        var addresses: [NodeID: PeerAddress] = [:]
        for (id, text) in wanted {
            guard let address = PeerAddress(text) else {
                logger.error("ignoring a member with an unusable address", metadata: ["server": "\(id)", "address": "\(text)"])
                continue
            }
            addresses[id] = address
        }
        raftTransport.update(peers: addresses)
        do {
            try peers.update(addresses: addresses)
        } catch {
            logger.error("cannot connect to the servers", metadata: ["error": "\(error)"])
        }
        logger.info("server addresses updated", metadata: ["servers": "\(wanted.sorted { $0.key < $1.key })"])
    }

    /// Records the membership in the state the first time a leader finds it missing (a new cluster).
    func recordInitialMembership() async {
        let (members, raftMembers) = (stateMachine.read { $0.members }, driver.membership)
        guard members.isEmpty, let raftMembers else { return }
        let event = Event.with {
            $0.timeMs = Self.nowMilliseconds()
            $0.clusterConfigurationChanged = .with {
                $0.members = raftMembers.voters.union(raftMembers.learners).sorted().map { id in
                    .with {
                        $0.id = id
                        $0.address = configuration.peers[id] ?? ""
                        $0.voter = raftMembers.voters.contains(id)
                    }
                }
            }
        }
        _ = try? await propose(event)
    }

    /// Options for calls forwarded to the leader: bounded, and failing fast when it is unreachable.
    static var forwardingOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(10)
        options.waitForReady = false
        return options
    }

    /// A client for the current leader (for calls only the leader can answer).
    func leaderClient() throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        guard let leader = driver.status?.leader, leader != 0 else {
            throw RPCError(code: .unavailable, message: "no leader is elected yet; retry in a few seconds")
        }
        guard let client = peers.client(for: leader) else {
            throw RPCError(code: .unavailable, message: "leader \(leader) is not in this server's peer list")
        }
        return client
    }
}
