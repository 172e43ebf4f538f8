import ArgumentParser
import Foundation
import HeliosLog
import Logging

/// `helios-bench log`: the segmented log against fio on the same disk, in one run.
struct LogBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Append throughput and latency, fio reference, and recovery time of a large log.")

    @Option(help: "Scratch directory on the disk to measure (emptied first).") var directory: String
    @Option(help: "Seconds per append measurement.") var seconds: Double = 3
    @Option(help: "Size of the log whose open (recovery) time is measured, in MiB.") var recoveryMib: Int = 1024
    @Flag(help: "Tiny run that leaves a sample log in DIRECTORY/sample/log (for the quick start).") var quick = false

    func run() async throws {
        let fileManager = FileManager.default
        try? fileManager.removeItem(atPath: directory)
        try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if quick {
            try await writeSample()
            return
        }
        print("Output of `helios-bench log`.\n")
        print("Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, directory `\(directory)`, CRC32C hardware: \(CRC32C.isHardwareAccelerated).\n")

        // References: fio on the same directory. The fsync'd-write reference runs before and after the
        // Helios runs to show how much this VM's fsync latency drifts within one run.
        let fioSyncBefore = try fio(blockSize: 4096)
        let fioUnaligned = try fio(blockSize: 4160)
        let fioSeq = try Fio.run(
            name: "seq1m", directory: directory, arguments: ["--rw=write", "--bs=1m", "--size=1g", "--end_fsync=1"])
        clean()

        var rows: [(String, Double, Double, LatencySummary)] = []
        for payload in [256, 4096] {
            for batch in [1, 64, 1024] {
                let result = try await measureAppends(payload: payload, batch: batch)
                rows.append(("\(payload) B x \(batch)", result.entriesPerSecond, result.megabytesPerSecond, result.latency))
            }
        }
        let concurrent = try await measureConcurrent(payload: 256, appenders: 64)
        let fioSyncAfter = try fio(blockSize: 4096)

        print("| Workload (payload x entries per append, one appender waiting for each) | entries/s | MB/s | append latency mean / p50 / p99 (µs) |")
        print("|---|---:|---:|---:|")
        for (name, entries, megabytes, latency) in rows {
            print("| \(name) | \(fixed(entries, 0)) | \(fixed(megabytes)) | \(fixed(latency.mean, 0)) / \(fixed(latency.p50, 0)) / \(fixed(latency.p99, 0)) |")
        }
        print("| 256 B x 1, 64 concurrent appenders (group commit: \(fixed(concurrent.appendsPerSync)) appends per fdatasync) | \(fixed(concurrent.entriesPerSecond, 0)) | \(fixed(concurrent.megabytesPerSecond)) | \(fixed(concurrent.latency.mean, 0)) / \(fixed(concurrent.latency.p50, 0)) / \(fixed(concurrent.latency.p99, 0)) |")
        print("")
        print("| fio reference (same directory, same run) | result |")
        print("|---|---:|")
        for (label, run) in [("before", fioSyncBefore), ("after", fioSyncAfter)] {
            print("| 4 KiB sequential writes, fdatasync after each (\(label) the Helios runs) | \(fixed(run.operations / run.seconds, 0)) IOPS, \(fixed(run.microsecondsPerOperation, 0)) µs per write+sync (sync p50 \(fixed(run.syncLatency?.p50 ?? 0, 0)) µs, p99 \(fixed(run.syncLatency?.p99 ?? 0, 0)) µs) |")
        }
        print("| 4160 B sequential writes, fdatasync after each (the bytes of one framed 4 KiB entry + commit) | \(fixed(fioUnaligned.operations / fioUnaligned.seconds, 0)) IOPS, \(fixed(fioUnaligned.microsecondsPerOperation, 0)) µs per write+sync |")
        print("| 1 MiB sequential writes, 1 GiB, fsync at end | \(fixed(fioSeq.bytesPerSecond / 1e6)) MB/s |")
        print("")
        let large = rows.first { $0.0 == "4096 B x 1024" }!

        // Latency ratios from alternating rounds (Helios, fio, Helios, fio, ...): this VM's fsync
        // latency drifts by 30% between runs, so each ratio compares neighbours and the median is kept.
        var smallRatios: [Double] = []
        var singleRatios: [Double] = []
        var sameBytesRatios: [Double] = []
        for _ in 0..<3 {
            let small = try await measureAppends(payload: 256, batch: 1, duration: 2)
            let single = try await measureAppends(payload: 4096, batch: 1, duration: 2)
            let aligned = try fio(blockSize: 4096, duration: 2)
            let unaligned = try fio(blockSize: 4160, duration: 2)
            smallRatios.append(small.latency.mean / aligned.microsecondsPerOperation)
            singleRatios.append(single.latency.mean / aligned.microsecondsPerOperation)
            sameBytesRatios.append(single.latency.mean / unaligned.microsecondsPerOperation)
        }
        func medianOfRounds(_ values: [Double]) -> String {
            "\(fixed(median(values), 2)) (rounds: \(values.map { fixed($0, 2) }.joined(separator: ", ")))"
        }
        print("| Ratio | value | target |")
        print("|---|---:|---:|")
        print("| Helios 4 KiB x 1024 MB/s / fio 1 MiB MB/s | \(fixed(large.2 / (fioSeq.bytesPerSecond / 1e6), 2)) | >= 0.90 |")
        print("| Helios 256 B x 1 mean latency / fio 4 KiB write+fdatasync (median of 3 alternating rounds) | \(medianOfRounds(smallRatios)) | <= 1.20 |")
        print("| Helios 4 KiB x 1 mean latency / fio 4 KiB write+fdatasync | \(medianOfRounds(singleRatios)) | <= 1.20 |")
        print("| Helios 4 KiB x 1 mean latency / fio 4160 B write+fdatasync (same bytes per sync) | \(medianOfRounds(sameBytesRatios)) | <= 1.20 |")
        print("")

        let recovery = try await measureRecovery(mebibytes: recoveryMib)
        let smallRecovery = try await measureRecovery(mebibytes: 128)
        print("| Open (recovery) of an existing log | median of 5 | target |")
        print("|---|---:|---:|")
        print("| \(smallRecovery.entries) entries, \(smallRecovery.segments) segments (128 MiB) | \(fixed(smallRecovery.milliseconds)) ms | < 100 ms |")
        print("| \(recovery.entries) entries, \(recovery.segments) segments (\(recoveryMib) MiB) | \(fixed(recovery.milliseconds)) ms | < 100 ms |")
        try? fileManager.removeItem(atPath: directory)
    }

    /// fio's fsync'd sequential writes of `blockSize` bytes on the benchmark disk.
    func fio(blockSize: Int, duration: Double? = nil) throws -> Fio.Result {
        defer { clean() }
        return try Fio.run(
            name: "fsync\(blockSize)", directory: directory,
            arguments: ["--rw=write", "--bs=\(blockSize)", "--size=64m", "--fdatasync=1",
                        "--runtime=\(max(1, Int(duration ?? seconds)))", "--time_based"])
    }

    /// Empties the benchmark directory.
    func clean() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    struct AppendResult {
        var entriesPerSecond: Double
        var megabytesPerSecond: Double
        var latency: LatencySummary
        var appendsPerSync: Double = 1
    }

    func quietConfiguration() -> LogConfiguration {
        var configuration = LogConfiguration()
        configuration.logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        return configuration
    }

    /// One appender, waiting for each append to be durable before the next.
    func measureAppends(payload: Int, batch: Int, duration: Double? = nil) async throws -> AppendResult {
        let path = directory + "/append-\(payload)-\(batch)"
        let log = try SegmentedLog.open(directory: path, configuration: quietConfiguration())
        let bytes = [UInt8](repeating: 0xA5, count: payload)
        let payloads = [[UInt8]](repeating: bytes, count: batch)
        // Warm up: the first segment, page cache.
        for _ in 0..<10 { _ = try await log.append(term: 1, payloads: payloads) }
        let clock = ContinuousClock()
        var latencies: [Double] = []
        var entries = 0
        let start = clock.now
        let deadline = start + .milliseconds(Int((duration ?? seconds) * 1000))
        while clock.now < deadline {
            let before = clock.now
            _ = try await log.append(term: 1, payloads: payloads)
            latencies.append((clock.now - before).microseconds)
            entries += batch
        }
        let elapsed = (clock.now - start).seconds
        await log.close()
        try? FileManager.default.removeItem(atPath: path)
        return AppendResult(
            entriesPerSecond: Double(entries) / elapsed, megabytesPerSecond: Double(entries * payload) / elapsed / 1e6,
            latency: LatencySummary(microseconds: latencies))
    }

    /// Many appenders at once: group commit folds them into shared fdatasyncs.
    func measureConcurrent(payload: Int, appenders: Int) async throws -> AppendResult {
        let path = directory + "/concurrent"
        let log = try SegmentedLog.open(directory: path, configuration: quietConfiguration())
        let bytes = [UInt8](repeating: 0x5A, count: payload)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<appenders {
                group.addTask {
                    var mine: [Double] = []
                    while clock.now < deadline {
                        let before = clock.now
                        _ = try await log.append(term: 1, payloads: [bytes])
                        mine.append((clock.now - before).microseconds)
                    }
                    return mine
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
        let elapsed = (clock.now - start).seconds
        let statistics = log.statistics
        await log.close()
        try? FileManager.default.removeItem(atPath: path)
        return AppendResult(
            entriesPerSecond: Double(latencies.count) / elapsed,
            megabytesPerSecond: Double(latencies.count * payload) / elapsed / 1e6, latency: LatencySummary(microseconds: latencies),
            appendsPerSync: statistics.appendsPerGroup)
    }

    /// Writes a log of the given size, then times `open` (which recovers it) five times.
    func measureRecovery(mebibytes: Int) async throws -> (milliseconds: Double, entries: UInt64, segments: Int) {
        let path = directory + "/recovery-\(mebibytes)"
        let log = try SegmentedLog.open(directory: path, configuration: quietConfiguration())
        let payloads = [[UInt8]](repeating: [UInt8](repeating: 0x3C, count: 4096), count: 256)
        let target = UInt64(mebibytes) << 20
        var written: UInt64 = 0
        while written < target {
            _ = try await log.append(term: 1, payloads: payloads)
            written += UInt64(payloads.count * 4096)
        }
        let entries = log.lastIndex
        await log.close()
        let segments = (try FileManager.default.contentsOfDirectory(atPath: path)).filter { SegmentFileName.parse($0) != nil }.count
        let clock = ContinuousClock()
        var samples: [Double] = []
        for _ in 0..<5 {
            let start = clock.now
            let reopened = try SegmentedLog.open(directory: path, configuration: quietConfiguration())
            samples.append((clock.now - start).microseconds / 1000)
            guard reopened.lastIndex == entries else { throw BenchmarkError("recovery lost entries: \(reopened.lastIndex) != \(entries)") }
            await reopened.close()
        }
        try? FileManager.default.removeItem(atPath: path)
        return (LatencySummary(microseconds: samples).p50, entries, segments)
    }

    /// The quick start's sample: a small log with a few segments, left in place for inspection.
    func writeSample() async throws {
        let path = directory + "/sample/log"
        var configuration = quietConfiguration()
        configuration.segmentSize = 64 << 10
        let log = try SegmentedLog.open(directory: path, configuration: configuration)
        let clock = ContinuousClock()
        let start = clock.now
        for term in 1...3 {
            for batch in 0..<40 {
                let payloads = (0..<10).map { Array("term \(term) batch \(batch) event \($0)".utf8) + [UInt8](repeating: 0, count: 200) }
                _ = try await log.append(term: UInt64(term), type: UInt8(batch % 3), payloads: payloads)
            }
        }
        let elapsed = clock.now - start
        print("wrote \(log.lastIndex) entries in 120 durable batches (one fdatasync each) to \(path) in \(fixed(elapsed.seconds * 1000)) ms")
        await log.close()
    }
}
