import Foundation
import HeliosLog
import HeliosTesting
import Logging
import Testing

@Suite("helios operator log (the binary)")
struct OperatorLogCommandTests {
    /// A data directory with `log/` holding 300 entries over several segments.
    static func makeDataDirectory(_ directory: TemporaryDirectory) async throws -> String {
        var configuration = LogConfiguration()
        configuration.segmentSize = 8192
        configuration.logger = .quiet
        let log = try SegmentedLog.open(directory: directory.appending("log"), configuration: configuration)
        for term in 1...3 {
            for batch in 0..<10 {
                let payloads = (0..<10).map { Array("t\(term) b\(batch) e\($0) ".utf8) + [UInt8](repeating: 7, count: 40) }
                _ = try await log.append(term: UInt64(term), type: UInt8(batch % 2), payloads: payloads)
            }
        }
        await log.close()
        return directory.path
    }

    @Test("inspect lists every segment and the totals, as a table and as JSON")
    func inspect() async throws {
        try await TemporaryDirectory.with("cli-inspect") { directory in
            let data = try await Self.makeDataDirectory(directory)
            let table = try await runHelios(["operator", "log", "inspect", "--data-dir", data])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.hasPrefix("FILE"))
            #expect(table.stdout.contains("00000000000000000001.seg"))
            #expect(table.stdout.contains("total: "))
            #expect(table.stdout.contains("300 entries (1...300)"))
            let json = try await runHelios(["operator", "log", "inspect", "--data-dir", data, "--json"])
            let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
            #expect(rows?.reduce(0) { $0 + ($1["entries"] as? Int ?? 0) } == 300)
            #expect(rows?.last?["state"] as? String == "open")
            #expect(rows?.dropLast().allSatisfy { $0["state"] as? String == "sealed" } == true)
        }
    }

    @Test("dump selects by index range and type; --json prints one object per line")
    func dump() async throws {
        try await TemporaryDirectory.with("cli-dump") { directory in
            let data = try await Self.makeDataDirectory(directory)
            let text = try await runHelios(["operator", "log", "dump", "--data-dir", data, "--from", "95", "--to", "105"])
            #expect(text.status == 0, "\(text.stderr)")
            let lines = text.stdout.split(separator: "\n")
            #expect(lines.count == 12)
            #expect(lines[1].hasPrefix("95 ") && lines.last!.hasPrefix("105 "))
            let json = try await runHelios(["operator", "log", "dump", "--data-dir", data, "--json", "--type", "1", "--to", "40"])
            let records = try json.stdout.split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
            #expect(records.count == 20, "batches 1 and 3 of term 1 have type 1")
            #expect(records.allSatisfy { $0["type"] as? Int == 1 && $0["crc"] as? String == "ok" })
            let first = records[0]
            let payload = String(decoding: Self.hexDecode(first["payloadHex"] as! String), as: UTF8.self)
            #expect(payload.hasPrefix("t1 b1 e0"))
            let bad = try await runHelios(["operator", "log", "dump", "--data-dir", data, "--from", "9", "--to", "3"])
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("--from 9 is after --to 3"))
        }
    }

    @Test("verify exits 0 when clean and 1 with file, offset and index when a bit flips")
    func verify() async throws {
        try await TemporaryDirectory.with("cli-verify") { directory in
            let data = try await Self.makeDataDirectory(directory)
            let clean = try await runHelios(["operator", "log", "verify", "--data-dir", data])
            #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
            #expect(clean.stdout.contains("ok: ") && clean.stdout.contains("300 entries"))

            let segments = try FileManager.default.contentsOfDirectory(atPath: data + "/log").filter { $0.hasSuffix(".seg") }.sorted()
            let target = data + "/log/" + segments[1]
            let handle = try #require(FileHandle(forUpdatingAtPath: target))
            try handle.seek(toOffset: 500)
            let original = try #require(try handle.read(upToCount: 1))
            try handle.seek(toOffset: 500)
            try handle.write(contentsOf: Data([original[0] ^ 0x01]))
            try handle.close()

            let corrupt = try await runHelios(["operator", "log", "verify", "--data-dir", data])
            #expect(corrupt.status == 1)
            #expect(corrupt.stdout.contains("CORRUPT"))
            #expect(corrupt.stdout.contains(segments[1]))
            #expect(corrupt.stdout.contains("CRC mismatch"))
            #expect(corrupt.stdout.contains("(index "))
            let json = try await runHelios(["operator", "log", "verify", "--data-dir", data, "--json"])
            let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(report?["clean"] as? Bool == false)

            let dump = try await runHelios(["operator", "log", "dump", "--data-dir", data])
            #expect(dump.status != 0)
            #expect(dump.stderr.contains(segments[1]) && dump.stderr.contains("helios operator log verify"))
            let raw = try await runHelios(["operator", "log", "dump", "--data-dir", data, "--raw"])
            #expect(raw.status == 0)
            #expect(raw.stdout.contains("BAD"))
            #expect(raw.stdout.contains("300 "), "--raw keeps going to the end")
        }
    }

    @Test("a data directory without a log gets an error naming it")
    func missingLog() async throws {
        try await TemporaryDirectory.with("cli-missing") { directory in
            let output = try await runHelios(["operator", "log", "inspect", "--data-dir", directory.path])
            #expect(output.status != 0)
            #expect(output.stderr.contains("no Helios log in \(directory.path)"))
        }
    }

    static func hexDecode(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            bytes.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
        }
        return bytes
    }
}
