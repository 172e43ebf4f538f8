import GRPCCore
import HeliosAPI
import HeliosEdge

extension HeliosServerNode {
    /// Every method of every service this server answers (the public API, the agents', the servers'
    /// and `grpc.health.v1`), on the edge layer. `EdgeRoutesTests` checks that each method of the
    /// generated service descriptors is here.
    func makeRouter() -> GRPCRouter {
        var router = GRPCRouter()
        let jobs = JobsService(node: self)
        router.unary(Helios_V1_Jobs.Method.Register.descriptor) { try await jobs.register(request: $0, context: $1) }
        router.unary(Helios_V1_Jobs.Method.Plan.descriptor) { try await jobs.plan(request: $0, context: $1) }
        router.unary(Helios_V1_Jobs.Method.Get.descriptor) { try await jobs.get(request: $0, context: $1) }
        router.unary(Helios_V1_Jobs.Method.List.descriptor) { try await jobs.list(request: $0, context: $1) }
        router.unary(Helios_V1_Jobs.Method.Stop.descriptor) { try await jobs.stop(request: $0, context: $1) }
        router.unary(Helios_V1_Jobs.Method.Purge.descriptor) { try await jobs.purge(request: $0, context: $1) }
        router.unary(Helios_V1_Jobs.Method.History.descriptor) { try await jobs.history(request: $0, context: $1) }
        router.unary(Helios_V1_Jobs.Method.Revert.descriptor) { try await jobs.revert(request: $0, context: $1) }

        let allocations = AllocationsService(node: self)
        router.unary(Helios_V1_Allocations.Method.Get.descriptor) { try await allocations.get(request: $0, context: $1) }
        router.unary(Helios_V1_Allocations.Method.List.descriptor) { try await allocations.list(request: $0, context: $1) }
        router.unary(Helios_V1_Allocations.Method.Stop.descriptor) { try await allocations.stop(request: $0, context: $1) }
        router.unary(Helios_V1_Allocations.Method.Restart.descriptor) { try await allocations.restart(request: $0, context: $1) }
        router.serverStreaming(Helios_V1_Allocations.Method.Logs.descriptor) { try await allocations.logs(request: $0, response: $1, context: $2) }

        let nodes = NodesService(node: self)
        router.unary(Helios_V1_Nodes.Method.List.descriptor) { try await nodes.list(request: $0, context: $1) }
        router.unary(Helios_V1_Nodes.Method.Get.descriptor) { try await nodes.get(request: $0, context: $1) }
        router.unary(Helios_V1_Nodes.Method.Drain.descriptor) { try await nodes.drain(request: $0, context: $1) }
        router.unary(Helios_V1_Nodes.Method.Eligibility.descriptor) { try await nodes.eligibility(request: $0, context: $1) }

        let events = EventsService(node: self)
        router.serverStreaming(Helios_V1_Events.Method.Stream.descriptor) { try await events.stream(request: $0, response: $1, context: $2) }

        let operations = OperatorService(node: self)
        router.unary(Helios_V1_Operator.Method.RaftPeers.descriptor) { try await operations.raftPeers(request: $0, context: $1) }
        router.unary(Helios_V1_Operator.Method.AddPeer.descriptor) { try await operations.addPeer(request: $0, context: $1) }
        router.unary(Helios_V1_Operator.Method.RemovePeer.descriptor) { try await operations.removePeer(request: $0, context: $1) }
        router.unary(Helios_V1_Operator.Method.TransferLeadership.descriptor) { try await operations.transferLeadership(request: $0, context: $1) }
        router.serverStreaming(Helios_V1_Operator.Method.SnapshotSave.descriptor) { try await operations.snapshotSave(request: $0, response: $1, context: $2) }
        router.unary(Helios_V1_Operator.Method.Compact.descriptor) { try await operations.compact(request: $0, context: $1) }
        router.unary(Helios_V1_Operator.Method.ClusterInfo.descriptor) { try await operations.clusterInfo(request: $0, context: $1) }

        let agents = AgentsService(node: self)
        router.unary(Helios_V1_Agents.Method.Register.descriptor) { try await agents.register(request: $0, context: $1) }
        router.unary(Helios_V1_Agents.Method.Heartbeat.descriptor) { try await agents.heartbeat(request: $0, context: $1) }
        router.serverStreaming(Helios_V1_Agents.Method.WatchAllocations.descriptor) { try await agents.watchAllocations(request: $0, response: $1, context: $2) }
        router.unary(Helios_V1_Agents.Method.UpdateAllocations.descriptor) { try await agents.updateAllocations(request: $0, context: $1) }

        let raft = RaftService(node: self)
        router.clientStreaming(Helios_V1_Raft.Method.Stream.descriptor) { try await raft.stream(request: $0, context: $1) }
        let cluster = ClusterService(node: self)
        router.unary(Helios_V1_Cluster.Method.Propose.descriptor) { try await cluster.propose(request: $0, context: $1) }

        let health = HealthService(node: self)
        router.unary(Grpc_Health_V1_Health.Method.Check.descriptor) { try await health.check(request: $0, context: $1) }
        router.serverStreaming(Grpc_Health_V1_Health.Method.Watch.descriptor) { try await health.watch(request: $0, response: $1, context: $2) }
        return router
    }
}
