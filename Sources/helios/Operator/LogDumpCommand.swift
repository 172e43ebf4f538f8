import ArgumentParser
import Foundation
import HeliosLog
import HeliosProto
import HeliosRaft
import HeliosState
import SwiftProtobuf

/// `helios operator log dump`: the records of a log, one per line.
struct LogDumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print log records: index, term, type, size, checksum state and payload.",
        discussion: """
            Without --raw, stops with an error at the first damaged record (a torn write at the very end \
            of the log just ends the output). With --raw, also prints commit, index and footer frames and \
            every damaged frame, and keeps going at the next valid frame.
            """)

    @OptionGroup var directory: LogDirectoryOptions
    @Option(help: "First entry index to print.") var from: UInt64 = 0
    @Option(help: "Last entry index to print.") var to: UInt64 = .max
    @Option(name: .customLong("type"), help: "Only entries of this type (a number 0-255).") var entryType: UInt8?
    @Flag(help: "Print JSON Lines (one object per record, full payload in hex).") var json = false
    @Flag(help: "Show every frame and keep going past damaged ones.") var raw = false
    @Flag(help: "Print whole payloads instead of their first 32 bytes.") var fullPayload = false
    @Flag(help: "Print payloads as hex instead of decoding events.") var hex = false

    struct Record: Codable {
        var segment: String
        var offset: Int64
        var kind: String
        var index: UInt64
        var term: UInt64
        var type: UInt8
        var size: Int
        var crc: String
        var problem: String?
        var payloadHex: String
        var event: String?
    }

    /// The decoded payload: an event summary, a configuration change, or nil.
    static func decode(_ frame: DumpedFrame) -> (summary: String, json: String?)? {
        guard frame.valid, frame.kind == .entry else { return nil }
        switch EntryKind(rawValue: frame.entryType) {
        case .configuration:
            return ConfigurationChange.decode(frame.payload).map { ("configuration: \($0)", nil) }
        case .normal:
            if frame.payload.isEmpty { return ("(leader no-op)", nil) }
            guard let event = try? Event(serializedBytes: frame.payload) else { return nil }
            return (event.summary, try? event.jsonString())
        case nil:
            return nil
        }
    }

    func validate() throws {
        if from > to { throw ValidationError("--from \(from) is after --to \(to); pass --from <= --to") }
    }

    func run() async throws {
        let path = try directory.logDirectory()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var table = TextTable(
            columns: raw
                ? ["INDEX", "TERM", "TYPE", "SIZE", "CRC", "KIND", "AT", "PAYLOAD"]
                : ["INDEX", "TERM", "TYPE", "SIZE", "CRC", "PAYLOAD"])
        var printed = 0
        var lines: [String] = []
        let dumpError: (any Error)?
        do {
            try LogDumper(directory: path).dump(from: from, through: to, raw: raw) { frame in
                if let entryType, frame.valid, frame.kind == .entry, frame.entryType != entryType { return true }
                let record = Record(
                    segment: frame.segment, offset: frame.offset, kind: frame.kind?.description ?? "invalid",
                    index: frame.index, term: frame.term, type: frame.entryType, size: frame.payloadLength,
                    crc: frame.valid ? "ok" : "BAD", problem: frame.problem, payloadHex: hexString(frame.payload),
                    event: Self.decode(frame)?.json)
                if json {
                    if let data = try? encoder.encode(record) { lines.append(String(decoding: data, as: UTF8.self)) }
                } else {
                    let shown = fullPayload ? frame.payload[...] : frame.payload.prefix(32)
                    var payload = hexString(shown)
                    if shown.count < frame.payload.count { payload += "… (+\(frame.payload.count - shown.count) bytes)" }
                    if !hex, let decoded = Self.decode(frame) { payload = decoded.summary }
                    if let problem = frame.problem { payload = problem }
                    let isEntry = frame.kind == .entry
                    var row = [
                        isEntry ? "\(frame.index)" : "-", isEntry ? "\(frame.term)" : "-", isEntry ? "\(frame.entryType)" : "-",
                        "\(frame.payloadLength)", record.crc,
                    ]
                    if raw { row += [record.kind, "\(frame.segment)@\(frame.offset)"] }
                    table.append(row + [payload])
                }
                printed += 1
                if lines.count >= 1000 { flush(&lines) }
                if table.rows.count >= 1000 {
                    // Stream large dumps: each block of rows is aligned on its own.
                    print(table.render(includeHeader: printed <= 1000))
                    table.rows.removeAll(keepingCapacity: true)
                }
                return true
            }
            dumpError = nil
        } catch {
            dumpError = error
        }
        if json {
            flush(&lines)
        } else {
            if !table.rows.isEmpty || printed == 0 { print(table.render(includeHeader: printed <= 1000)) }
        }
        if let dumpError { throw dumpError }
        if printed == 0 { Terminal.error("no records in the selected range") }
    }

    private func flush(_ lines: inout [String]) {
        if !lines.isEmpty { print(lines.joined(separator: "\n")) }
        lines.removeAll(keepingCapacity: true)
    }
}
