import GRPCCore
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosScheduler
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// `helios.v1.Jobs`: register (with a dry-run plan), read, stop, purge, history and revert.
struct JobsService: Helios_V1_Jobs.SimpleServiceProtocol {
    let node: HeliosServerNode

    func register(request: Helios_V1_RegisterJobRequest, context: ServerContext) async throws -> Helios_V1_RegisterJobResponse {
        guard request.hasSpec else { throw RPCError(code: .invalidArgument, message: "spec: missing; send the job spec to register") }
        let spec = try RequestChecks.jobSpec(request.spec)
        return try await register(spec, expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil)
    }

    private func register(_ spec: JobSpec, expectedVersion: UInt64?) async throws -> Helios_V1_RegisterJobResponse {
        let evaluation = Evaluation.with {
            $0.id = HeliosServerNode.newID()
            $0.jobID = spec.id
            $0.trigger = .jobRegister
            $0.status = .pending
        }
        // Registering an unchanged, running job makes no new version (like Nomad), only an evaluation.
        // The local state answers "changed" cheaply (a new job, the common case, cannot become an
        // unchanged one); only an apparent "unchanged" is confirmed with a linearizable read.
        func unchangedVersion(_ state: ClusterState) -> JobVersion? {
            guard let current = state.job(spec.id), !current.stopped, let latest = current.versions.last, latest.spec == spec,
                expectedVersion == nil || expectedVersion == latest.version
            else { return nil }
            return latest
        }
        if try await node.read(stale: true, unchangedVersion) != nil, let latest = try await node.read(stale: false, unchangedVersion) {
            let outcome = try await node.propose(.with {
                $0.timeMs = HeliosServerNode.nowMilliseconds()
                $0.evaluationCreated = .with { $0.evaluations = [evaluation] }
            }).requireApplied()
            return .with {
                $0.index = outcome.index
                $0.version = latest.version
                $0.evaluationID = evaluation.id
            }
        }
        let outcome = try await node.propose(.with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.jobRegistered = .with {
                $0.spec = spec
                if let expectedVersion { $0.expectedVersion = expectedVersion }
                $0.evaluation = evaluation
            }
        }).requireApplied()
        return .with {
            $0.index = outcome.index
            $0.version = outcome.jobVersion ?? 0
            $0.evaluationID = evaluation.id
        }
    }

    func plan(request: Helios_V1_PlanJobRequest, context: ServerContext) async throws -> Helios_V1_PlanJobResponse {
        guard request.hasSpec else { throw RPCError(code: .invalidArgument, message: "spec: missing; send the job spec to plan") }
        let spec = try RequestChecks.jobSpec(request.spec)
        var state = try await node.view(stale: false)
        let current = state.job(spec.id)
        let evaluation = Evaluation.with {
            $0.id = "plan-" + HeliosServerNode.newID()
            $0.jobID = spec.id
            $0.trigger = .jobRegister
            $0.status = .pending
        }
        // Apply the registration to a private copy of the state and schedule against it.
        let registered = Event.with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.jobRegistered = .with {
                $0.spec = spec
                $0.evaluation = evaluation
            }
        }
        if case .failure(let refusal) = state.apply(registered, at: state.appliedIndex + 1) {
            throw RPCError(code: .failedPrecondition, message: refusal.description)
        }
        let plan = Scheduler(now: HeliosServerNode.nowMilliseconds(), makeID: HeliosServerNode.newID).plan(for: evaluation, in: state)
        let diff = JobDiff.lines(from: current?.versions.last?.spec, to: spec, wasStopped: current?.stopped ?? false)
        return .with {
            $0.changes = !diff.isEmpty
            $0.currentVersion = current?.versions.last?.version ?? 0
            $0.diff = diff
            $0.placements = plan.placed.map { allocation in
                .with {
                    $0.group = allocation.taskGroup
                    $0.nodeID = allocation.nodeID
                    $0.nodeName = state.nodes[allocation.nodeID]?.name ?? ""
                }
            }
            $0.stops = plan.stopped.map { "\($0.allocationID): \($0.description_p)" }
            $0.failures = plan.failures.map(\.description)
        }
    }

    func get(request: Helios_V1_GetJobRequest, context: ServerContext) async throws -> Helios_V1_GetJobResponse {
        let id = try RequestChecks.id(request.jobID, field: "job_id")
        return try await node.read(stale: request.read.stale) { state in
            let job = try RequestChecks.job(id, in: state)
            return .with {
                $0.job = job
                $0.allocations = state.allocations(ofJob: id)
                $0.evaluations = state.evaluations(ofJob: id)
                $0.index = state.appliedIndex
            }
        }
    }

    func list(request: Helios_V1_ListJobsRequest, context: ServerContext) async throws -> Helios_V1_ListJobsResponse {
        let state = try await node.view(stale: request.read.stale)
        return .with {
            $0.jobs = state.sortedJobs.filter { request.prefix.isEmpty || $0.id.hasPrefix(request.prefix) }.map { job in
                Self.summary(job, state.allocations(ofJob: job.id))
            }
            $0.index = state.appliedIndex
        }
    }

    static func summary(_ job: JobRecord, _ allocations: [Allocation]) -> Helios_V1_JobSummary {
        let latest = job.versions.last
        return .with {
            $0.id = job.id
            $0.type = latest?.spec.type ?? .unspecified
            $0.status = job.status
            $0.stopped = job.stopped
            $0.version = latest?.version ?? 0
            $0.desired = job.stopped ? 0 : latest?.spec.groups.reduce(0) { $0 + $1.count } ?? 0
            $0.submittedAtMs = latest?.submittedAtMs ?? 0
            for allocation in allocations {
                switch allocation.clientStatus {
                case .pending where allocation.desiredStatus == .run: $0.pending += 1
                case .running: $0.running += 1
                case .complete: $0.complete += 1
                case .failed: $0.failed += 1
                case .lost: $0.lost += 1
                default: break
                }
            }
        }
    }

    func stop(request: Helios_V1_StopJobRequest, context: ServerContext) async throws -> Helios_V1_StopJobResponse {
        let id = try RequestChecks.id(request.jobID, field: "job_id")
        _ = try await node.read(stale: false) { try RequestChecks.job(id, in: $0) }
        let evaluation = Evaluation.with {
            $0.id = HeliosServerNode.newID()
            $0.jobID = id
            $0.trigger = .jobDeregister
            $0.status = .pending
        }
        var outcome = try await node.propose(.with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.jobStopped = .with {
                $0.jobID = id
                $0.evaluation = evaluation
            }
        }).requireApplied()
        if request.purge {
            outcome = try await node.propose(.with {
                $0.timeMs = HeliosServerNode.nowMilliseconds()
                $0.jobPurged = .with { $0.jobID = id }
            }).requireApplied()
        }
        return .with {
            $0.index = outcome.index
            $0.evaluationID = request.purge ? "" : evaluation.id
        }
    }

    func purge(request: Helios_V1_PurgeJobRequest, context: ServerContext) async throws -> Helios_V1_WriteResult {
        let id = try RequestChecks.id(request.jobID, field: "job_id")
        _ = try await node.read(stale: false) { try RequestChecks.job(id, in: $0) }
        let outcome = try await node.propose(.with {
            $0.timeMs = HeliosServerNode.nowMilliseconds()
            $0.jobPurged = .with { $0.jobID = id }
        }).requireApplied()
        return .with { $0.index = outcome.index }
    }

    func history(request: Helios_V1_JobHistoryRequest, context: ServerContext) async throws -> Helios_V1_JobHistoryResponse {
        let id = try RequestChecks.id(request.jobID, field: "job_id")
        return try await node.read(stale: request.read.stale) { state in
            try .with { $0.versions = try RequestChecks.job(id, in: state).versions.reversed() }
        }
    }

    func revert(request: Helios_V1_RevertJobRequest, context: ServerContext) async throws -> Helios_V1_RevertJobResponse {
        let id = try RequestChecks.id(request.jobID, field: "job_id")
        let (target, current) = try await node.read(stale: false) { state -> (JobVersion, UInt64) in
            let job = try RequestChecks.job(id, in: state)
            guard let target = job.versions.first(where: { $0.version == request.version }) else {
                let known = job.versions.map { String($0.version) }.joined(separator: ", ")
                throw RPCError(code: .notFound, message: "job \(id): no version \(request.version) (versions: \(known))")
            }
            return (target, job.versions.last?.version ?? 0)
        }
        let response = try await register(target.spec, expectedVersion: current)
        return .with {
            $0.index = response.index
            $0.version = response.version
            $0.evaluationID = response.evaluationID
        }
    }
}
