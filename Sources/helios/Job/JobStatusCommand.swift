import ArgumentParser
import Foundation
import HeliosClient
import HeliosJobFile
import HeliosProto

/// `helios job status [job]`: one job in detail, or every job.
struct JobStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a job's versions, evaluations and allocations (every job when none is given).")

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Serve from any server without confirming it is current (faster, may be behind).")
    var stale = false

    @Argument(help: "The job id (or a unique prefix).")
    var job: String?

    func run() async throws {
        try await client.withClient { client in
            guard let job else {
                try await JobListCommand.list(client, prefix: "", json: output.json, stale: stale)
                return
            }
            let response = try await client.job(try await JobLookup.resolve(job, client), stale: stale)
            if output.json {
                print(try Format.json(response))
                return
            }
            print(JobStatusView(response).render())
        }
    }
}

/// Resolves a job id from a unique prefix, suggesting close matches when there is none.
enum JobLookup {
    static func resolve(_ idOrPrefix: String, _ client: HeliosClient) async throws -> String {
        let candidates = try await client.jobs(prefix: idOrPrefix).map(\.id)
        if candidates.contains(idOrPrefix) { return idOrPrefix }
        if candidates.count == 1 { return candidates[0] }
        if candidates.count > 1 {
            throw CLIError("job \(idOrPrefix): the prefix matches \(candidates.count) jobs (\(candidates.prefix(5).joined(separator: ", "))); give more characters")
        }
        let all = try await client.jobs().map(\.id)
        let close = closeMatches(idOrPrefix, among: all)
        let hint = close.isEmpty ? "list them with 'helios job list'" : "did you mean \(close.map { "'\($0)'" }.joined(separator: " or "))?"
        throw CLIError("job \(idOrPrefix): no such job; \(hint)")
    }
}

/// The people-facing rendering of `job status <job>`.
struct JobStatusView {
    let response: Helios_V1_GetJobResponse
    init(_ response: Helios_V1_GetJobResponse) { self.response = response }

    func render() -> String {
        let job = response.job
        let latest = job.versions.last
        let spec = latest?.spec ?? .init()
        var out: [String] = []
        out.append(Format.fields([
            ("ID", job.id), ("Name", spec.name), ("Type", Format.jobType(spec.type)), ("Priority", "\(spec.priority)"),
            ("Datacenters", spec.datacenters.joined(separator: ",")),
            ("Status", Format.colored(Format.jobStatus(job.status, stopped: job.stopped))),
            ("Version", "\(latest?.version ?? 0)"), ("Submitted", Format.ago(ms: latest?.submittedAtMs ?? 0)),
        ]))
        out.append("\nSummary")
        var summary = TextTable("Group", "Desired", "Pending", "Running", "Complete", "Failed", "Lost")
        for group in spec.groups {
            let mine = response.allocations.filter { $0.taskGroup == group.name && $0.jobVersion == (latest?.version ?? 0) || $0.taskGroup == group.name && $0.desiredStatus == .run }
            func count(_ status: Helios_V1_AllocationClientStatus) -> String { "\(mine.filter { $0.clientStatus == status }.count)" }
            summary.append([group.name, "\(job.stopped ? 0 : group.count)", count(.pending), count(.running), count(.complete), count(.failed), count(.lost)])
        }
        out.append(summary.render())
        if !response.evaluations.isEmpty {
            out.append("\nEvaluations")
            var table = TextTable("ID", "Trigger", "Status", "Description", "Created")
            for evaluation in response.evaluations.sorted(by: { $0.createIndex > $1.createIndex }).prefix(5) {
                table.append([Format.short(evaluation.id), Format.trigger(evaluation.trigger), Format.colored(evaluation.status.name),
                              evaluation.statusDescription.isEmpty ? "-" : evaluation.statusDescription, Format.ago(ms: evaluation.createdAtMs)])
            }
            out.append(table.render())
        }
        out.append("\nAllocations")
        if response.allocations.isEmpty {
            out.append("No allocations placed")
        } else {
            out.append(AllocationTable.render(response.allocations))
        }
        return out.joined(separator: "\n")
    }
}

/// The allocation table shared by job, node and alloc listings.
enum AllocationTable {
    static func render(_ allocations: [Helios_V1_Allocation]) -> String {
        var table = TextTable("ID", "Node", "Group", "Version", "Desired", "Status", "Created", "Modified")
        for allocation in allocations.sorted(by: { ($0.createIndex, $0.id) > ($1.createIndex, $1.id) }) {
            table.append([
                Format.short(allocation.id), Format.short(allocation.nodeID), allocation.taskGroup, "\(allocation.jobVersion)",
                Format.desired(allocation.desiredStatus), Format.colored(allocation.clientStatus.name),
                Format.ago(ms: allocation.createdAtMs), Format.ago(ms: allocation.modifiedAtMs),
            ])
        }
        return table.render()
    }
}
