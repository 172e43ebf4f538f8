import Foundation
import NIOCore
import NIOEmbedded

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
    static var all: [any FuzzTarget.Type] { [LogRecoveryTarget.self, JobFileTarget.self, EventApplyTarget.self, JobSpecTarget.self, SnapshotRecordTarget.self, SnapshotFileTarget.self, EdgeFramesTarget.self, PeerLinkFramesTarget.self] }

    static func named(_ name: String) -> (any FuzzTarget.Type)? { all.first { $0.name == name } }
}

/// The job files of `Formats/examples` (name and bytes), sorted by name: seeds for the job-file and
/// job-spec targets.
func exampleJobFiles() throws -> [(name: String, bytes: [UInt8])] {
    let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Formats/examples").standardized
    let names = (try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []
    return try names.sorted().map { ($0, Array(try Data(contentsOf: examples.appendingPathComponent($0)))) }
}

/// Fails the input: libFuzzer saves it as a crash; the replay and mutation modes name it.
func violated(_ message: String) -> Never {
    let input = getenv("HELIOS_FUZZ_INPUT").map { " (input: \(String(cString: $0)))" } ?? ""
    fatalError("oracle violated\(input): \(message)")
}

/// Writes `bytes` into `channel`, `step` bytes per read, running its event loop after each, until
/// all are in or the channel closes; `drain` takes what the channel wrote after each read. Returns
/// whether a read was refused with an error (a connection error: the handlers answer and close).
func feed(_ bytes: [UInt8], step: Int, into channel: EmbeddedChannel, drain: (EmbeddedChannel) -> Void) -> Bool {
    var offset = 0
    var refused = false
    while offset < bytes.count, channel.isActive {
        var buffer = channel.allocator.buffer(capacity: step)
        buffer.writeBytes(bytes[offset..<min(offset + step, bytes.count)])
        offset += step
        do {
            try channel.writeInbound(buffer)
        } catch {
            refused = true
        }
        channel.embeddedEventLoop.run()
        drain(channel)
    }
    return refused
}
