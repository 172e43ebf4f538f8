import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios job inspect`: the registered spec (a version's, the latest by default) as JSON.
struct JobInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a job's registered spec as JSON (with every default filled in).")

    @OptionGroup var client: ClientOptions

    @Option(help: "The version to show (default: the latest).")
    var version: UInt64?

    @Argument(help: "The job id (or a unique prefix).")
    var job: String

    func run() async throws {
        try await client.withClient { client in
            let record = try await client.job(try await JobLookup.resolve(job, client)).job
            guard let chosen = version.map({ wanted in record.versions.first { $0.version == wanted } }) ?? record.versions.last else {
                let known = record.versions.map { "\($0.version)" }.joined(separator: ", ")
                throw CLIError("job \(record.id): no version \(version ?? 0); it has versions \(known)")
            }
            print(try Format.json(chosen))
        }
    }
}
