import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios alloc list`: allocations, filtered by job, node or status.
struct AllocListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List allocations (filter by --job, --node, --status).")

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Only this job's.") var job: String = ""
    @Option(help: "Only this node's.") var node: String = ""
    @Option(help: "Only this status: pending, running, complete, failed, lost.") var status: String?

    func run() async throws {
        let filter: Helios_V1_AllocationClientStatus
        switch status {
        case nil: filter = .unspecified
        case "pending": filter = .pending
        case "running": filter = .running
        case "complete": filter = .complete
        case "failed": filter = .failed
        case "lost": filter = .lost
        case let other?: throw ValidationError("--status '\(other)' is not pending, running, complete, failed or lost")
        }
        try await client.withClient { client in
            let allocations = try await client.allocations(job: job, node: node, status: filter)
            if output.json {
                print(try Format.json(allocations))
            } else {
                print(allocations.isEmpty ? "No allocations" : AllocationTable.render(allocations))
            }
        }
    }
}
