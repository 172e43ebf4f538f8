import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios job stop`: stop a job's allocations (and with -purge forget the job).
struct JobStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a job; its allocations are stopped on their nodes.")

    @OptionGroup var client: ClientOptions

    @Flag(name: [.customLong("purge"), .customLong("purge", withSingleDash: true)], help: "Also remove the job and its history.")
    var purge = false

    @Flag(help: "Return without waiting for the allocations to stop.")
    var detach = false

    @Argument(help: "The job id (or a unique prefix).")
    var job: String

    func run() async throws {
        try await client.withClient { client in
            let id = try await JobLookup.resolve(job, client)
            let stopped = try await client.stopJob(id, purge: purge)
            print("Job \"\(id)\" \(purge ? "stopped and purged" : "stopped") (index \(stopped.index))")
            if detach || purge { return }
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let allocations = try await client.job(id).allocations
                let running = allocations.filter { $0.clientStatus == .running || $0.clientStatus == .pending }
                if running.isEmpty {
                    print("==> All allocations of \"\(id)\" stopped")
                    return
                }
                try await Task.sleep(for: .milliseconds(250))
            }
            print("==> Some allocations are still stopping; check with 'helios job status \(id)'")
        }
    }
}
