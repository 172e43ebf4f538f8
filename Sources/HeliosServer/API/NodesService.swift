import GRPCCore
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// `helios.v1.Nodes`: the agents' nodes; drain and scheduling eligibility.
struct NodesService: Helios_V1_Nodes.SimpleServiceProtocol {
    let node: HeliosServerNode

    func list(request: Helios_V1_ListNodesRequest, context: ServerContext) async throws -> Helios_V1_ListNodesResponse {
        let state = try await node.view(stale: request.read.stale)
        return .with {
            $0.nodes = state.sortedNodes
            $0.index = state.appliedIndex
        }
    }

    func get(request: Helios_V1_GetNodeRequest, context: ServerContext) async throws -> Helios_V1_GetNodeResponse {
        _ = try RequestChecks.id(request.nodeID, field: "node_id")
        return try await node.read(stale: request.read.stale) { state in
            let info = try RequestChecks.node(request.nodeID, in: state)
            return .with {
                $0.node = info
                $0.allocations = state.allocations(onNode: info.id)
            }
        }
    }

    func drain(request: Helios_V1_DrainNodeRequest, context: ServerContext) async throws -> Helios_V1_WriteResult {
        _ = try RequestChecks.id(request.nodeID, field: "node_id")
        let now = HeliosServerNode.nowMilliseconds()
        let (id, evaluations) = try await node.read(stale: false) { state in
            let info = try RequestChecks.node(request.nodeID, in: state)
            let evaluations = request.enable
                ? HeliosServerNode.evaluationsForJobs(on: info.id, in: state, trigger: .nodeDrain, now: now) : []
            return (info.id, evaluations)
        }
        let outcome = try await node.propose(.with {
            $0.timeMs = now
            $0.nodeStatusChanged = .with {
                $0.nodeID = id
                $0.draining = request.enable
                if !request.enable { $0.eligible = true }
                $0.drainDeadlineMs = request.deadlineMs
                $0.description_p = request.enable ? "drain requested" : "drain ended"
                $0.evaluations = evaluations
            }
        }).requireApplied()
        return .with { $0.index = outcome.index }
    }

    func eligibility(request: Helios_V1_NodeEligibilityRequest, context: ServerContext) async throws -> Helios_V1_WriteResult {
        _ = try RequestChecks.id(request.nodeID, field: "node_id")
        let id = try await node.read(stale: false) { try RequestChecks.node(request.nodeID, in: $0).id }
        let outcome = try await node.propose(.with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.nodeStatusChanged = .with {
                $0.nodeID = id
                $0.eligible = request.eligible
            }
        }).requireApplied()
        return .with { $0.index = outcome.index }
    }
}
