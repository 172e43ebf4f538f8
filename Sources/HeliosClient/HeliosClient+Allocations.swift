import GRPCCore
import HeliosAPI
import HeliosProto
import SwiftProtobuf

extension HeliosClient {
    /// An allocation by full id or unique prefix (8 characters are usually enough).
    public func allocation(_ id: String, stale: Bool = false) async throws(HeliosClientError) -> Helios_V1_Allocation {
        try await withRetries("get allocation \(id)") { client, _ in
            try await Helios_V1_Allocations.Client(wrapping: client).get(
                .with {
                    $0.allocationID = id
                    $0.read.stale = stale
                }, options: unaryOptions
            ).allocation
        }
    }

    /// Allocations filtered by job, node and client status (empty filters match everything).
    public func allocations(
        job: String = "", node: String = "", status: Helios_V1_AllocationClientStatus = .unspecified, stale: Bool = false
    ) async throws(HeliosClientError) -> [Helios_V1_Allocation] {
        try await withRetries("list allocations") { client, _ in
            try await Helios_V1_Allocations.Client(wrapping: client).list(
                .with {
                    $0.jobID = job
                    $0.nodeID = node
                    $0.status = status
                    $0.read.stale = stale
                }, options: unaryOptions
            ).allocations
        }
    }

    /// Stops one allocation; the scheduler replaces it if its job still wants it.
    public func stopAllocation(_ id: String) async throws(HeliosClientError) -> Helios_V1_StopAllocationResponse {
        try await withRetries("stop allocation \(id)") { client, _ in
            try await Helios_V1_Allocations.Client(wrapping: client).stop(.with { $0.allocationID = id }, options: unaryOptions)
        }
    }

    /// Restarts an allocation's tasks (or one task) in place, on the same node.
    @discardableResult
    public func restartAllocation(_ id: String, task: String = "") async throws(HeliosClientError) -> UInt64 {
        try await withRetries("restart allocation \(id)") { client, _ in
            try await Helios_V1_Allocations.Client(wrapping: client).restart(
                .with {
                    $0.allocationID = id
                    $0.task = task
                }, options: unaryOptions
            ).index
        }
    }

    /// Streams a task's stdout or stderr (relayed by the server from the agent that runs it) into
    /// `onChunk`. With `follow` the stream continues across log rotation until the task's log ends
    /// or the caller cancels. Connection failures are retried only before the first chunk arrived.
    public func logs(
        _ request: Helios_V1_LogsRequest, onChunk: @escaping @Sendable (Helios_V1_LogChunk) async throws -> Void
    ) async throws(HeliosClientError) {
        var options = CallOptions.defaults
        options.waitForReady = false
        if !request.follow { options.timeout = configuration.callTimeout }
        try await withRetries("logs of allocation \(request.allocationID)") { client, _ in
            try await Helios_V1_Allocations.Client(wrapping: client).logs(request, options: options) { response in
                for try await chunk in response.messages { try await onChunk(chunk) }
            }
        }
    }
}
