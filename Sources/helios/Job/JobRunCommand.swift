import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios job run`: register a job and follow its placement.
struct JobRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Register a job (from a file, or a command given inline) and follow its placement.",
        discussion: """
            helios job run web.yaml
            helios job run --name multi-node-test echo -- 'It replicated!'
            Exit codes: 0 placed (and, for batch jobs, completed), 2 placement or task failures, 1 other errors.
            """
    )

    @OptionGroup var client: ClientOptions
    @OptionGroup var source: JobSource

    @Flag(help: "Return right after the job is registered, without following its placement.")
    var detach = false

    @Option(help: "Register only if the job's current version is this (check-and-set).")
    var checkIndex: UInt64?

    @Option(help: "Seconds to follow the placement before returning (the job keeps going).")
    var timeout: Double = 300

    func run() async throws {
        let spec = try source.spec()
        try await client.withClient { client in
            let registered = try await client.registerJob(spec, expectedVersion: checkIndex)
            print("Job \"\(spec.id)\" registered: version \(registered.version), evaluation \"\(Format.short(registered.evaluationID))\"")
            if detach { return }
            let outcome = try await PlacementMonitor(client: client, job: spec.id, type: spec.type, evaluation: registered.evaluationID)
                .follow(timeout: .milliseconds(Int64(timeout * 1000)))
            if outcome == .failed { throw ExitCode(2) }
        }
    }
}
