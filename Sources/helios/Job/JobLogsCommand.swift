import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto
import SwiftProtobuf

/// `helios job logs <job>`: every allocation's output interleaved, each line prefixed with
/// `[alloc/task]` (hashicorp/nomad#10308).
struct JobLogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print (or follow with -f) the output of every task of a job, each line prefixed with its allocation and task.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var logs: LogOptions

    @Flag(help: "Also include allocations that are stopped or were replaced.")
    var all = false

    @Argument(help: "The job id (or a unique prefix).")
    var job: String

    func run() async throws {
        let printer = LinePrinter()
        try await client.withClient { client in
            let id = try await JobLookup.resolve(job, client)
            try await withThrowingTaskGroup(of: Void.self) { group in
                var started: Set<String> = []
                repeat {
                    let response = try await client.job(id)
                    let spec = response.job.versions.last?.spec
                    let wanted = response.allocations.filter { all || $0.desiredStatus == .run || !logs.follow }
                    for allocation in wanted.sorted(by: { $0.name < $1.name }) where !started.contains(allocation.id) {
                        started.insert(allocation.id)
                        let tasks = spec?.groups.first { $0.name == allocation.taskGroup }?.tasks.map(\.name)
                            ?? allocation.taskStates.map(\.task)
                        for task in tasks {
                            let prefix = "[\(Format.short(allocation.id))/\(task)] "
                            let request = Helios_V1_LogsRequest.with {
                                $0.allocationID = allocation.id
                                $0.task = task
                                $0.stderr = logs.stderr
                                $0.follow = logs.follow
                                $0.tailLines = logs.tail
                            }
                            group.addTask {
                                do {
                                    try await client.logs(request) { chunk in printer.lines(chunk.data, prefix: prefix) }
                                } catch let error as HeliosClientError where error.code == .notFound || error.code == .unavailable {
                                    // Not started yet, or its node is gone: say so and carry on with the others.
                                    Terminal.error("\(prefix)no logs: \(error.message)")
                                }
                                printer.flush(prefix: prefix)
                            }
                        }
                    }
                    if logs.follow { try await Task.sleep(for: .seconds(2)) }
                } while logs.follow && !Task.isCancelled
                try await group.waitForAll()
            }
        }
    }
}
