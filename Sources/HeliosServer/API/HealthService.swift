import GRPCCore
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// The standard `grpc.health.v1.Health` service, so stock probes (grpc_health_probe, Kubernetes)
/// work. A server is SERVING when its Raft loop runs and a leader is known.
struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    let node: HeliosServerNode

    static let services: Set<String> = [
        "", "helios.v1.Jobs", "helios.v1.Allocations", "helios.v1.Nodes", "helios.v1.Events", "helios.v1.Operator",
        "helios.v1.Agents", "helios.v1.Raft", "helios.v1.Cluster", "grpc.health.v1.Health",
    ]

    private var current: Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        guard !node.isStopping, let status = node.driver.status, status.leader != 0 else { return .notServing }
        return .serving
    }

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard Self.services.contains(request.service) else {
            throw RPCError(code: .notFound, message: "service '\(request.service)' is not served here")
        }
        return .with { $0.status = current }
    }

    func watch(
        request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>, context: ServerContext
    ) async throws {
        var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
        while !Task.isCancelled {
            let status: Grpc_Health_V1_HealthCheckResponse.ServingStatus = Self.services.contains(request.service) ? current : .serviceUnknown
            if status != last {
                try await response.write(.with { $0.status = status })
                last = status
            }
            if node.isStopping { return }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}
