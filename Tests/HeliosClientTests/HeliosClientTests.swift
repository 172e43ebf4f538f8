import Foundation
import HeliosClient
import HeliosJobFile
import HeliosProto
import HeliosServer
import HeliosTesting
import Logging
import Synchronization
import Testing

/// The client against a real server on loopback (gRPC over a real socket).
@Suite("HeliosClient", .serialized, .timeLimit(.minutes(2)))
struct HeliosClientTests {
    @Test("register, read, list, history, revert and stop through a real server; unknown ids are notFound")
    func jobLifecycle() async throws {
        try await withServer { address in
            let client = try HeliosClient(addresses: [address])
            defer { client.close() }
            let spec = try JobFile.parse("name: web\ngroups: [{name: g, count: 0, tasks: [{name: t, command: sleep, args: ['1']}]}]", file: "web.yaml")
            let first = try await client.registerJob(spec)
            #expect(first.version == 0 || first.version == 1)
            var changed = spec
            changed.groups[0].tasks[0].args = ["2"]
            let second = try await client.registerJob(changed)
            #expect(second.version == first.version + 1)
            #expect(try await client.job("web").job.versions.count == 2)
            #expect(try await client.jobs(prefix: "w").map(\.id) == ["web"])
            #expect(try await client.jobHistory("web").map(\.version) == [second.version, first.version])
            let plan = try await client.planJob(spec)
            #expect(plan.changes)
            let reverted = try await client.revertJob("web", to: first.version)
            #expect(reverted.version == second.version + 1)
            _ = try await client.stopJob("web")
            #expect(try await client.job("web").job.stopped)
            do {
                _ = try await client.job("nope")
                Issue.record("expected notFound")
            } catch let error as HeliosClientError {
                #expect(error.code == .notFound)
                #expect(error.message.contains("nope"))
            }
        }
    }

    @Test("a dead address first in the list fails over to the live one")
    func failover() async throws {
        try await withServer { address in
            let dead = try FreePorts.pick(1)[0]
            let client = try HeliosClient(addresses: ["127.0.0.1:\(dead),\(address)"])
            defer { client.close() }
            let info = try await client.clusterInfo()
            #expect(info.leaderID == 1)
            #expect(try await client.nodes().isEmpty)
        }
    }

    @Test("no server reachable: the error names every address and suggests 'helios dev' or --server-addr")
    func unreachable() async throws {
        let ports = try FreePorts.pick(2)
        var configuration = HeliosClient.Configuration()
        configuration.retryTimeout = .milliseconds(600)
        let client = try HeliosClient(addresses: ["127.0.0.1:\(ports[0])", "http://127.0.0.1:\(ports[1])"], configuration: configuration)
        defer { client.close() }
        do {
            _ = try await client.jobs()
            Issue.record("expected unreachable")
        } catch {
            #expect(error.code == .unreachable, "\(error.message)")
            #expect(error.message.contains("127.0.0.1:\(ports[0])") && error.message.contains("127.0.0.1:\(ports[1])"))
            #expect(error.message.contains("helios dev") && error.message.contains("--server-addr"))
        }
    }

    @Test("bad addresses are refused up front with an example")
    func badAddress() {
        #expect(throws: HeliosClientError.self) { try HeliosClient(addresses: ["localhost"]) }
        #expect(throws: HeliosClientError.self) { try HeliosClient(addresses: []) }
        #expect((try? ServerAddress.parseList(["http://a:1, b:2", "a:1"]))?.map(\.description) == ["a:1", "b:2"])
    }

    @Test("events without follow end after the backlog; with a key only that object's events arrive")
    func events() async throws {
        try await withServer { address in
            let client = try HeliosClient(addresses: [address])
            defer { client.close() }
            for name in ["a", "b"] {
                _ = try await client.registerJob(try JobFile.parse("name: \(name)\ngroups: [{name: g, count: 0, tasks: [{name: t, command: x}]}]", file: "x"))
            }
            let seen = Mutex<[(UInt64, String, [String])]>([])
            try await client.events(topics: ["job"], follow: false) { event in seen.withLock { $0.append((event.index, event.topic, event.keys)) } }
            let all = seen.withLock { $0 }
            #expect(all.count == 2)
            #expect(all.allSatisfy { $0.1 == "job" })
            #expect(all.map(\.0) == all.map(\.0).sorted())
            seen.withLock { $0 = [] }
            try await client.events(key: "b", follow: false) { event in seen.withLock { $0.append((event.index, event.topic, event.keys)) } }
            #expect(seen.withLock { $0 }.allSatisfy { $0.2.contains("b") })
            #expect(!seen.withLock { $0 }.isEmpty)
        }
    }
}

/// Runs `body` with a one-server cluster on a free loopback port, torn down after.
func withServer(_ body: (String) async throws -> Void) async throws {
    let directory = try TemporaryDirectory("client")
    defer { directory.remove() }
    let port = try FreePorts.pick(1)[0]
    let address = "127.0.0.1:\(port)"
    var logger = Logger(label: "test.server")
    logger.logLevel = .critical
    let server = try await HeliosServerNode(
        configuration: ServerConfiguration(nodeID: 1, rpcAddress: address, peers: [1: address], bootstrap: true, dataDirectory: directory.appending("s")),
        logger: logger, tickInterval: .milliseconds(50))
    let task = Task { try await server.run() }
    // Wait for leadership (bounded).
    let probe = try HeliosClient(addresses: [address])
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline, (try? await probe.clusterInfo().leaderID) != 1 { try await Task.sleep(for: .milliseconds(50)) }
    probe.close()
    do {
        try await body(address)
    } catch {
        server.shutdown()
        _ = try? await task.value
        throw error
    }
    server.shutdown()
    _ = try? await task.value
}
