import ArgumentParser

/// Benchmarks that compare Helios against a reference measured in the same run.
/// Build in release mode: `swift build -c release --product helios-bench`.
@main
struct HeliosBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helios-bench",
        abstract: "Helios benchmarks (release builds only; results go to docs/benchmarks.md).",
        subcommands: [LogBenchmark.self, RaftBenchmark.self, StateBenchmark.self, SchedulerBenchmark.self, ClusterBenchmark.self]
    )
}
