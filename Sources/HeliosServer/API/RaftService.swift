import GRPCCore
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// `helios.v1.Raft`: message streams from the other servers, stepped into this node's Raft loop.
struct RaftService: Helios_V1_Raft.SimpleServiceProtocol {
    let node: HeliosServerNode

    func stream(request: RPCAsyncSequence<Helios_V1_RaftBatch, any Error>, context: ServerContext) async throws -> Helios_V1_RaftAck {
        // The stream lives as long as the sender's connection; a shutdown must not wait for it.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The sender, once its first message said who it is. When its stream ends (its
                // process exited, the connection broke), Raft hears of it: a follower that loses its
                // leader this way campaigns within a few ticks instead of a whole election timeout.
                var sender: NodeID = 0
                var refused = false
                defer {
                    if sender != 0 && !refused && !node.isStopping { node.driver.connectionClosed(from: sender) }
                }
                for try await batch in request {
                    do {
                        try deliver(batch)
                    } catch {
                        refused = true  // this side refused a message: not a sign that the sender is gone
                        throw error
                    }
                    if sender == 0, let first = batch.messages.first { sender = first.from }
                }
            }
            group.addTask {
                while !node.isStopping && !Task.isCancelled { try await Task.sleep(for: .milliseconds(100)) }
            }
            try await group.next()
            group.cancelAll()
        }
        return Helios_V1_RaftAck()
    }

    private func deliver(_ batch: Helios_V1_RaftBatch) throws {
        for wire in batch.messages {
            guard let message = RaftMessageCoding.decode(wire) else {
                throw RPCError(code: .invalidArgument, message: "messages: type \(wire.type) from server \(wire.from) is not a Raft message type")
            }
            guard message.to == node.configuration.nodeID else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "message for server \(message.to) reached server \(node.configuration.nodeID); check the --peer addresses")
            }
            node.driver.receive(message)
        }
    }
}

/// `helios.v1.Cluster`: a follower hands the leader a write it received.
struct ClusterService: Helios_V1_Cluster.SimpleServiceProtocol {
    let node: HeliosServerNode

    func propose(request: Helios_V1_ProposeRequest, context: ServerContext) async throws -> Helios_V1_ProposeResponse {
        try await propose(request)
    }

    /// Proposes a forwarded event here, the leader (over gRPC or the peer link).
    func propose(_ request: Helios_V1_ProposeRequest) async throws -> Helios_V1_ProposeResponse {
        let event: Event
        do {
            event = try Event(serializedBytes: Array(request.event))
        } catch {
            throw RPCError(code: .invalidArgument, message: "event: not a helios.v1.Event (\(error))")
        }
        guard node.driver.status?.role == .leader else {
            throw RPCError(code: .unavailable, message: "server \(node.configuration.nodeID) is no longer the leader; retry")
        }
        let outcome = try await node.propose(event)
        return .with {
            $0.index = outcome.index
            $0.refused = outcome.refused ?? ""
            $0.rejectedItems = outcome.rejectedItems
            $0.jobVersion = outcome.jobVersion ?? 0
        }
    }
}
