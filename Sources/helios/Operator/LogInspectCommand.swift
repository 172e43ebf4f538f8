import ArgumentParser
import Foundation
import HeliosLog

/// `helios operator log inspect`: one line per segment and totals.
struct LogInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the segments of a log: index range, entries, size, terms, sealed or open.",
        discussion: "Reads only headers, footers and index blocks of sealed segments, and scans the last one.")

    @OptionGroup var directory: LogDirectoryOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    struct Row: Codable {
        var file: String
        var firstIndex: UInt64
        var lastIndex: UInt64
        var entries: Int
        var bytes: Int64
        var firstTerm: UInt64?
        var lastTerm: UInt64?
        var state: String
        var problem: String?
    }

    func run() async throws {
        let path = try directory.logDirectory()
        let segments = try LogInspector(directory: path).summaries()
        let rows = segments.map { segment in
            let summary = segment.summary
            return Row(
                file: summary.name, firstIndex: summary.firstIndex, lastIndex: summary.lastIndex,
                entries: summary.entryCount, bytes: summary.fileSize, firstTerm: summary.firstTerm, lastTerm: summary.lastTerm,
                state: segment.problem != nil ? "damaged" : (summary.sealed ? "sealed" : "open"), problem: segment.problem)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        var table = TextTable("FILE", "FIRST", "LAST", "ENTRIES", "BYTES", "TERMS", "STATE")
        for row in rows {
            let terms: String
            switch (row.firstTerm, row.lastTerm) {
            case (let first?, let last?) where first == last: terms = "\(first)"
            case (let first?, let last?): terms = "\(first)-\(last)"
            default: terms = "-"
            }
            let last = row.entries == 0 ? "-" : "\(row.lastIndex)"
            table.append([row.file, "\(row.firstIndex)", last, "\(row.entries)", formatBytes(row.bytes), terms,
                          row.problem.map { "damaged: \($0)" } ?? row.state])
        }
        print(table.render())
        let entries = rows.reduce(0) { $0 + $1.entries }
        let bytes = rows.reduce(Int64(0)) { $0 + $1.bytes }
        let range = entries > 0 ? " (\(rows.first { $0.entries > 0 }!.firstIndex)...\(rows.last { $0.entries > 0 }!.lastIndex))" : ""
        print("total: \(rows.count) segments, \(entries) entries\(range), \(formatBytes(bytes))")
        if rows.contains(where: { $0.problem != nil }) {
            print("some segments are damaged; run 'helios operator log verify --data-dir \(directory.dataDirectory)' for details")
        }
    }
}
