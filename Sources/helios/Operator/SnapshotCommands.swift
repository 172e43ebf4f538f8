import ArgumentParser
import CCRC32C
import Foundation
import HeliosLog
import HeliosProto
import HeliosRaft
import HeliosSnapshot
import HeliosState
import Logging

/// `helios operator snapshot ...`
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Save a running cluster's snapshot, restore one, inspect snapshot files, compact a data directory.",
        subcommands: [SnapshotSaveCommand.self, SnapshotRestoreCommand.self, SnapshotInspectCommand.self, SnapshotCompactCommand.self])
}

/// `helios operator snapshot inspect FILE`
struct SnapshotInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show a snapshot's position, sizes, ratio and contents, and check every checksum.")

    @Argument(help: "The snapshot file (.snap).") var file: String
    @Flag(help: "Print JSON.") var json = false

    struct Report: Codable {
        var file: String
        var index: UInt64?
        var term: UInt64?
        var compressedBytes: UInt64?
        var uncompressedBytes: UInt64?
        var ratio: Double?
        var voters: [UInt64]?
        var learners: [UInt64]?
        var jobs: Int?
        var nodes: Int?
        var evaluations: Int?
        var allocations: Int?
        var checksums: String
    }

    func run() async throws {
        var report = Report(file: file, checksums: "ok")
        if let header = try? SnapshotReader.header(path: file) {
            report.index = header.index
            report.term = header.term
            report.compressedBytes = header.compressedSize
            report.uncompressedBytes = header.uncompressedSize
            report.ratio = header.compressedSize > 0 ? Double(header.uncompressedSize) / Double(header.compressedSize) : nil
        }
        var failed = false
        do {
            let loaded = try SnapshotReader.read(path: file)
            report.voters = loaded.position.voters
            report.learners = loaded.position.learners
            report.jobs = loaded.state.jobs.count
            report.nodes = loaded.state.nodes.count
            report.evaluations = loaded.state.evaluations.count
            report.allocations = loaded.state.allocations.count
        } catch {
            report.checksums = "BAD: \(error)"
            failed = true
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("file:          \(file)")
            if let index = report.index, let term = report.term { print("position:      index \(index), term \(term)") }
            if let compressed = report.compressedBytes, let raw = report.uncompressedBytes {
                print("size:          \(formatBytes(Int64(compressed))) compressed, \(formatBytes(Int64(raw))) uncompressed (ratio \(String(format: "%.2f", report.ratio ?? 0)))")
            }
            if let voters = report.voters { print("membership:    voters \(voters)" + (report.learners?.isEmpty == false ? " learners \(report.learners!)" : "")) }
            if let jobs = report.jobs {
                print("contents:      \(jobs) jobs, \(report.nodes!) nodes, \(report.evaluations!) evaluations, \(report.allocations!) allocations")
            }
            print("checksums:     \(report.checksums)")
        }
        if failed { throw ExitCode(1) }
    }
}

/// `helios operator snapshot compact --data-dir DIR [--retain N]`
struct SnapshotCompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Snapshot a stopped server's state at its last committed index and drop the log segments below it.",
        discussion: """
            Refuses to run while a server has the data directory open. Entries above the last known commit \
            index are kept (they may not be committed yet). --retain keeps that many entries below the \
            snapshot for slow followers (whole segments are removed only when all their entries go).
            """)

    @OptionGroup var directory: LogDirectoryOptions
    @Option(help: "Entries to keep below the snapshot index.") var retain: UInt64 = 0

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let dataDirectory = directory.dataDirectory
        let snapshots = try directory.snapshotDirectory(label: "helios.compact")
        let logDirectory = try directory.logDirectory()
        let log = try directory.openLog(
            label: "helios.compact", whenLocked: "compaction works on a stopped server only; for a running one use the Compact operator RPC")
        let before = directoryBytes(logDirectory) + directoryBytes(snapshots.path)
        let segmentsBefore = segmentCount(logDirectory)
        let firstBefore = log.firstIndex
        let committed = try HardStateFile(directory: dataDirectory).load().commitIndex
        let newest = try snapshots.list().last?.index ?? 0
        let target = min(log.lastIndex, max(committed, newest))
        guard target > newest else {
            print("nothing to compact: the newest snapshot already covers index \(newest) (last committed index \(committed), last log index \(log.lastIndex))")
            await log.close()
            return
        }
        let loaded = try StateLoader.load(log: log, snapshots: snapshots, through: target) { done, total in
            Terminal.progress("replaying", done: Int64(done), total: Int64(total))
        }
        let createdAt = UInt64(Date().timeIntervalSince1970 * 1000)
        let summary = try snapshots.save(loaded.state, position: loaded.position, createdAtMs: createdAt)
        if target > retain { try await log.purgePrefix(through: min(target - retain, log.lastIndex - 1)) }
        let firstAfter = log.firstIndex
        await log.close()
        let after = directoryBytes(logDirectory) + directoryBytes(snapshots.path)
        let elapsed = clock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        print("compacted \(dataDirectory) at index \(target) (term \(loaded.position.term))")
        print("  snapshot:  \(SnapshotDirectory.fileName(index: target, term: loaded.position.term)), \(formatBytes(summary.fileSize)) "
              + "(\(formatBytes(Int64(summary.header.uncompressedSize))) uncompressed, ratio \(String(format: "%.2f", Double(summary.header.uncompressedSize) / Double(max(1, summary.header.compressedSize)))))")
        print("  state:     \(loaded.state.jobs.count) jobs, \(loaded.state.nodes.count) nodes, \(loaded.state.allocations.count) allocations; "
              + "replayed \(loaded.replayedEvents) events after snapshot \(loaded.snapshotIndex)")
        print("  log:       \(segmentsBefore) -> \(segmentCount(logDirectory)) segments, entries \(firstBefore)... -> \(firstAfter)...; "
              + "\(firstAfter > firstBefore ? firstAfter - firstBefore : 0) entries dropped")
        print("  disk:      \(formatBytes(before)) -> \(formatBytes(after))")
        print("  time:      \(String(format: "%.0f", milliseconds)) ms")
        if committed < log.lastIndex {
            print("  note:      entries \(target + 1)...\(log.lastIndex) are above the last known commit index and were kept")
        }
    }

    func directoryBytes(_ path: String) -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.reduce(Int64(0)) { sum, name in
            sum + ((try? FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? NSNumber)?.int64Value ?? 0)
        }
    }

    func segmentCount(_ path: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { SegmentFileName.parse($0) != nil }.count
    }
}
