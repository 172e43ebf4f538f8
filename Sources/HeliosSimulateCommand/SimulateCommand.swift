import ArgumentParser
import Foundation
import HeliosSimulation

/// `helios-simulate`: runs the deterministic Raft simulation for one seed or a range of seeds.
@main
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helios-simulate",
        abstract: "Deterministic simulation of a Raft cluster under network, disk and crash faults.",
        discussion: """
            Every run is reproduced exactly by its seed. A failing run prints the seed and the broken invariant; \
            rerun it with --seed N --trace for one line per event.
            """)

    @Option(help: "Run one seed.") var seed: UInt64?
    @Option(help: "Run a range of seeds, e.g. 1..2000.") var seeds: String?
    @Flag(help: "Print the event trace (one line per event) of a single seed.") var trace = false
    @Flag(help: "Print one line per seed.") var verbose = false
    @Option(help: "Override the mean µs between faults.") var faultInterval: UInt64?
    @Option(help: "Override the fsync latency range in µs, e.g. 2000..20000.") var fsync: String?
    @Flag(help: "No network partitions (crashes and restarts only, with the other faults).") var noPartitions = false
    @Flag(help: "Break the Ready contract (acknowledge before persisting) to show the checker catches it.")
    var unsafeAcknowledgeBeforePersist = false

    func validate() throws {
        if seed == nil && seeds == nil { throw ValidationError("pass --seed N or --seeds A..B") }
        if let seeds, parseRange(seeds) == nil { throw ValidationError("--seeds must look like 1..2000, got '\(seeds)'") }
    }

    func parseRange(_ text: String) -> ClosedRange<UInt64>? {
        let parts = text.components(separatedBy: "..")
        guard parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]), low <= high else { return nil }
        return low...high
    }

    func run() throws {
        let range = seed.map { $0...$0 } ?? parseRange(seeds!)!
        var failures = 0
        var totalWrites = 0
        let start = Date()
        for seed in range {
            var options = SimulationOptions.random(seed: seed)
            if let faultInterval { options.faultInterval = faultInterval }
            if let fsync, let range = parseRange(fsync) {
                options.minFsync = range.lowerBound
                options.maxFsync = range.upperBound
            }
            options.unsafeAcknowledgeBeforePersist = unsafeAcknowledgeBeforePersist
            if noPartitions { options.partitions = false }
            do {
                let report = try Simulation(options: options, trace: trace).run()
                totalWrites += report.acknowledgedWrites
                if verbose || range.count == 1 { print("ok \(report)") }
            } catch {
                failures += 1
                print("FAIL \(error)")
                if trace {
                    for line in error.trace { print(line) }
                }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print("\(range.count) seeds, \(failures) failed, \(totalWrites) writes acknowledged, \(String(format: "%.1f", seconds)) s")
        if failures > 0 { throw ExitCode(1) }
    }
}
