import ArgumentParser

/// `helios alloc ...`: allocations (one group instance placed on a node).
struct AllocCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alloc",
        abstract: "Inspect, stop, restart and read the logs of allocations.",
        subcommands: [AllocStatusCommand.self, AllocListCommand.self, AllocLogsCommand.self, AllocStopCommand.self, AllocRestartCommand.self]
    )
}
