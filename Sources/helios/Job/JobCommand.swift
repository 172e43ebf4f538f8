import ArgumentParser

/// `helios job ...`: submit, inspect and stop jobs.
struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Submit, plan, inspect, stop and revert jobs.",
        subcommands: [
            JobRunCommand.self, JobPlanCommand.self, JobStatusCommand.self, JobListCommand.self, JobInspectCommand.self,
            JobStopCommand.self, JobHistoryCommand.self, JobRevertCommand.self, JobLogsCommand.self, JobInitCommand.self,
        ]
    )
}
