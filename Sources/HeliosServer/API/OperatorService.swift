import CCRC32C
import Foundation
import GRPCCore
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosSnapshot
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// `helios.v1.Operator`: Raft membership and leadership, snapshots, compaction, cluster health.
/// Calls only the leader can carry out are forwarded to it.
struct OperatorService: Helios_V1_Operator.SimpleServiceProtocol {
    let node: HeliosServerNode

    private var isLeader: Bool { node.driver.status?.role == .leader }

    func raftPeers(request: Helios_V1_RaftPeersRequest, context: ServerContext) async throws -> Helios_V1_RaftPeersResponse {
        if !isLeader {
            // Match indexes are only known to the leader.
            if let client = try? node.leaderClient() {
                return try await Helios_V1_Operator.Client(wrapping: client).raftPeers(request, options: HeliosServerNode.forwardingOptions)
            }
        }
        guard let status = node.driver.status else { throw RPCError(code: .unavailable, message: "the Raft loop is not running yet") }
        let addresses = node.serverAddresses
        let members = status.configuration.voters.union(status.configuration.learners).sorted()
        return .with {
            $0.peers = members.map { id in
                .with {
                    $0.id = id
                    $0.address = addresses[id] ?? ""
                    $0.voter = status.configuration.voters.contains(id)
                    $0.leader = id == status.leader
                    $0.matchIndex = status.progress[id]?.match ?? (id == status.id ? status.lastIndex : 0)
                }
            }
            $0.term = status.term
            $0.commitIndex = status.commit
        }
    }

    func addPeer(request: Helios_V1_AddPeerRequest, context: ServerContext) async throws -> Helios_V1_WriteResult {
        guard request.id != 0 else { throw RPCError(code: .invalidArgument, message: "id: must be a positive server id") }
        guard PeerAddress(request.address) != nil else {
            throw RPCError(code: .invalidArgument, message: "address: '\(request.address)' is not host:port")
        }
        if !isLeader { return try await Helios_V1_Operator.Client(wrapping: node.leaderClient()).addPeer(request, options: HeliosServerNode.forwardingOptions) }
        let addresses = node.serverAddresses
        if let existing = addresses.first(where: { $0.value == request.address && $0.key != request.id }) {
            throw RPCError(code: .alreadyExists, message: "address: \(request.address) already belongs to server \(existing.key)")
        }
        var members = addresses
        members[request.id] = request.address
        let voters = node.driver.membership?.voters ?? []
        // Record the address first, so every server can reach the new one once it is a member.
        _ = try await node.propose(membershipEvent(members, voters: request.voter ? voters.union([request.id]) : voters)).requireApplied()
        let change = ConfigurationChange(request.voter ? .addVoter : .addLearner, node: request.id)
        let index = try await changeConfiguration(change)
        return .with { $0.index = index }
    }

    func removePeer(request: Helios_V1_RemovePeerRequest, context: ServerContext) async throws -> Helios_V1_WriteResult {
        guard request.id != 0 else { throw RPCError(code: .invalidArgument, message: "id: must be a positive server id") }
        if !isLeader { return try await Helios_V1_Operator.Client(wrapping: node.leaderClient()).removePeer(request, options: HeliosServerNode.forwardingOptions) }
        guard let configuration = node.driver.membership,
            configuration.voters.contains(request.id) || configuration.learners.contains(request.id)
        else {
            throw RPCError(code: .notFound, message: "server \(request.id): not a member; see 'helios operator raft list-peers'")
        }
        let index = try await changeConfiguration(ConfigurationChange(.remove, node: request.id))
        var members = node.serverAddresses
        members[request.id] = nil
        _ = try? await node.propose(membershipEvent(members, voters: configuration.voters.subtracting([request.id])))
        return .with { $0.index = index }
    }

    private func changeConfiguration(_ change: ConfigurationChange) async throws -> UInt64 {
        do {
            return try await node.driver.proposeConfigurationChange(change, timeout: .seconds(10))
        } catch let error as ProposalError {
            throw RPCError(code: .failedPrecondition, message: "membership change \(change) did not commit: \(error)")
        }
    }

    private func membershipEvent(_ members: [NodeID: String], voters: Set<NodeID>) -> Event {
        .with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.clusterConfigurationChanged = .with {
                $0.members = members.keys.sorted().map { id in
                    .with {
                        $0.id = id
                        $0.address = members[id]!
                        $0.voter = voters.contains(id)
                    }
                }
            }
        }
    }

    func transferLeadership(request: Helios_V1_TransferLeadershipRequest, context: ServerContext) async throws -> Helios_V1_WriteResult {
        if !isLeader { return try await Helios_V1_Operator.Client(wrapping: node.leaderClient()).transferLeadership(request, options: HeliosServerNode.forwardingOptions) }
        guard let status = node.driver.status else { throw RPCError(code: .unavailable, message: "the Raft loop is not running yet") }
        var target = request.to
        if target == 0 {
            target = status.progress.filter { $0.key != status.id && status.configuration.voters.contains($0.key) }
                .max { ($0.value.match, $1.key) < ($1.value.match, $0.key) }?.key ?? 0
            guard target != 0 else {
                throw RPCError(code: .failedPrecondition, message: "no other voter to transfer leadership to")
            }
        }
        guard status.configuration.voters.contains(target), target != status.id else {
            throw RPCError(code: .invalidArgument, message: "to: server \(target) is not another voter of this cluster")
        }
        node.driver.transferLeadership(to: target)
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let now = node.driver.status, now.leader == target { return .with { $0.index = now.commit } }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RPCError(code: .deadlineExceeded, message: "server \(target) did not take over within 5 s; it may be behind; retry")
    }

    func snapshotSave(
        request: Helios_V1_SnapshotSaveRequest, response: RPCWriter<Helios_V1_SnapshotChunk>, context: ServerContext
    ) async throws {
        let state = try await node.view(stale: false)
        let term = (try? node.storage.term(at: state.appliedIndex)) ?? node.driver.status?.term ?? 0
        let configuration = node.driver.membership ?? ConfigurationState()
        let position = SnapshotPosition(
            index: state.appliedIndex, term: term, voters: configuration.voters.sorted(), learners: configuration.learners.sorted())
        let bytes: [UInt8]
        do {
            bytes = try SnapshotWriter.bytes(state, position: position, createdAtMs: HeliosServerNode.nowMilliseconds())
        } catch {
            throw RPCError(code: .internalError, message: "snapshot at index \(state.appliedIndex) could not be written: \(error)")
        }
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + (1 << 20))
            try await response.write(.with { $0.data = Data(bytes[offset..<end]) })
            offset = end
        }
    }

    func compact(request: Helios_V1_CompactRequest, context: ServerContext) async throws -> Helios_V1_CompactResponse {
        let index: UInt64
        do {
            index = try await node.driver.compactNow()
        } catch {
            throw RPCError(code: .unavailable, message: "compaction on server \(node.configuration.nodeID) failed: \(error)")
        }
        let size = (try? node.snapshotStore.latest())?.data.count ?? 0
        return .with {
            $0.index = index
            $0.snapshotBytes = UInt64(size)
        }
    }

    func clusterInfo(request: Helios_V1_ClusterInfoRequest, context: ServerContext) async throws -> Helios_V1_ClusterInfoResponse {
        guard let status = node.driver.status else { throw RPCError(code: .unavailable, message: "the Raft loop is not running yet") }
        let (applied, digest) = request.withStateDigest ? await node.stateMachine.digest() : (node.stateMachine.read(\.appliedIndex), 0)
        return .with {
            $0.nodeID = node.configuration.nodeID
            $0.leaderID = status.leader
            $0.leaderAddress = node.serverAddresses[status.leader] ?? ""
            $0.term = status.term
            $0.commitIndex = status.commit
            $0.appliedIndex = applied
            $0.stateDigest = digest
            $0.version = HeliosServerNode.version
        }
    }
}
