import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto
import SwiftProtobuf

/// `helios alloc logs <alloc> [task]`: a task's stdout or stderr, from the agent that runs it.
struct AllocLogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print (or follow with -f) a task's stdout or stderr, streamed from its agent through the servers.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var logs: LogOptions

    @Argument(help: "The allocation id or a unique prefix (8 characters usually do).")
    var allocation: String

    @Argument(help: "The task (needed when the group has several).")
    var task: String?

    func run() async throws {
        let printer = LinePrinter()
        try await client.withClient { client in
            let resolved = try await client.allocation(allocation)
            let request = Helios_V1_LogsRequest.with {
                $0.allocationID = resolved.id
                $0.task = task ?? ""
                $0.stderr = logs.stderr
                $0.follow = logs.follow
                $0.tailLines = logs.tail
            }
            try await client.logs(request) { chunk in printer.raw(chunk.data) }
        }
    }
}
