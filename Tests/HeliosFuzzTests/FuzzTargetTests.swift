import Foundation
import HeliosTesting
import Testing

/// CI's share of the fuzzing: the built `helios-fuzz` replays each target's seeds and runs seeded
/// mutations of them (the libFuzzer runs of the same targets are `tools/fuzz`, too long for CI).
/// `HELIOS_FUZZ_ITERATIONS=N` runs N mutations per target instead.
@Suite("Fuzz targets (seeded mutations)", .serialized, .timeLimit(.minutes(5)))
struct FuzzTargetTests {
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("helios-fuzz").path

    /// Runs `helios-fuzz` with `arguments`, bounded; returns its exit status and output.
    func run(_ arguments: [String]) throws -> (Int32, String) {
        try ChildProcesses.runToEnd(Self.binary, arguments, limit: 240)
    }

    @Test("each target's seeds hold its oracle", arguments: ["log", "jobfile", "event", "spec", "record", "snapshot", "edge", "peer-link"])
    func seeds(target: String) throws {
        let (status, output) = try run([target])
        #expect(status == 0, "\(output)")
        #expect(output.contains("no oracle violated"), "\(output)")
    }

    @Test("seeded mutations: no crash, no oracle violated", arguments: [("log", 1_500), ("jobfile", 3_000), ("event", 600), ("spec", 3_000), ("record", 5_000), ("snapshot", 3_000), ("edge", 2_000), ("peer-link", 3_000)])
    func mutations(target: String, count: Int) throws {
        let iterations = ProcessInfo.processInfo.environment["HELIOS_FUZZ_ITERATIONS"] ?? "\(count)"
        let (status, output) = try run([target, "--mutations", iterations, "--seed", "20261202"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("\(iterations) mutations"), "\(output)")
        // Both sides of each oracle were reached: some inputs refused, some accepted.
        #expect(output.contains("refused"), "\(output)")
        let accepted = ["log": "served", "jobfile": "parsed", "event": "applied", "spec": "placed", "record": "decoded", "snapshot": "loaded", "edge": "served", "peer-link": "served"]
        #expect(output.contains(accepted[target]!), "\(output)")
    }

    @Test("an unknown target is refused with the list of targets")
    func unknownTarget() throws {
        let (status, output) = try run(["segments"])
        #expect(status == 2)
        #expect(output.contains("log:") && output.contains("jobfile:") && output.contains("event:") && output.contains("spec:") && output.contains("record:") && output.contains("snapshot:"), "\(output)")
    }
}
