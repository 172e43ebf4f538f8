import GRPCCore
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// `helios.v1.Agents`: what `helios agent` calls. Heartbeats go to the leader (followers forward
/// them); allocation watches are served from any server's applied state.
struct AgentsService: Helios_V1_Agents.SimpleServiceProtocol {
    let node: HeliosServerNode

    func register(request: Helios_V1_AgentRegisterRequest, context: ServerContext) async throws -> Helios_V1_AgentRegisterResponse {
        var info = request.node
        _ = try RequestChecks.id(info.id, field: "node.id")
        if info.name.isEmpty { info.name = info.id }
        if info.datacenter.isEmpty { info.datacenter = "dc1" }
        guard info.resources.cpuMhz > 0 else {
            throw RPCError(code: .invalidArgument, message: "node.resources.cpu_mhz: must be positive (node \(info.id))")
        }
        guard info.resources.memoryMb > 0 else {
            throw RPCError(code: .invalidArgument, message: "node.resources.memory_mb: must be positive (node \(info.id))")
        }
        let isNew = try await node.read(stale: false) { $0.nodes[info.id] == nil }
        if isNew {
            info.eligible = true
        }
        info.status = .ready
        let outcome = try await node.propose(.with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.nodeRegistered = .with { $0.node = info }
        }).requireApplied()
        return .with {
            $0.heartbeatIntervalMs = node.heartbeatIntervalWithJitterMs()
            $0.index = outcome.index
        }
    }

    func heartbeat(request: Helios_V1_HeartbeatRequest, context: ServerContext) async throws -> Helios_V1_HeartbeatResponse {
        let id = try RequestChecks.id(request.nodeID, field: "node_id")
        guard node.driver.status?.role == .leader else {
            // The leader tracks liveness: hand the heartbeat over.
            return try await Helios_V1_Agents.Client(wrapping: node.leaderClient()).heartbeat(request, options: HeliosServerNode.forwardingOptions)
        }
        let status = node.stateMachine.read { $0.nodes[id]?.status }
        guard let status else {
            throw RPCError(code: .notFound, message: "node \(id): not registered; the agent must call Register first")
        }
        node.recordHeartbeat(id)
        if status == .down {
            await node.markNode(id, status: .ready, description: "heartbeats resumed")
        }
        return .with {
            $0.heartbeatIntervalMs = node.heartbeatIntervalWithJitterMs()
            $0.servers = node.serverAddresses.sorted { $0.key < $1.key }.map(\.value)
        }
    }

    func watchAllocations(
        request: Helios_V1_WatchAllocationsRequest, response: RPCWriter<Helios_V1_WatchAllocationsResponse>, context: ServerContext
    ) async throws {
        let id = try RequestChecks.id(request.nodeID, field: "node_id")
        let changes = node.stateMachine.changes.subscribe()
        var lastSent: (index: UInt64, ids: Set<String>, jobs: Set<String>)? = nil
        func sendIfNeeded(force: Bool) async throws {
            let (allocations, index) = node.stateMachine.read { ($0.allocations(onNode: id), $0.appliedIndex) }
            let ids = Set(allocations.map(\.id))
            if !force, let lastSent, lastSent.ids == ids, lastSent.index == index { return }
            guard index > request.afterIndex || lastSent != nil else { return }
            try await response.write(.with {
                $0.allocations = allocations
                $0.index = index
            })
            lastSent = (index, ids, Set(allocations.map(\.jobID)))
        }
        try await sendIfNeeded(force: true)
        for await change in changes {
            if Task.isCancelled { break }
            if change.reset {
                try await sendIfNeeded(force: true)
                continue
            }
            guard let event = change.event, change.refused == nil else { continue }
            if affects(event, node: id, sent: lastSent?.ids ?? [], jobs: lastSent?.jobs ?? []) {
                try await sendIfNeeded(force: true)
            }
        }
        if !Task.isCancelled && node.isStopping {
            throw RPCError(code: .unavailable, message: "server \(node.configuration.nodeID) is shutting down; reconnect to another server")
        }
    }

    /// Whether an applied event may change what `node` must run.
    private func affects(_ event: Event, node nodeID: String, sent: Set<String>, jobs: Set<String>) -> Bool {
        switch event.kind {
        case .allocationsPlanned(let plan):
            return plan.placed.contains { $0.nodeID == nodeID } || plan.stopped.contains { sent.contains($0.allocationID) }
        case .allocationDesiredChanged(let change):
            return change.changes.contains { sent.contains($0.allocationID) }
        case .allocationClientUpdated(let update):
            return update.updates.contains { sent.contains($0.allocationID) }
        case .allocationRestartRequested(let request):
            return sent.contains(request.allocationID)
        case .nodeStatusChanged(let change):
            return change.nodeID == nodeID
        case .jobPurged(let purged):
            return jobs.contains(purged.jobID)
        default:
            return false
        }
    }

    func updateAllocations(request: Helios_V1_UpdateAllocationsRequest, context: ServerContext) async throws -> Helios_V1_WriteResult {
        guard !request.updates.isEmpty else { throw RPCError(code: .invalidArgument, message: "updates: empty; send at least one") }
        for (i, update) in request.updates.enumerated() {
            _ = try RequestChecks.id(update.allocationID, field: "updates[\(i)].allocation_id")
            switch update.clientStatus {
            case .unspecified, .UNRECOGNIZED:
                throw RPCError(code: .invalidArgument, message: "updates[\(i)].client_status: must be pending, running, complete, failed or lost (allocation \(update.allocationID))")
            default:
                break
            }
        }
        // Failed allocations need an evaluation so the scheduler can reschedule them.
        let failedJobs = try await node.read(stale: true) { state in
            Set(request.updates.filter { $0.clientStatus == .failed }.compactMap { state.allocations[$0.allocationID]?.jobID })
        }
        let outcome = try await node.propose(.with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.allocationClientUpdated = .with {
                $0.updates = request.updates
                $0.evaluations = failedJobs.sorted().map { job in
                    .with {
                        $0.id = HeliosServerNode.newID()
                        $0.jobID = job
                        $0.trigger = .allocationFailure
                        $0.status = .pending
                    }
                }
            }
        }).requireApplied()
        if outcome.rejectedItems.count == request.updates.count {
            throw RPCError(code: .failedPrecondition, message: "no update applied: " + outcome.rejectedItems.prefix(5).joined(separator: "; "))
        }
        return .with { $0.index = outcome.index }
    }
}
