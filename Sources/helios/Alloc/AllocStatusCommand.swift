import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios alloc status <alloc>`: one allocation with its tasks and their events.
struct AllocStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show an allocation, its tasks and their recent events.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The allocation id or a unique prefix.")
    var allocation: String

    func run() async throws {
        try await client.withClient { client in
            let allocation = try await client.allocation(allocation)
            if output.json {
                print(try Format.json(allocation))
                return
            }
            var lines = [Format.fields([
                ("ID", allocation.id), ("Name", allocation.name), ("Job", "\(allocation.jobID) (version \(allocation.jobVersion))"),
                ("Node", allocation.nodeID), ("Desired", Format.desired(allocation.desiredStatus) + (allocation.desiredDescription.isEmpty ? "" : " (\(allocation.desiredDescription))")),
                ("Status", Format.colored(allocation.clientStatus.name) + (allocation.clientDescription.isEmpty ? "" : " (\(allocation.clientDescription))")),
                ("Resources", "\(allocation.resources.cpuMhz) MHz, \(allocation.resources.memoryMb) MB"),
                ("Created", Format.ago(ms: allocation.createdAtMs)), ("Modified", Format.ago(ms: allocation.modifiedAtMs)),
                ("Replaces", allocation.previousAllocation.isEmpty ? "-" : Format.short(allocation.previousAllocation)),
            ])]
            for state in allocation.taskStates {
                lines.append("\nTask \"\(state.task)\" is \"\(state.state)\"\(state.failed ? " (failed)" : "")  restarts: \(state.restarts)")
                var table = TextTable("Time", "Type", "Description")
                for event in state.events.reversed() {
                    var description = event.message
                    if event.oomKilled { description += " (OOM killed)" }
                    table.append([Format.ago(ms: event.timeMs), event.type, description])
                }
                lines.append(table.render())
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
