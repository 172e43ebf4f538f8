import Foundation

/// One thing to fuzz: a function from arbitrary bytes that must never crash and must hold its
/// oracle (it traps with a message when the oracle fails, so libFuzzer keeps the input).
protocol FuzzTarget {
    /// The name on the command line (`helios-fuzz <name>`).
    static var name: String { get }
    /// What it checks, for `helios-fuzz --help`.
    static var summary: String { get }
    /// Inputs that start the corpus: valid files a mutation starts from.
    static func seeds() throws -> [[UInt8]]
    /// Runs one input; returns what became of it ("refused", "served", ...) for the run's tally.
    static func run(_ input: [UInt8]) -> String
}

enum FuzzTargets {
    static var all: [any FuzzTarget.Type] { [LogRecoveryTarget.self, JobFileTarget.self, EventApplyTarget.self, JobSpecTarget.self] }

    static func named(_ name: String) -> (any FuzzTarget.Type)? { all.first { $0.name == name } }
}

/// Fails the input: libFuzzer saves it as a crash; the replay and mutation modes name it.
func violated(_ message: String) -> Never {
    let input = getenv("HELIOS_FUZZ_INPUT").map { " (input: \(String(cString: $0)))" } ?? ""
    fatalError("oracle violated\(input): \(message)")
}
