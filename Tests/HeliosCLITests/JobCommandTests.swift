import Foundation
import HeliosTesting
import Synchronization
import Testing

/// The built `helios` CLI against a cluster of real server and agent processes on loopback.
@Suite("helios job/alloc/node CLI end to end", .serialized, .timeLimit(.minutes(5)))
struct JobCommandTests {
    @Test("the seed's commands: an inline echo job completes and its output shows in job logs, alloc logs and status")
    func seedExample() async throws {
        try await ProcessCluster.with { cluster in
            let run = try await cluster.helios(["job", "run", "--name", "multi-node-test", "echo", "--", "It replicated!"])
            #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
            #expect(run.stdout.contains("1 allocation(s) complete"), "\(run.stdout)")
            let logs = try await cluster.helios(["job", "logs", "multi-node-test"])
            #expect(logs.status == 0, "\(logs.stderr)")
            #expect(logs.stdout.contains("/multi-node-test] It replicated!"), "\(logs.stdout)")
            let status = try await cluster.helios(["job", "status", "multi-node-test"])
            #expect(status.status == 0 && status.stdout.contains("complete"), "\(status.stdout)")
            // An 8-character allocation prefix, as Nomad users type it.
            let line = try #require(status.stdout.split(separator: "\n").last { $0.contains("complete") && $0.split(separator: " ").first?.count == 8 })
            let prefix = String(line.split(separator: " ")[0])
            let allocLogs = try await cluster.helios(["alloc", "logs", prefix])
            #expect(allocLogs.stdout == "It replicated!\n", "\(allocLogs.stdout) \(allocLogs.stderr)")
            let allocStatus = try await cluster.helios(["alloc", "status", prefix])
            #expect(allocStatus.stdout.contains("exit code 0") || allocStatus.stdout.contains("Terminated"), "\(allocStatus.stdout)")
        }
    }

    @Test("a job file with 3 allocations lands one on each of 3 agents; plan exit codes 1 then 0; job stop stops them")
    func jobFileAcrossAgents() async throws {
        try await ProcessCluster.with { cluster in
            let file = cluster.directory.appending("pinger.yaml")
            try String(contentsOf: examplesDirectory().appendingPathComponent("spread-service.yaml"), encoding: .utf8)
                .write(toFile: file, atomically: true, encoding: .utf8)
            let plan = try await cluster.helios(["job", "plan", file])
            #expect(plan.status == 1, "plan of a new job: \(plan.stdout) \(plan.stderr)")
            #expect(plan.stdout.contains("Placements"), "\(plan.stdout)")
            let run = try await cluster.helios(["job", "run", file])
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
            let status = try await cluster.helios(["job", "status", "pinger", "--json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            let allocations = try #require(object["allocations"] as? [[String: Any]])
            let running = allocations.filter { $0["client_status"] as? String == "ALLOCATION_CLIENT_STATUS_RUNNING" }
            #expect(running.count == 3)
            #expect(Set(running.compactMap { $0["node_id"] as? String }).count == 3, "one allocation per agent")
            let unchanged = try await cluster.helios(["job", "plan", file])
            #expect(unchanged.status == 0, "plan of the registered spec: \(unchanged.stdout) \(unchanged.stderr)")
            let logs = try await cluster.helios(["job", "logs", "pinger", "--tail", "1"])
            #expect(logs.stdout.split(separator: "\n").filter { $0.contains("alive on agent") }.count == 3, "\(logs.stdout)")
            let stop = try await cluster.helios(["job", "stop", "pinger"])
            #expect(stop.status == 0 && stop.stdout.contains("All allocations of \"pinger\" stopped"), "\(stop.stdout) \(stop.stderr)")
        }
    }

    @Test("--json output of every read command parses")
    func jsonOutput() async throws {
        try await ProcessCluster.with(servers: 1, agents: 1) { cluster in
            let run = try await cluster.helios(["job", "run", "--name", "j", "true"])
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
            let alloc = try await cluster.helios(["alloc", "list", "--job", "j", "--json"])
            let list = try #require(try JSONSerialization.jsonObject(with: Data(alloc.stdout.utf8)) as? [[String: Any]])
            let id = try #require(list.first?["id"] as? String)
            for command in [["job", "list"], ["job", "status"], ["job", "status", "j"], ["job", "history", "j"], ["alloc", "status", id],
                            ["node", "list"], ["node", "status", "agent1"], ["operator", "raft", "list-peers"]] {
                let output = try await cluster.helios(command + ["--json"])
                #expect(output.status == 0, "\(command): \(output.stderr)")
                #expect((try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))) != nil, "\(command): \(output.stdout)")
            }
            let inspect = try await cluster.helios(["job", "inspect", "j"])
            #expect((try? JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8))) != nil, "\(inspect.stdout)")
            let events = try await cluster.helios(["events", "--topic", "job", "--json"])
            let lines = events.stdout.split(separator: "\n")
            #expect(!lines.isEmpty && lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil }, "\(events.stdout)")
        }
    }

    @Test("errors a person can act on: unreachable server, unknown job with a suggestion, invalid job file with line and path")
    func errors() async throws {
        let port = try FreePorts.pick(1)[0]
        let unreachable = try await runHelios(["job", "list", "--server-addr", "127.0.0.1:\(port)", "--retry-timeout", "0.5"])
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.contains("127.0.0.1:\(port)") && unreachable.stderr.contains("helios dev"), "\(unreachable.stderr)")

        let directory = try TemporaryDirectory("cli-errors")
        defer { directory.remove() }
        let bad = directory.appending("bad.yaml")
        try "name: web\ngroups:\n  - name: g\n    count: lots\n    tasks: [{name: t, command: x}]\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let invalid = try await runHelios(["job", "run", bad, "--server-addr", "127.0.0.1:\(port)"])
        #expect(invalid.status != 0)
        #expect(invalid.stderr.contains("bad.yaml:4: groups[0].count: 'lots' is not a whole number"), "\(invalid.stderr)")
        let plan = try await runHelios(["job", "plan", bad, "--server-addr", "127.0.0.1:\(port)"])
        #expect(plan.status == 255, "\(plan.stderr)")

        try await ProcessCluster.with(servers: 1, agents: 1) { cluster in
            _ = try await cluster.helios(["job", "run", "--name", "webserver", "--detach", "true"])
            let unknown = try await cluster.helios(["job", "status", "websrver"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("job websrver: no such job; did you mean 'webserver'?"), "\(unknown.stderr)")
        }
    }

    @Test("helios dev runs a server and an agent in one process; Ctrl-C stops it and removes its data")
    func dev() async throws {
        let ports = try FreePorts.pick(2)
        let process = Process()
        process.executableURL = heliosBinary()
        process.arguments = ["dev", "--rpc-addr", "127.0.0.1:\(ports[0])", "--client-rpc-addr", "127.0.0.1:\(ports[1])"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let collected = Mutex("")
        let reader = output.fileHandleForReading
        let pump = Task.detached {
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                collected.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
        }
        // The banner appears once the agent is ready.
        try await waitFor("the dev banner", timeout: .seconds(60)) { collected.withLock { $0.contains("Stop with Ctrl-C") } }
        let address = "127.0.0.1:\(ports[0])"
        let run = try await runHelios(["job", "run", "--name", "hello", "--server-addr", address, "echo", "--", "hi from dev"])
        #expect(run.stdout.contains("1 allocation(s) complete"), "\(run.stdout)")
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        let logs = try await runHelios(["job", "logs", "hello", "--server-addr", address])
        #expect(logs.stdout.contains("hi from dev"), "\(logs.stdout) \(logs.stderr)")
        kill(process.processIdentifier, SIGINT)
        try await waitFor("helios dev to exit", timeout: .seconds(15)) { !process.isRunning }
        await pump.value
        let banner = collected.withLock { $0 }
        #expect(banner.contains("helios job run"), "\(banner)")
        let data = try #require(banner.split(separator: " ").first { $0.contains("helios-dev-") }.map { String($0.split(separator: "\n")[0]) })
        #expect(!FileManager.default.fileExists(atPath: data), "\(data) removed on exit")
    }
}

func examplesDirectory() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Formats/examples").standardized
}
