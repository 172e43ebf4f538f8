import Foundation
import Testing

/// CI's share of the fuzzing: the built `helios-fuzz` replays each target's seeds and runs seeded
/// mutations of them (the libFuzzer runs of the same targets are `tools/fuzz`, too long for CI).
/// `HELIOS_FUZZ_ITERATIONS=N` runs N mutations per target instead.
@Suite("Fuzz targets (seeded mutations)", .serialized, .timeLimit(.minutes(5)))
struct FuzzTargetTests {
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("helios-fuzz").path

    /// Runs `helios-fuzz` with `arguments`, bounded; returns its exit status and output.
    func run(_ arguments: [String], limit: TimeInterval = 240) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let pid = process.processIdentifier
        let watchdog = Thread {
            Thread.sleep(forTimeInterval: limit)
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        watchdog.start()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test("each target's seeds hold its oracle", arguments: ["log", "jobfile", "event"])
    func seeds(target: String) throws {
        let (status, output) = try run([target])
        #expect(status == 0, "\(output)")
        #expect(output.contains("no oracle violated"), "\(output)")
    }

    @Test("seeded mutations: no crash, no oracle violated", arguments: [("log", 1_500), ("jobfile", 3_000), ("event", 600)])
    func mutations(target: String, count: Int) throws {
        let iterations = ProcessInfo.processInfo.environment["HELIOS_FUZZ_ITERATIONS"] ?? "\(count)"
        let (status, output) = try run([target, "--mutations", iterations, "--seed", "20261202"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("\(iterations) mutations"), "\(output)")
        // Both sides of each oracle were reached: some inputs refused, some accepted.
        #expect(output.contains("refused"), "\(output)")
        #expect(output.contains(target == "log" ? "served" : target == "jobfile" ? "parsed" : "applied"), "\(output)")
    }

    @Test("an unknown target is refused with the list of targets")
    func unknownTarget() throws {
        let (status, output) = try run(["segments"])
        #expect(status == 2)
        #expect(output.contains("log:") && output.contains("jobfile:") && output.contains("event:"), "\(output)")
    }
}
