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

/// `helios.v1.Allocations`: read allocations, stop one (a replacement is planned), restart its tasks.
struct AllocationsService: Helios_V1_Allocations.SimpleServiceProtocol {
    let node: HeliosServerNode

    func get(request: Helios_V1_GetAllocationRequest, context: ServerContext) async throws -> Helios_V1_GetAllocationResponse {
        try await node.read(stale: request.read.stale) { state in
            try .with { $0.allocation = try RequestChecks.allocation(request.allocationID, in: state) }
        }
    }

    func list(request: Helios_V1_ListAllocationsRequest, context: ServerContext) async throws -> Helios_V1_ListAllocationsResponse {
        if case .UNRECOGNIZED(let value) = request.status {
            throw RPCError(code: .invalidArgument, message: "status: \(value) is not an allocation client status")
        }
        let state = try await node.view(stale: request.read.stale)
        var allocations: [Allocation]
        if !request.jobID.isEmpty {
            allocations = state.allocations(ofJob: request.jobID)
        } else if !request.nodeID.isEmpty {
            allocations = state.allocations(onNode: try RequestChecks.node(request.nodeID, in: state).id)
        } else if request.status != .unspecified {
            allocations = state.allocations(withStatus: request.status)
        } else {
            allocations = state.allocations.keys.sorted().map { state.allocations[$0]! }
        }
        if !request.nodeID.isEmpty { allocations.removeAll { !$0.nodeID.hasPrefix(request.nodeID) } }
        if request.status != .unspecified { allocations.removeAll { $0.clientStatus != request.status } }
        return .with {
            $0.allocations = allocations
            $0.index = state.appliedIndex
        }
    }

    func stop(request: Helios_V1_StopAllocationRequest, context: ServerContext) async throws -> Helios_V1_StopAllocationResponse {
        let allocation = try await node.read(stale: false) { try RequestChecks.allocation(request.allocationID, in: $0) }
        guard allocation.desiredStatus == .run else {
            throw RPCError(code: .failedPrecondition, message: "allocation \(allocation.id): already stopped (\(allocation.desiredDescription))")
        }
        let evaluation = Evaluation.with {
            $0.id = HeliosServerNode.newID()
            $0.jobID = allocation.jobID
            $0.trigger = .allocationFailure
            $0.status = .pending
        }
        let outcome = try await node.propose(.with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.allocationDesiredChanged = .with {
                $0.changes = [.with {
                    $0.allocationID = allocation.id
                    $0.desiredStatus = .stop
                    $0.description_p = "stopped by an operator"
                }]
                $0.evaluations = [evaluation]
            }
        }).requireApplied()
        if let rejected = outcome.rejectedItems.first { throw RPCError(code: .failedPrecondition, message: rejected) }
        return .with {
            $0.index = outcome.index
            $0.evaluationID = evaluation.id
        }
    }

    func restart(request: Helios_V1_RestartAllocationRequest, context: ServerContext) async throws -> Helios_V1_WriteResult {
        let allocation = try await node.read(stale: false) { try RequestChecks.allocation(request.allocationID, in: $0) }
        let outcome = try await node.propose(.with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.allocationRestartRequested = .with {
                $0.allocationID = allocation.id
                $0.task = request.task
            }
        }).requireApplied()
        return .with { $0.index = outcome.index }
    }

    func logs(request: Helios_V1_LogsRequest, response: RPCWriter<Helios_V1_LogChunk>, context: ServerContext) async throws {
        let (allocation, address) = try await node.read(stale: true) { state -> (Allocation, String) in
            let allocation = try RequestChecks.allocation(request.allocationID, in: state)
            guard let agent = state.nodes[allocation.nodeID] else {
                throw RPCError(code: .notFound, message: "node \(allocation.nodeID) of allocation \(allocation.id) is not registered")
            }
            return (allocation, agent.address)
        }
        guard let target = PeerAddress(address) else {
            throw RPCError(code: .failedPrecondition, message: "node \(allocation.nodeID) registered no client address ('\(address)'); cannot reach its agent")
        }
        var forwarded = request
        forwarded.allocationID = allocation.id
        do {
            try await withGRPCClient(transport: try target.clientTransport()) { client in
                var options = CallOptions.defaults
                options.waitForReady = false
                try await Helios_V1_AgentClient.Client(wrapping: client).logs(forwarded, options: options) { stream in
                    for try await chunk in stream.messages { try await response.write(chunk) }
                }
            }
        } catch let error as RPCError where error.code == .unavailable {
            throw RPCError(
                code: .unavailable,
                message: "the agent of node \(allocation.nodeID) at \(address) is unreachable (\(error.message)); is it running?")
        }
    }
}
