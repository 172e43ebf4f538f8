import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios job history`: every registered version of a job.
struct JobHistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "List a job's versions, newest first.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The job id (or a unique prefix).")
    var job: String

    func run() async throws {
        try await client.withClient { client in
            let versions = try await client.jobHistory(try await JobLookup.resolve(job, client))
            if output.json {
                print(try Format.json(versions))
                return
            }
            var table = TextTable("Version", "Submitted", "Index", "Groups", "Tasks")
            for version in versions {
                table.append([
                    "\(version.version)", Format.ago(ms: version.submittedAtMs), "\(version.index)",
                    version.spec.groups.map { "\($0.name)×\($0.count)" }.joined(separator: ","),
                    version.spec.groups.flatMap(\.tasks).map { ([$0.command] + $0.args).joined(separator: " ") }.joined(separator: "; "),
                ])
            }
            print(table.render())
        }
    }
}
