import Foundation
@testable import HeliosLog
import HeliosTesting
import Synchronization
import Testing

/// Golden segment files in `Formats/vectors/segment/v1/`: the reader must decode them to their `.txt`
/// descriptions, and the writer must produce them byte for byte from the same inputs.
/// `HELIOS_REWRITE_VECTORS=1 swift test --filter GoldenVectorTests` rewrites them (only for a new version).
@Suite("Segment format v1 golden vectors")
struct GoldenVectorTests {
    static let vectors = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Formats/vectors/segment/v1").path

    /// The vector cases: a name and how to build the log.
    static let cases: [(String, @Sendable (String) async throws -> Void)] = [
        ("empty", { path in try await build(path, segmentSize: 1 << 20) { _ in } }),
        ("entries", { path in try await build(path, segmentSize: 1 << 20) { log in try await appendEntries(log) } }),
        ("rolled", { path in
            try await build(path, segmentSize: 4096) { log in
                for index in 1...3 {
                    try await log.append([LogEntry(index: UInt64(index), term: 1, type: 1, payload: [UInt8](repeating: UInt8(index), count: 1500))])
                }
            }
        }),
        ("torn", { path in
            try await build(path, segmentSize: 1 << 20) { log in try await appendEntries(log) }
            // The last group (entry 3 and its commit frame) only partly reached the disk.
            let file = path + "/" + SegmentFileName.make(firstIndex: 1)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            try bytes.prefix(bytes.count - 50).write(to: URL(fileURLWithPath: file))
        }),
    ]

    static func appendEntries(_ log: SegmentedLog) async throws {
        try await log.append([
            LogEntry(index: 1, term: 1, type: 0, payload: []),
            LogEntry(index: 2, term: 1, type: 7, payload: Array("hello".utf8)),
        ])
        try await log.append([LogEntry(index: 3, term: 2, type: 255, payload: Array(0..<13))])
    }

    /// Builds a log with fixed salts, without preallocation, and closes it.
    static func build(_ path: String, segmentSize: Int, _ body: (SegmentedLog) async throws -> Void) async throws {
        var configuration = testConfiguration(segmentSize: segmentSize)
        let counter = Mutex<UInt64>(0)
        configuration.saltGenerator = { counter.withLock { $0 += 1; return $0 &* 0x1111_1111_1111_1111 } }
        let log = try SegmentedLog.open(directory: path, configuration: configuration)
        try await body(log)
        await log.close()
    }

    @Test("every vector decodes to its description and is reproduced byte for byte", arguments: cases.map(\.0))
    func vector(name: String) async throws {
        let build = Self.cases.first { $0.0 == name }!.1
        try await TemporaryDirectory.with("vector-\(name)") { directory in
            try await build(directory.path)
            let produced = try segmentFiles(in: directory.path)
            let folder = Self.vectors + "/" + name
            let descriptionPath = Self.vectors + "/" + name + ".txt"
            if ProcessInfo.processInfo.environment["HELIOS_REWRITE_VECTORS"] == "1" {
                try? FileManager.default.removeItem(atPath: folder)
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for file in produced { try FileManager.default.copyItem(atPath: directory.appending(file), toPath: folder + "/" + file) }
                try Self.describe(folder).write(toFile: descriptionPath, atomically: true, encoding: .utf8)
            }
            // The writer reproduces the committed bytes.
            #expect(try segmentFiles(in: folder) == produced, "\(name): different segment files")
            for file in produced {
                let expected = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))
                let actual = try Data(contentsOf: URL(fileURLWithPath: directory.appending(file)))
                #expect(actual == expected, "\(name)/\(file): the writer's bytes drifted from the golden file")
            }
            // The reader decodes them to the committed description.
            let description = try String(contentsOfFile: descriptionPath, encoding: .utf8)
            #expect(try Self.describe(folder) == description, "\(name): the decoding drifted from \(name).txt")
        }
    }

    @Test("the vectors open as logs with the expected entries")
    func vectorsOpen() async throws {
        for (name, expectedLast) in [("empty", UInt64(0)), ("entries", 3), ("rolled", 3), ("torn", 2)] {
            try await TemporaryDirectory.with("open-\(name)") { directory in
                for file in try segmentFiles(in: Self.vectors + "/" + name) {
                    try FileManager.default.copyItem(atPath: Self.vectors + "/" + name + "/" + file, toPath: directory.appending(file))
                }
                let log = try SegmentedLog.open(directory: directory.path, configuration: testConfiguration())
                #expect(log.lastIndex == expectedLast, "\(name)")
                if name == "entries" {
                    #expect(try log.entry(at: 2) == LogEntry(index: 2, term: 1, type: 7, payload: Array("hello".utf8)))
                }
                await log.close()
            }
        }
    }

    /// A field-by-field description of every segment in `folder`, as in the `.txt` files.
    static func describe(_ folder: String) throws -> String {
        var lines: [String] = []
        for name in try segmentFiles(in: folder) {
            let file = try PosixFileSystem().openFile(folder + "/" + name, create: false, readOnly: true)
            let size = try file.size()
            lines.append("file \(name) (\(size) bytes)")
            let header = try SegmentHeader.decode(file.readExactly(64, at: 0)).get()
            let raw = try file.readExactly(64, at: 0)
            let crc = raw.withUnsafeBytes { $0.loadLE(UInt32.self, at: 60) }
            lines.append(
                "  @0 header: magic HELIOSLG, version \(header.version), header size 64, flags \(header.isBase ? "1 (base)" : "0"), "
                    + "first index \(header.firstIndex), salt \(hex(header.salt)), sequence \(header.sequence), "
                    + "previous salt \(hex(header.previousSalt)), header crc \(hex(crc))")
            var scanner = SegmentScanner(file: file, fileSize: size, salt: header.salt)
            var offset = Int64(64)
            scan: while true {
                var payload: [UInt8] = []
                let step = try scanner.step(at: offset) { _, bytes in payload = Array(bytes) }
                switch step {
                case .end:
                    lines.append("  @\(offset) end of data")
                    break scan
                case .invalid(let problem):
                    lines.append("  @\(offset) invalid: \(problem)")
                    break scan
                case .frame(let frame):
                    var line = "  @\(offset) \(frame.kind!) length \(frame.payloadLength) crc \(hex(frame.checksum)) index \(frame.index) term \(frame.term)"
                    switch frame.kind! {
                    case .entry:
                        let shown = payload.prefix(16).map { String($0, radix: 16) }.joined(separator: " ")
                        line += payload.count <= 16
                            ? " type \(frame.entryType) payload [\(shown)]"
                            : " type \(frame.entryType) payload [\(shown) ...] (\(payload.count) bytes, crc32c \(hex(CRC32C.checksum(payload))))"
                    case .index:
                        let block = payload.withUnsafeBytes { SegmentIndexBlock.decode($0) }!
                        line += " offsets \(block.offsets) term runs \(zip(block.termRuns.starts, block.termRuns.terms).map { "(\($0), \($1))" }.joined(separator: " "))"
                    case .footer:
                        let footer = payload.withUnsafeBytes { SegmentFooter.decode(payload: $0, header: frame) }!
                        line += " index frame at \(footer.indexFrameOffset), \(footer.entryCount) entries from \(footer.firstIndex), magic HLSEALED"
                    case .commit:
                        break
                    }
                    lines.append(line + " (frame size \(frame.frameSize))")
                    offset += Int64(frame.frameSize)
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
