import ArgumentParser

/// The one Helios binary: servers, agents, the job CLI and the operator tools.
@main
struct Helios: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helios",
        abstract: "Helios: a workload orchestrator on a Raft-replicated, event-sourced log.",
        version: "0.1.0",
        subcommands: [
            JobCommand.self, AllocCommand.self, NodeCommand.self, EventsCommand.self, DevCommand.self, ServerCommand.self, AgentCommand.self,
            OperatorCommand.self, ExecutorCommand.self,
        ]
    )
}
