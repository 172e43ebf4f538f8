import GRPCCore
import HeliosAPI
import HeliosProto
import SwiftProtobuf

extension HeliosClient {
    /// Registers a job (a new one, or a new version of an existing one) and returns its version and
    /// the evaluation that places it. `expectedVersion` makes the write conditional (check-and-set).
    public func registerJob(_ spec: Helios_V1_JobSpec, expectedVersion: UInt64? = nil) async throws(HeliosClientError)
        -> Helios_V1_RegisterJobResponse
    {
        let request = Helios_V1_RegisterJobRequest.with {
            $0.spec = spec
            if let expectedVersion { $0.expectedVersion = expectedVersion }
        }
        return try await withRetries("register job \(spec.id)") { client, _ in
            try await Helios_V1_Jobs.Client(wrapping: client).register(request, options: unaryOptions)
        }
    }

    /// What registering `spec` would do: the diff against the current version and the placements,
    /// stops and failures the scheduler would produce. Changes nothing.
    public func planJob(_ spec: Helios_V1_JobSpec) async throws(HeliosClientError) -> Helios_V1_PlanJobResponse {
        try await withRetries("plan job \(spec.id)") { client, _ in
            try await Helios_V1_Jobs.Client(wrapping: client).plan(.with { $0.spec = spec }, options: unaryOptions)
        }
    }

    /// A job with its allocations and evaluations.
    public func job(_ id: String, stale: Bool = false) async throws(HeliosClientError) -> Helios_V1_GetJobResponse {
        try await withRetries("get job \(id)") { client, _ in
            try await Helios_V1_Jobs.Client(wrapping: client).get(
                .with {
                    $0.jobID = id
                    $0.read.stale = stale
                }, options: unaryOptions)
        }
    }

    /// Summaries of the jobs whose id starts with `prefix` (all jobs when empty).
    public func jobs(prefix: String = "", stale: Bool = false) async throws(HeliosClientError) -> [Helios_V1_JobSummary] {
        try await withRetries("list jobs") { client, _ in
            try await Helios_V1_Jobs.Client(wrapping: client).list(
                .with {
                    $0.prefix = prefix
                    $0.read.stale = stale
                }, options: unaryOptions
            ).jobs
        }
    }

    /// Stops a job (its allocations are stopped); `purge` also removes it and its history.
    public func stopJob(_ id: String, purge: Bool = false) async throws(HeliosClientError) -> Helios_V1_StopJobResponse {
        try await withRetries("stop job \(id)") { client, _ in
            try await Helios_V1_Jobs.Client(wrapping: client).stop(
                .with {
                    $0.jobID = id
                    $0.purge = purge
                }, options: unaryOptions)
        }
    }

    /// Every registered version of a job, newest first.
    public func jobHistory(_ id: String) async throws(HeliosClientError) -> [Helios_V1_JobVersion] {
        try await withRetries("job history \(id)") { client, _ in
            try await Helios_V1_Jobs.Client(wrapping: client).history(.with { $0.jobID = id }, options: unaryOptions).versions
        }
    }

    /// Registers an earlier version's spec again as a new version.
    public func revertJob(_ id: String, to version: UInt64) async throws(HeliosClientError) -> Helios_V1_RevertJobResponse {
        try await withRetries("revert job \(id)") { client, _ in
            try await Helios_V1_Jobs.Client(wrapping: client).revert(
                .with {
                    $0.jobID = id
                    $0.version = version
                }, options: unaryOptions)
        }
    }
}
