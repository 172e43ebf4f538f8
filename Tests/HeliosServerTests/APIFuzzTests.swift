import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosProto
import HeliosTesting
import SwiftProtobuf
import Testing

/// Random and mutated protobuf messages (truncated, bit-flipped, spliced, unknown enum values,
/// oversized fields) sent to every unary method of a real server over gRPC: the server answers each
/// with a status, keeps serving, and keeps the data it acknowledged. Seeded; `HELIOS_FUZZ_ITERATIONS`
/// runs more.
@Suite("API fuzzing", .serialized, .timeLimit(.minutes(3)))
struct APIFuzzTests {
    struct Target {
        var descriptor: MethodDescriptor
        var valid: [UInt8]
    }

    static func targets() throws -> [Target] {
        let spec = jobSpec("fuzz-valid")
        func bytes(_ message: some SwiftProtobuf.Message) throws -> [UInt8] { try message.serializedBytes() }
        return [
            Target(descriptor: Helios_V1_Jobs.Method.Register.descriptor, valid: try bytes(Helios_V1_RegisterJobRequest.with { $0.spec = spec })),
            Target(descriptor: Helios_V1_Jobs.Method.Plan.descriptor, valid: try bytes(Helios_V1_PlanJobRequest.with { $0.spec = spec })),
            Target(descriptor: Helios_V1_Jobs.Method.Get.descriptor, valid: try bytes(Helios_V1_GetJobRequest.with { $0.jobID = "kept" })),
            Target(descriptor: Helios_V1_Jobs.Method.List.descriptor, valid: try bytes(Helios_V1_ListJobsRequest.with { $0.prefix = "k" })),
            Target(descriptor: Helios_V1_Jobs.Method.Stop.descriptor, valid: try bytes(Helios_V1_StopJobRequest.with { $0.jobID = "fuzz-valid" })),
            Target(descriptor: Helios_V1_Jobs.Method.History.descriptor, valid: try bytes(Helios_V1_JobHistoryRequest.with { $0.jobID = "kept" })),
            Target(descriptor: Helios_V1_Jobs.Method.Revert.descriptor, valid: try bytes(Helios_V1_RevertJobRequest.with { $0.jobID = "fuzz-valid"; $0.version = 1 })),
            Target(descriptor: Helios_V1_Allocations.Method.Get.descriptor, valid: try bytes(Helios_V1_GetAllocationRequest.with { $0.allocationID = "abcd" })),
            Target(descriptor: Helios_V1_Allocations.Method.List.descriptor, valid: try bytes(Helios_V1_ListAllocationsRequest.with { $0.status = .running })),
            Target(descriptor: Helios_V1_Allocations.Method.Stop.descriptor, valid: try bytes(Helios_V1_StopAllocationRequest.with { $0.allocationID = "abcd" })),
            Target(descriptor: Helios_V1_Nodes.Method.Drain.descriptor, valid: try bytes(Helios_V1_DrainNodeRequest.with { $0.nodeID = "n1"; $0.enable = true })),
            Target(descriptor: Helios_V1_Nodes.Method.Eligibility.descriptor, valid: try bytes(Helios_V1_NodeEligibilityRequest.with { $0.nodeID = "n1" })),
            Target(descriptor: Helios_V1_Agents.Method.Register.descriptor, valid: try bytes(Helios_V1_AgentRegisterRequest.with { $0.node = agentNode("n1") })),
            Target(descriptor: Helios_V1_Agents.Method.Heartbeat.descriptor, valid: try bytes(Helios_V1_HeartbeatRequest.with { $0.nodeID = "n1" })),
            Target(descriptor: Helios_V1_Agents.Method.UpdateAllocations.descriptor, valid: try bytes(Helios_V1_UpdateAllocationsRequest.with {
                $0.updates = [.with { $0.allocationID = "abcd"; $0.clientStatus = .running }]
            })),
            Target(descriptor: Helios_V1_Operator.Method.ClusterInfo.descriptor, valid: []),
            Target(descriptor: Helios_V1_Operator.Method.RaftPeers.descriptor, valid: []),
        ]
    }

    static func mutate(_ valid: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = valid
        switch random.next() % 7 {
        case 0: return random.bytes(Int(random.next() % 200))
        case 1: if !bytes.isEmpty { bytes.removeSubrange(Int(random.next() % UInt64(bytes.count))...) }
        case 2:
            for _ in 0..<(1 + random.next() % 4) where !bytes.isEmpty {
                bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(1 << (random.next() % 8))
            }
        case 3: bytes += random.bytes(Int(random.next() % 64))
        case 4:
            // An unknown enum value / huge varint in a fresh field.
            bytes += [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        case 5:
            // A length-delimited field claiming far more bytes than follow.
            bytes += [0x0A, 0xFF, 0xFF, 0xFF, 0x7F, 0x01]
        default:
            // Splice: a prefix of the message repeated.
            bytes += bytes.prefix(Int(random.next() % UInt64(max(1, bytes.count))))
        }
        return bytes
    }

    @Test("random and mutated messages to every unary method: statuses only, the server keeps serving and keeps its data")
    func fuzz() async throws {
        let iterations = Int(ProcessInfo.processInfo.environment["HELIOS_FUZZ_ITERATIONS"] ?? "") ?? 1_500
        try await TestCluster.with(size: 1) { cluster in
            let kept = try await cluster.jobs(1).register(.with { $0.spec = jobSpec("kept") })
            let client = try cluster.client(1)
            let targets = try Self.targets()
            var random = SeededRandom(seed: 7_7_2026)
            var statuses: [RPCError.Code: Int] = [:]
            var succeeded = 0
            var options = CallOptions.defaults
            options.timeout = .seconds(10)
            for _ in 0..<iterations {
                let target = targets[Int(random.next() % UInt64(targets.count))]
                let message = Self.mutate(target.valid, &random)
                do {
                    _ = try await client.unary(
                        request: ClientRequest(message: message), descriptor: target.descriptor, serializer: RawSerializer(),
                        deserializer: RawDeserializer(), options: options) { try $0.message }
                    succeeded += 1
                } catch let error as RPCError {
                    statuses[error.code, default: 0] += 1
                    #expect(error.code != .unknown && error.code != .internalError, "\(target.descriptor): \(error)")
                }
            }
            // Oversized fields: a 5 MB command (over the 1 MiB spec limit) and a 1 MB job id.
            var huge = jobSpec("huge")
            huge.groups[0].tasks[0].command = String(repeating: "x", count: 5 << 20)
            do {
                _ = try await cluster.jobs(1).register(.with { $0.spec = huge })
                Issue.record("a 5 MB job spec was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument && error.message.contains("MiB limit"), "\(error)")
            }
            var longID = jobSpec(String(repeating: "j", count: 1 << 20))
            longID.name = "long"
            do {
                _ = try await cluster.jobs(1).register(.with { $0.spec = longID })
                Issue.record("a 1 MB job id was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
            }
            // Still serving, still holding what it acknowledged.
            let job = try await cluster.jobs(1).get(.with { $0.jobID = "kept" }).job
            #expect(job.versions.last?.index == kept.index)
            let info = try await cluster.operators(1).clusterInfo(.init())
            #expect(info.leaderID == 1)
            #expect(succeeded + statuses.values.reduce(0, +) == iterations)
            #expect(statuses[.invalidArgument, default: 0] > 0)
        }
    }
}
