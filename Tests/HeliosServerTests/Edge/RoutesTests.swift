import GRPCCore
import HeliosAPI
import HeliosEdge
import HeliosTesting
import Logging
import Testing

@testable import HeliosServer

@Suite("Edge routes")
struct RoutesTests {
    @Test("every method of every service in Formats/proto that a server answers is routed on the edge layer, and nothing else")
    func everyMethodRouted() async throws {
        try await TemporaryDirectory.with("routes") { directory in
            let configuration = ServerConfiguration(
                nodeID: 1, rpcAddress: "127.0.0.1:1", peers: [1: "127.0.0.1:1"], bootstrap: true, dataDirectory: directory.path)
            let node = try await HeliosServerNode(configuration: configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let routed = node.makeRouter().paths
            node.shutdown()
            try await node.run()  // releases the data directory
            let services: [[MethodDescriptor]] = [
                Helios_V1_Jobs.Method.descriptors, Helios_V1_Allocations.Method.descriptors, Helios_V1_Nodes.Method.descriptors,
                Helios_V1_Events.Method.descriptors, Helios_V1_Operator.Method.descriptors, Helios_V1_Agents.Method.descriptors,
                Helios_V1_Raft.Method.descriptors, Helios_V1_Cluster.Method.descriptors, Grpc_Health_V1_Health.Method.descriptors,
            ]
            let expected = services.joined().map { "/" + $0.fullyQualifiedMethod }.sorted()
            #expect(routed == expected)
            #expect(expected.count == 33, "the services of api.proto (but AgentClient, which agents serve), raft.proto and health.proto")
        }
    }
}
