import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios job revert`: register an earlier version's spec again.
struct JobRevertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert", abstract: "Register an earlier version of a job again (as a new version).")

    @OptionGroup var client: ClientOptions

    @Flag(help: "Return right after the revert is registered, without following its placement.")
    var detach = false

    @Argument(help: "The job id (or a unique prefix).")
    var job: String

    @Argument(help: "The version to revert to (see 'helios job history').")
    var version: UInt64

    func run() async throws {
        try await client.withClient { client in
            let id = try await JobLookup.resolve(job, client)
            let reverted = try await client.revertJob(id, to: version)
            print("Job \"\(id)\" reverted to version \(version): now version \(reverted.version), evaluation \"\(Format.short(reverted.evaluationID))\"")
            if detach { return }
            let type = try await client.job(id).job.versions.last?.spec.type ?? .service
            if try await PlacementMonitor(client: client, job: id, type: type, evaluation: reverted.evaluationID).follow(timeout: .seconds(300)) == .failed {
                throw ExitCode(2)
            }
        }
    }
}
