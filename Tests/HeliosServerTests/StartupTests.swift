import Foundation
import HeliosRaft
import HeliosServer
import HeliosTesting
import Logging
import Testing

extension ServerTests {
    /// Configuration mistakes are refused at start-up with a message that says what to do.
    @Suite struct Startup {
        func startupError(_ configuration: ServerConfiguration) async -> String? {
            do {
                let node = try await HeliosServerNode(configuration: configuration, logger: .quiet)
                node.shutdown()
                Issue.record("server \(configuration.nodeID) started but should have been refused")
                return nil
            } catch {
                return "\(error)"
            }
        }

        @Test func misconfigurationsAreRefusedClearly() async throws {
            try await TemporaryDirectory.with("startup") { directory in
                let ports = try FreePorts.pick(3)
                var peers: [NodeID: String] = [:]
                for (i, port) in ports.enumerated() { peers[NodeID(i + 1)] = "127.0.0.1:\(port)" }
                func configuration(_ id: NodeID, address: String? = nil, peers list: [NodeID: String]? = nil, bootstrap: Bool = false) -> ServerConfiguration {
                    ServerConfiguration(
                        nodeID: id, rpcAddress: address ?? peers[id] ?? "127.0.0.1:1", peers: list ?? peers, bootstrap: bootstrap,
                        dataDirectory: directory.appending("node\(id)"))
                }
                var message = await startupError(configuration(4))
                #expect(message?.contains("does not include this server (node 4)") == true, "\(message ?? "")")
                message = await startupError(configuration(2, address: "127.0.0.1:1"))
                #expect(message?.contains("differs from this server's --peer 2=") == true, "\(message ?? "")")
                message = await startupError(configuration(1, peers: [1: peers[1]!, 2: peers[1]!]))
                #expect(message?.contains("share the address") == true, "\(message ?? "")")

                // Bootstrap once; a second bootstrap of the same data directory is refused.
                let first = try await HeliosServerNode(configuration: configuration(1, bootstrap: true), logger: .quiet)
                // While it holds the directory, a second process (here: a second node object) cannot open it.
                message = await startupError(configuration(1))
                #expect(message?.contains("is in use") == true, "\(message ?? "")")
                let run = Task { try await first.run() }
                first.shutdown()
                try await run.value
                message = await startupError(configuration(1, bootstrap: true))
                #expect(message?.contains("already holds a cluster") == true, "\(message ?? "")")
                // Without --bootstrap it resumes.
                let resumed = try await HeliosServerNode(configuration: configuration(1), logger: .quiet)
                let again = Task { try await resumed.run() }
                resumed.shutdown()
                try await again.value
            }
        }
    }
}
