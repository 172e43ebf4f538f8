import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios job list`: every job with its status and allocation counts.
struct JobListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs (optionally those whose id starts with a prefix).")

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Serve from any server without confirming it is current.")
    var stale = false

    @Argument(help: "Only jobs whose id starts with this.")
    var prefix: String = ""

    func run() async throws {
        try await client.withClient { try await Self.list($0, prefix: prefix, json: output.json, stale: stale) }
    }

    static func list(_ client: HeliosClient, prefix: String, json: Bool, stale: Bool) async throws {
        let jobs = try await client.jobs(prefix: prefix, stale: stale)
        if json {
            print(try Format.json(jobs))
            return
        }
        guard !jobs.isEmpty else {
            print(prefix.isEmpty ? "No jobs; submit one with 'helios job run'" : "No jobs start with '\(prefix)'")
            return
        }
        var table = TextTable("ID", "Type", "Version", "Status", "Desired", "Running", "Pending", "Complete", "Failed", "Lost", "Submitted")
        for job in jobs {
            table.append([job.id, Format.jobType(job.type), "\(job.version)", Format.colored(Format.jobStatus(job.status, stopped: job.stopped)),
                          "\(job.desired)", "\(job.running)", "\(job.pending)", "\(job.complete)", "\(job.failed)", "\(job.lost)",
                          Format.ago(ms: job.submittedAtMs)])
        }
        print(table.render())
    }
}
