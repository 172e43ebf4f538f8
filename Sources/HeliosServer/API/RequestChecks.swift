import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosScheduler
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// Request validation shared by the services: every refusal names the field and the bad value.
enum RequestChecks {
    /// The largest serialized job spec accepted.
    static let maxJobSpecBytes = 1 << 20

    /// Ids are printable, without spaces or '/', at most 128 characters.
    static func id(_ value: String, field: String) throws -> String {
        guard !value.isEmpty else { throw RPCError(code: .invalidArgument, message: "\(field): must not be empty") }
        guard value.count <= 128 else {
            throw RPCError(code: .invalidArgument, message: "\(field): '\(value.prefix(32))…' is longer than 128 characters")
        }
        guard !value.contains(where: { $0.isWhitespace || $0 == "/" || $0.asciiValue.map { $0 < 32 } == true }) else {
            throw RPCError(code: .invalidArgument, message: "\(field): '\(value)' must not contain spaces, control characters or '/'")
        }
        return value
    }

    /// Applies defaults (name, priority, datacenters, restart policy) and checks a job spec, with the
    /// scheduler's rules for constraints and spreads on top of the log's structural rules.
    static func jobSpec(_ input: JobSpec) throws -> JobSpec {
        // Every version of a spec is kept in the log and the state forever: bound it (etcd bounds a
        // request at 1.5 MiB for the same reason).
        let size = (try? input.serializedBytes() as [UInt8])?.count ?? 0
        guard size <= maxJobSpecBytes else {
            throw RPCError(
                code: .invalidArgument,
                message: "spec: \(size) bytes is over the \(maxJobSpecBytes >> 20) MiB limit for a job spec; keep large data out of the spec (fetch it in the task)")
        }
        var spec = input
        if spec.type == .unspecified { spec.type = .service }
        if spec.name.isEmpty { spec.name = spec.id }
        if spec.priority == 0 { spec.priority = 50 }
        if spec.datacenters.isEmpty { spec.datacenters = ["dc1"] }
        guard (1...100).contains(spec.priority) else {
            throw RPCError(code: .invalidArgument, message: "spec.priority: \(spec.priority) is outside 1...100")
        }
        for g in spec.groups.indices {
            if spec.groups[g].count == 0 { spec.groups[g].count = 1 }
            for t in spec.groups[g].tasks.indices where spec.groups[g].tasks[t].driver.isEmpty {
                spec.groups[g].tasks[t].driver = "exec"
            }
        }
        if let problem = JobSpecValidator.problem(in: spec) {
            throw RPCError(code: .invalidArgument, message: "spec.\(problem)")
        }
        for (c, constraint) in spec.constraints.enumerated() {
            if let problem = ConstraintMatcher.problem(constraint) {
                throw RPCError(code: .invalidArgument, message: "spec.constraints[\(c)]: \(problem)")
            }
        }
        for (g, group) in spec.groups.enumerated() {
            for (c, constraint) in group.constraints.enumerated() {
                if let problem = ConstraintMatcher.problem(constraint) {
                    throw RPCError(code: .invalidArgument, message: "spec.groups[\(g)].constraints[\(c)]: \(problem)")
                }
            }
            for (s, spread) in group.spreads.enumerated() where spread.attribute.isEmpty {
                throw RPCError(code: .invalidArgument, message: "spec.groups[\(g)].spreads[\(s)].attribute: must not be empty")
            }
            let policy = group.reschedule
            if !policy.delayFunction.isEmpty && !["constant", "exponential", "fibonacci"].contains(policy.delayFunction) {
                throw RPCError(
                    code: .invalidArgument,
                    message: "spec.groups[\(g)].reschedule.delay_function: '\(policy.delayFunction)' is not constant, exponential or fibonacci")
            }
        }
        return spec
    }

    /// Resolves a full allocation id or a unique prefix.
    static func allocation(_ idOrPrefix: String, in state: ClusterState) throws -> Allocation {
        _ = try id(idOrPrefix, field: "allocation_id")
        if let exact = state.allocations[idOrPrefix] { return exact }
        let matches = state.allocations.keys.filter { $0.hasPrefix(idOrPrefix) }.prefix(2)
        switch matches.count {
        case 0: throw RPCError(code: .notFound, message: "allocation \(idOrPrefix): no such allocation; list them with 'helios alloc list'")
        case 1: return state.allocations[matches.first!]!
        default: throw RPCError(code: .invalidArgument, message: "allocation_id: prefix '\(idOrPrefix)' matches several allocations; give more characters")
        }
    }

    static func job(_ id: String, in state: ClusterState) throws -> JobRecord {
        guard let job = state.job(id) else {
            throw RPCError(code: .notFound, message: "job \(id): no such job; list them with 'helios job list'")
        }
        return job
    }

    static func node(_ id: String, in state: ClusterState) throws -> NodeInfo {
        if let node = state.nodes[id] { return node }
        let matches = state.nodes.keys.filter { $0.hasPrefix(id) }.prefix(2)
        if matches.count == 1 { return state.nodes[matches.first!]! }
        throw RPCError(code: .notFound, message: "node \(id): no such node; list them with 'helios node list'")
    }
}

extension HeliosServerNode.Outcome {
    /// Throws FAILED_PRECONDITION when applying refused the event.
    func requireApplied() throws -> Self {
        if let refused { throw RPCError(code: .failedPrecondition, message: refused) }
        return self
    }
}
