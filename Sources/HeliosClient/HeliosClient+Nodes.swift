import GRPCCore
import HeliosAPI
import HeliosProto
import SwiftProtobuf

extension HeliosClient {
    /// Every node the cluster knows, with its status.
    public func nodes(stale: Bool = false) async throws(HeliosClientError) -> [Helios_V1_NodeInfo] {
        try await withRetries("list nodes") { client, _ in
            try await Helios_V1_Nodes.Client(wrapping: client).list(.with { $0.read.stale = stale }, options: unaryOptions).nodes
        }
    }

    /// One node and the allocations placed on it.
    public func node(_ id: String, stale: Bool = false) async throws(HeliosClientError) -> Helios_V1_GetNodeResponse {
        try await withRetries("get node \(id)") { client, _ in
            try await Helios_V1_Nodes.Client(wrapping: client).get(
                .with {
                    $0.nodeID = id
                    $0.read.stale = stale
                }, options: unaryOptions)
        }
    }

    /// Starts (or ends) draining a node: its allocations are migrated and it takes no new ones.
    /// `deadline` (from now) bounds how long allocations may keep running before they are stopped.
    @discardableResult
    public func drainNode(_ id: String, enable: Bool, deadline: Duration? = nil) async throws(HeliosClientError) -> UInt64 {
        let deadlineMS = deadline.map { UInt64(max(0, $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000)) } ?? 0
        return try await withRetries("drain node \(id)") { client, _ in
            try await Helios_V1_Nodes.Client(wrapping: client).drain(
                .with {
                    $0.nodeID = id
                    $0.enable = enable
                    $0.deadlineMs = deadlineMS
                }, options: unaryOptions
            ).index
        }
    }

    /// Marks a node eligible (or not) for new placements; running allocations stay.
    @discardableResult
    public func setNodeEligibility(_ id: String, eligible: Bool) async throws(HeliosClientError) -> UInt64 {
        try await withRetries("node eligibility \(id)") { client, _ in
            try await Helios_V1_Nodes.Client(wrapping: client).eligibility(
                .with {
                    $0.nodeID = id
                    $0.eligible = eligible
                }, options: unaryOptions
            ).index
        }
    }
}
