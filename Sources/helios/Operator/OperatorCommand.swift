import ArgumentParser

/// `helios operator ...`: tools for the people who run Helios.
struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Operate a Helios cluster (raft, snapshot save) or a data directory (log, snapshot, state; offline).",
        subcommands: [RaftCommand.self, LogCommand.self, SnapshotCommand.self, StateCommand.self]
    )
}

/// `helios operator log ...`: offline tools for the segmented log (no server may have it open).
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Inspect, dump and verify the segmented log of a data directory (offline).",
        subcommands: [LogInspectCommand.self, LogDumpCommand.self, LogVerifyCommand.self]
    )
}
