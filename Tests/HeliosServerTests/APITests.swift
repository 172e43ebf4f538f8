import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosServer
import SwiftProtobuf
import Synchronization
import Testing

extension ServerTests {
    /// The public API through real gRPC: validation, scheduling, liveness, events, health.
    @Suite struct API {
        /// Runs `call` and returns the RPC error it fails with (an issue if it succeeds).
        func rpcError(_ call: () async throws -> Void) async -> RPCError? {
            do {
                try await call()
                Issue.record("the call succeeded but should have failed")
                return nil
            } catch let error as RPCError {
                return error
            } catch {
                Issue.record("not an RPCError: \(error)")
                return nil
            }
        }

        @Test func badRequestsGetPreciseErrorsAndTheServerKeepsServing() async throws {
            try await TestCluster.with { cluster in
                let jobs = try cluster.jobs(2)
                var spec = jobSpec("bad")
                spec.groups[0].tasks[0].resources.memoryMb = 0
                var error = await rpcError { _ = try await jobs.register(.with { $0.spec = spec }) }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains("groups[0].tasks[0].resources.memory") == true, "\(String(describing: error))")

                spec = jobSpec("bad")
                spec.groups[0].constraints = [.with { $0.attribute = "kernel.name"; $0.operator = .regexp; $0.value = "(" }]
                error = await rpcError { _ = try await jobs.register(.with { $0.spec = spec }) }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains("constraints[0]") == true)

                error = await rpcError { _ = try await jobs.register(.with { $0.spec = jobSpec("has space") }) }
                #expect(error?.message.contains("id") == true)
                error = await rpcError { _ = try await jobs.register(.init()) }
                #expect(error?.code == .invalidArgument)

                error = await rpcError { _ = try await jobs.get(.with { $0.jobID = "missing" }) }
                #expect(error?.code == .notFound)
                #expect(error?.message.contains("job missing") == true)

                error = await rpcError { _ = try await cluster.allocations(3).get(.with { $0.allocationID = "ffffffff" }) }
                #expect(error?.code == .notFound)

                // A version conflict is a failed precondition naming both versions.
                _ = try await jobs.register(.with { $0.spec = jobSpec("web") })
                error = await rpcError {
                    _ = try await jobs.register(.with {
                        $0.spec = jobSpec("web", count: 2)
                        $0.expectedVersion = 7
                    })
                }
                #expect(error?.code == .failedPrecondition)
                #expect(error?.message.contains("expected version 7") == true)

                // Purging a running job is refused with what to do.
                error = await rpcError { _ = try await jobs.purge(.with { $0.jobID = "web" }) }
                #expect(error?.code == .failedPrecondition)
                #expect(error?.message.contains("stop it before purging") == true)

                // Unknown event topic.
                error = await rpcError {
                    try await cluster.events(1).stream(.with { $0.topics = ["jobs"] }) { response in
                        for try await _ in response.messages {}
                    }
                }
                #expect(error?.code == .invalidArgument)

                // A message that is not the expected protobuf at all.
                let raw = try cluster.client(1)
                error = await rpcError {
                    _ = try await raw.unary(
                        request: ClientRequest(message: [UInt8](repeating: 0xFF, count: 64)),
                        descriptor: Helios_V1_Jobs.Method.Register.descriptor,
                        serializer: RawSerializer(), deserializer: RawDeserializer(), options: .defaults
                    ) { try $0.message }
                }
                #expect(error?.code == .internalError || error?.code == .invalidArgument)

                // Still serving.
                let listed = try await jobs.list(.init())
                #expect(listed.jobs.map(\.id) == ["web"])
            }
        }

        @Test func jobsArePlacedOnRegisteredNodesAndReplacedWhenANodeMissesItsTTL() async throws {
            try await TestCluster.with(heartbeatTTL: .seconds(3)) { cluster in
                let agents = try cluster.agents(2)
                _ = try await agents.register(.with { $0.node = agentNode("alive") })
                _ = try await agents.register(.with { $0.node = agentNode("silent") })
                // Keep one node alive with heartbeats (through a follower: forwarded to the leader).
                let beating = Task {
                    while !Task.isCancelled {
                        _ = try? await agents.heartbeat(.with { $0.nodeID = "alive" })
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
                defer { beating.cancel() }
                // "silent" heartbeats too until the job is placed (under load, placing could take longer
                // than the TTL), then falls silent. The TTL is 3 s, so that "alive" (a beat every 200 ms,
                // forwarded by a follower) does not miss it on a machine loaded by parallel tests.
                let beatingSilent = Task {
                    while !Task.isCancelled {
                        _ = try? await agents.heartbeat(.with { $0.nodeID = "silent" })
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
                defer { beatingSilent.cancel() }
                // 4 x 1500 MHz: two fit on each node; bin packing fills one first, so both nodes are used.
                _ = try await cluster.jobs(3).register(.with { $0.spec = jobSpec("web", count: 4, cpu: 1500) })
                let placed = try await eventually(timeout: .seconds(20), "4 allocations placed") { () -> [Helios_V1_Allocation]? in
                    let job = try await cluster.jobs(1).get(.with { $0.jobID = "web" })
                    let live = job.allocations.filter { $0.desiredStatus == .run }
                    return live.count == 4 ? live : nil
                }
                #expect(Set(placed.map(\.nodeID)) == ["alive", "silent"])
                beatingSilent.cancel()
                // The silent node misses its TTL: it goes down, its allocations are lost, and the
                // replacements that fit go to the live node (it has room for none: 2 x 1500 of 4000 used).
                let down = try await eventually(timeout: .seconds(20), "node silent down") { () -> Helios_V1_NodeInfo? in
                    let node = try await cluster.nodes(1).get(.with { $0.nodeID = "silent" }).node
                    return node.status == .down ? node : nil
                }
                #expect(down.statusDescription.contains("no heartbeat"))
                let alive = try await cluster.nodes(1).get(.with { $0.nodeID = "alive" }).node
                #expect(alive.status == .ready)
                let job = try await eventually(timeout: .seconds(20), "lost allocations and a blocked evaluation") { () -> Helios_V1_GetJobResponse? in
                    let job = try await cluster.jobs(1).get(.with { $0.jobID = "web" })
                    // Those placed on "silent" are lost (under load "alive" may miss a beat too, so more can be).
                    let lost = job.allocations.filter { $0.nodeID == "silent" && $0.clientStatus == .lost }
                    return lost.count == 2 && job.evaluations.contains(where: { $0.status == .blocked }) ? job : nil
                }
                #expect(job.allocations.filter { $0.nodeID == "alive" && $0.clientStatus == .pending }.count == 2)
                // New capacity unblocks the evaluation and the replacements are placed there.
                _ = try await agents.register(.with { $0.node = agentNode("fresh") })
                let beatingFresh = Task {
                    while !Task.isCancelled {
                        _ = try? await agents.heartbeat(.with { $0.nodeID = "fresh" })
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
                defer { beatingFresh.cancel() }
                let replaced = try await eventually(timeout: .seconds(20), "replacements on the new node") { () -> [Helios_V1_Allocation]? in
                    let job = try await cluster.jobs(1).get(.with { $0.jobID = "web" })
                    let fresh = job.allocations.filter { $0.nodeID == "fresh" && $0.desiredStatus == .run }
                    return fresh.count == 2 ? fresh : nil
                }
                #expect(replaced.allSatisfy { !$0.previousAllocation.isEmpty })
            }
        }

        @Test func theEventStreamReplaysFromAnIndexFiltersAndResumes() async throws {
            try await TestCluster.with { cluster in
                let first = try await cluster.jobs(1).register(.with { $0.spec = jobSpec("a") })
                _ = try await cluster.jobs(1).register(.with { $0.spec = jobSpec("b") })
                // Job events about "a" from the beginning: the backlog from the log.
                let seen = try await cluster.events(2).stream(.with {
                    $0.topics = ["job"]
                    $0.key = "a"
                }) { response in
                    var events: [Helios_V1_EventStreamResponse] = []
                    for try await message in response.messages {
                        events.append(message)
                        break
                    }
                    return events
                }
                #expect(seen.map(\.index) == [first.index])
                #expect(seen.first?.event.jobRegistered.spec.id == "a")
                // Resume after that index: the next job event is b's registration (backlog), then a live one.
                let resumed = try await cluster.events(3).stream(.with {
                    $0.afterIndex = first.index
                    $0.topics = ["job"]
                }) { response in
                    var ids: [String] = []
                    var liveSent = false
                    for try await message in response.messages {
                        ids.append(message.event.jobRegistered.spec.id)
                        if !liveSent {
                            liveSent = true
                            _ = try await cluster.jobs(1).register(.with { $0.spec = jobSpec("c") })
                        }
                        if ids.count == 2 { break }
                    }
                    return ids
                }
                #expect(resumed == ["b", "c"])
            }
        }

        @Test func theStandardHealthServiceAnswers() async throws {
            try await TestCluster.with { cluster in
                let health = Grpc_Health_V1_Health.Client(wrapping: try cluster.client(2))
                let status = try await health.check(.with { $0.service = "helios.v1.Jobs" })
                #expect(status.status == .serving)
                let error = await rpcError { _ = try await health.check(.with { $0.service = "no.such.Service" }) }
                #expect(error?.code == .notFound)
            }
        }

        @Test func operatorCallsWorkFromAnyServer() async throws {
            try await TestCluster.with { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader }!
                let peers = try await cluster.operators(follower).raftPeers(.init())
                #expect(peers.peers.map(\.id) == [1, 2, 3])
                #expect(peers.peers.filter(\.leader).map(\.id) == [leader])
                // Snapshot save streams a snapshot file that names the applied index.
                let registered = try await cluster.jobs(follower).register(.with { $0.spec = jobSpec("snap") })
                let bytes = try await cluster.operators(follower).snapshotSave(.init()) { response in
                    var bytes: [UInt8] = []
                    for try await chunk in response.messages { bytes += chunk.data }
                    return bytes
                }
                #expect(bytes.count > 64)
                // A version 2 snapshot: the header in an LZ4 skippable frame (0x184D2A50, 64 bytes).
                #expect(Array(bytes.prefix(8)) == [0x50, 0x2A, 0x4D, 0x18, 64, 0, 0, 0])
                #expect(Array(bytes[8..<16]) == Array("HLSNAPSH".utf8))
                // Compaction through the API.
                let compacted = try await cluster.operators(follower).compact(.init())
                #expect(compacted.index >= registered.index)
                #expect(compacted.snapshotBytes > 0)
                // Leadership moves where it is asked to.
                _ = try await cluster.operators(follower).transferLeadership(.with { $0.to = follower })
                let now = try await cluster.waitForLeader()
                #expect(now == follower)
            }
        }
    }
}

/// Passes bytes through unchanged (to send malformed messages).
struct RawSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

struct RawDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
