import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios alloc stop`: stop one allocation (the scheduler replaces it if its job still wants it).
struct AllocStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop an allocation; the scheduler places a replacement if its job still wants one.")

    @OptionGroup var client: ClientOptions

    @Argument(help: "The allocation id or a unique prefix.")
    var allocation: String

    func run() async throws {
        try await client.withClient { client in
            let id = try await client.allocation(allocation).id
            let stopped = try await client.stopAllocation(id)
            print("Allocation \"\(Format.short(id))\" stopping (index \(stopped.index)); evaluation \"\(Format.short(stopped.evaluationID))\" places its replacement")
        }
    }
}

/// `helios alloc restart`: restart an allocation's tasks in place.
struct AllocRestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart", abstract: "Restart an allocation's tasks (or one task) in place, on the same node.")

    @OptionGroup var client: ClientOptions

    @Argument(help: "The allocation id or a unique prefix.")
    var allocation: String

    @Argument(help: "Only this task (default: every task).")
    var task: String?

    func run() async throws {
        try await client.withClient { client in
            let id = try await client.allocation(allocation).id
            let index = try await client.restartAllocation(id, task: task ?? "")
            print("Allocation \"\(Format.short(id))\": restart requested (index \(index))")
        }
    }
}
