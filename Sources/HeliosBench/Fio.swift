import Foundation

/// Runs `fio` (Debian package `fio`) and reads its JSON output.
enum Fio {
    struct Result {
        var operations: Double
        var seconds: Double
        var bytesPerSecond: Double
        /// Per-operation latency (write + fdatasync for synced jobs), from elapsed time / operations.
        var microsecondsPerOperation: Double { seconds * 1e6 / max(operations, 1) }
        var syncLatency: LatencySummary?
    }

    /// Runs one fio job in `directory` and returns its write statistics.
    static func run(name: String, directory: String, arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/fio")
        process.arguments = ["--name=\(name)", "--directory=\(directory)", "--output-format=json", "--ioengine=sync"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let job = (root["jobs"] as? [[String: Any]])?.first,
            let write = job["write"] as? [String: Any]
        else {
            throw BenchmarkError("fio \(name) failed (exit \(process.terminationStatus)); is the Debian package fio installed?")
        }
        let ios = (write["total_ios"] as? NSNumber)?.doubleValue ?? 0
        let runtimeMs = (write["runtime"] as? NSNumber)?.doubleValue ?? 0
        let bytes = (write["io_bytes"] as? NSNumber)?.doubleValue ?? 0
        var syncLatency: LatencySummary?
        if let sync = job["sync"] as? [String: Any], let lat = sync["lat_ns"] as? [String: Any],
            let percentiles = lat["percentile"] as? [String: Any]
        {
            var summary = LatencySummary(microseconds: [])
            summary.count = (lat["N"] as? NSNumber)?.intValue ?? 0
            summary.mean = ((lat["mean"] as? NSNumber)?.doubleValue ?? 0) / 1000
            summary.p50 = ((percentiles["50.000000"] as? NSNumber)?.doubleValue ?? 0) / 1000
            summary.p99 = ((percentiles["99.000000"] as? NSNumber)?.doubleValue ?? 0) / 1000
            syncLatency = summary
        }
        return Result(
            operations: ios, seconds: runtimeMs / 1000, bytesPerSecond: runtimeMs > 0 ? bytes / (runtimeMs / 1000) : 0,
            syncLatency: syncLatency)
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
