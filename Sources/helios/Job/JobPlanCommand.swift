import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios job plan`: a dry run of registering a job.
struct JobPlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what registering a job would change, place and stop, without changing anything.",
        discussion: "Exit codes (as Nomad's): 0 no changes, 1 changes (or placement failures), 255 an error."
    )

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var source: JobSource

    func run() async throws {
        let plan: Helios_V1_PlanJobResponse
        let spec: Helios_V1_JobSpec
        do {
            spec = try source.spec()
            plan = try await client.withClient { try await $0.planJob(spec) }
        } catch {
            Terminal.error("Error: \(error)")
            throw ExitCode(255)
        }
        if output.json {
            print(try Format.json(plan))
        } else {
            print(plan.changes ? "Job \"\(spec.id)\": changes (current version \(plan.currentVersion))" : "Job \"\(spec.id)\": no changes")
            for line in plan.diff { print("  \(line)") }
            if !plan.placements.isEmpty {
                print("Placements:")
                var table = TextTable("Group", "Node", "Node ID")
                for placement in plan.placements { table.append([placement.group, placement.nodeName, Format.short(placement.nodeID)]) }
                print(indent(table.render()))
            }
            if !plan.stops.isEmpty {
                print("Stops:")
                for stop in plan.stops { print("  \(stop)") }
            }
            if !plan.failures.isEmpty {
                print("Placement failures:")
                for failure in plan.failures { print("  \(failure)") }
            }
            if plan.changes { print("\nTo submit: helios job run\(spec.id == source.name ? " --name \(spec.id) ..." : " \(source.arguments.first ?? "")")") }
        }
        if plan.changes || !plan.failures.isEmpty { throw ExitCode(1) }
    }
}

/// Indents every line by two spaces.
func indent(_ text: String, by spaces: Int = 2) -> String {
    let pad = String(repeating: " ", count: spaces)
    return text.split(separator: "\n", omittingEmptySubsequences: false).map { pad + $0 }.joined(separator: "\n")
}
