import ArgumentParser

/// The log-reading flags `alloc logs` and `job logs` share (single-dash forms as in Nomad).
struct LogOptions: ParsableArguments {
    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep streaming new output (across log rotation) until interrupted.")
    var follow = false

    @Flag(name: [.customLong("stderr"), .customLong("stderr", withSingleDash: true)], help: "Show stderr instead of stdout.")
    var stderr = false

    @Option(name: [.customLong("tail"), .customLong("tail", withSingleDash: true), .customShort("n")], help: "Start with the last N lines (0: everything retained).")
    var tail: UInt32 = 0
}
