import Foundation
import HeliosTesting
import Synchronization
import Testing

/// Day-two commands through the built `helios` against real processes: allocation restart and stop,
/// node eligibility and drain, snapshot save and restore.
@Suite("helios alloc/node/operator CLI end to end", .serialized, .timeLimit(.minutes(5)))
struct OperationsCommandTests {
    @Test("alloc restart restarts in place; alloc stop gets a replacement; node eligibility and drain")
    func allocationsAndNodes() async throws {
        try await ProcessCluster.with(servers: 1, agents: 2) { cluster in
            let run = try await cluster.helios(["job", "run", "--name", "svc", "--type", "service", "sleep", "--", "300"])
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
            let first = try await allocations(cluster, job: "svc")
            let id = try #require(first.first?["id"] as? String)
            let restart = try await cluster.helios(["alloc", "restart", String(id.prefix(8))])
            #expect(restart.status == 0, "\(restart.stderr)")
            try await waitFor("the restart", timeout: .seconds(20)) {
                let status = try? await cluster.helios(["alloc", "status", id, "--json"])
                let object = status.flatMap { try? JSONSerialization.jsonObject(with: Data($0.stdout.utf8)) as? [String: Any] }
                let task = (object?["task_states"] as? [[String: Any]])?.first
                return (task?["restarts"] as? Int) == 1 && object?["client_status"] as? String == "ALLOCATION_CLIENT_STATUS_RUNNING"
            }
            let stop = try await cluster.helios(["alloc", "stop", id])
            #expect(stop.status == 0 && stop.stdout.contains("stopping"), "\(stop.stdout) \(stop.stderr)")
            try await waitFor("a replacement", timeout: .seconds(20)) {
                let all = (try? await allocations(cluster, job: "svc")) ?? []
                return all.contains { $0["id"] as? String != id && $0["client_status"] as? String == "ALLOCATION_CLIENT_STATUS_RUNNING" }
            }
            let node = try #require(try await allocations(cluster, job: "svc").first { $0["id"] as? String != id }?["node_id"] as? String)
            let ineligible = try await cluster.helios(["node", "eligibility", node, "-disable"])
            #expect(ineligible.status == 0 && ineligible.stdout.contains("ineligible"), "\(ineligible.stdout) \(ineligible.stderr)")
            #expect(try await cluster.helios(["node", "status", node]).stdout.contains("ineligible"))
            let drain = try await cluster.helios(["node", "drain", node, "-enable", "-deadline", "30s"])
            #expect(drain.status == 0, "\(drain.stderr)")
            // The drained node's allocation moves to the other node.
            try await waitFor("the allocation to move off \(node)", timeout: .seconds(30)) {
                let all = (try? await allocations(cluster, job: "svc")) ?? []
                return all.contains { $0["node_id"] as? String != node && $0["client_status"] as? String == "ALLOCATION_CLIENT_STATUS_RUNNING" }
                    && !all.contains { $0["node_id"] as? String == node && $0["client_status"] as? String == "ALLOCATION_CLIENT_STATUS_RUNNING" }
            }
            let both = try await cluster.helios(["node", "drain", node, "-enable", "-disable"])
            #expect(both.status != 0 && both.stderr.contains("exactly one of -enable or -disable"), "\(both.stderr)")
        }
    }

    @Test("operator snapshot save from a running cluster, restore into a new data directory, and a server started on it has the jobs")
    func snapshotSaveRestore() async throws {
        try await ProcessCluster.with(servers: 1, agents: 0) { cluster in
            let run = try await cluster.helios(["job", "run", "--name", "kept", "--detach", "true"])
            #expect(run.status == 0, "\(run.stderr)")
            let file = cluster.directory.appending("state.snap")
            let save = try await cluster.helios(["operator", "snapshot", "save", file])
            #expect(save.status == 0 && save.stdout.contains("1 jobs"), "\(save.stdout) \(save.stderr)")
            let inspect = try await runHelios(["operator", "snapshot", "inspect", file])
            #expect(inspect.status == 0, "\(inspect.stderr)")

            let restored = cluster.directory.appending("restored")
            let restore = try await runHelios(["operator", "snapshot", "restore", file, "--data-dir", restored])
            #expect(restore.status == 0 && restore.stdout.contains("1 jobs"), "\(restore.stdout) \(restore.stderr)")
            let again = try await runHelios(["operator", "snapshot", "restore", file, "--data-dir", restored])
            #expect(again.status != 0 && again.stderr.contains("already holds"), "\(again.stderr)")

            let port = try FreePorts.pick(1)[0]
            let server = Process()
            server.executableURL = heliosBinary()
            server.arguments = ["server", "--node-id", "1", "--rpc-addr", "127.0.0.1:\(port)", "--peer", "1=127.0.0.1:\(port)", "--data-dir", restored]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            defer {
                if server.isRunning { kill(server.processIdentifier, SIGKILL) }
                server.waitUntilExit()
            }
            try await waitFor("the restored server to serve the job", timeout: .seconds(30)) {
                let status = try? await runHelios(["job", "status", "kept", "--server-addr", "127.0.0.1:\(port)", "--retry-timeout", "1"], timeout: .seconds(10))
                return status?.status == 0
            }
            // It accepts writes after the restored index.
            let write = try await runHelios(["job", "run", "--name", "after", "--detach", "--server-addr", "127.0.0.1:\(port)", "true"])
            #expect(write.status == 0, "\(write.stderr)")
            kill(server.processIdentifier, SIGTERM)
        }
    }
}

/// The job's allocations as JSON objects.
func allocations(_ cluster: ProcessCluster, job: String) async throws -> [[String: Any]] {
    let output = try await cluster.helios(["alloc", "list", "--job", job, "--json"])
    return (try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]]) ?? []
}
