import ArgumentParser
import Foundation
import HeliosLog

/// `helios operator log verify`: checks every byte; exit 0 when clean.
struct LogVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every record, checksum and segment link of a log; exit 0 when clean, 1 on corruption.",
        discussion: "A torn write at the end of the last segment is reported as a note (the next open repairs it).")

    @OptionGroup var directory: LogDirectoryOptions
    @Flag(help: "Print JSON.") var json = false

    struct Report: Codable {
        var clean: Bool
        var segments: Int
        var entries: Int
        var bytes: Int64
        var problems: [Problem]
        struct Problem: Codable {
            var severity: String
            var segment: String
            var offset: Int64
            var index: UInt64?
            var reason: String
        }
    }

    func run() async throws {
        let path = try directory.logDirectory()
        let total = (try? FileManager.default.contentsOfDirectory(atPath: path))?.reduce(Int64(0)) { sum, name in
            guard SegmentFileName.parse(name) != nil else { return sum }
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? NSNumber)?.int64Value
            return sum + (size ?? 0)
        } ?? 0
        let verification = try LogVerifier(directory: path).verify { done in
            Terminal.progress("verifying", done: done, total: total)
        }
        var problems = verification.problems
        if let hardStateDirectory = directory.hardStateDirectory() {
            do {
                _ = try HardStateFile(directory: hardStateDirectory).load()
            } catch {
                problems.append(LogProblem(severity: .corruption, segment: HardStateFile.fileName, offset: 0, index: nil, reason: error.message))
            }
        }
        let clean = !problems.contains { $0.severity == .corruption }
        if json {
            let report = Report(
                clean: clean, segments: verification.segments.count, entries: verification.entryCount,
                bytes: verification.bytesChecked,
                problems: problems.map { .init(severity: $0.severity.rawValue, segment: $0.segment, offset: $0.offset, index: $0.index, reason: $0.reason) })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for problem in problems {
                print("\(problem.severity.rawValue): \(problem)")
            }
            let summary = "\(verification.segments.count) segments, \(verification.entryCount) entries, \(formatBytes(verification.bytesChecked))"
            if clean {
                print("ok: \(summary) checked; no corruption")
            } else {
                let first = problems.first { $0.severity == .corruption }!
                print("CORRUPT: \(summary) checked; first problem: \(first)")
                print("see the records around it with 'helios operator log dump --raw --data-dir \(directory.dataDirectory) --from \((first.index ?? 1) > 5 ? (first.index ?? 1) - 5 : 0)'")
            }
        }
        if !clean { throw ExitCode(1) }
    }
}
