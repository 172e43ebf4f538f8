import Foundation
@testable import HeliosLog
import HeliosTesting
import Testing

@Suite("SegmentedLog: recovery from crashes and corruption")
struct RecoveryTests {
    /// How the bytes after a crash point look.
    enum Tail: String, CaseIterable {
        /// The file ends at the crash point.
        case cut
        /// Random bytes follow (sectors written with garbage).
        case garbage
        /// Zeros follow (a preallocated file).
        case zeros
    }

    @Test("a crash at every byte offset of the last group keeps exactly the durable prefix", arguments: Tail.allCases)
    func crashAtEveryOffset(tail: Tail) async throws {
        try await TemporaryDirectory.with("torn") { directory in
            let path = directory.appending("log")
            let configuration = testConfiguration(segmentSize: 1 << 20)
            let log = try SegmentedLog.open(directory: path, configuration: configuration)
            let durable = makeEntries(from: 1, count: 20, term: 1)
            try await log.append(durable)
            let segment = path + "/" + (try segmentFiles(in: path)[0])
            let durableEnd = try fileSize(segment)
            let lastGroup = makeEntries(from: 21, count: 4, term: 2, seed: 5)
            try await log.append(lastGroup)
            await log.close()
            let original = try Data(contentsOf: URL(fileURLWithPath: segment))
            // Where each entry of the last group ends (the group's commit frame follows them).
            var frameEnds: [Int] = []
            var position = durableEnd
            for entry in lastGroup {
                position += SegmentFormat.frameSize(payloadLength: entry.payload.count)
                frameEnds.append(position)
            }
            var random = SeededRandom(seed: 11)
            for crashPoint in durableEnd...original.count {
                var bytes = original.prefix(crashPoint)
                switch tail {
                case .cut: break
                case .garbage: bytes.append(contentsOf: random.bytes(original.count - crashPoint))
                case .zeros: bytes.append(contentsOf: [UInt8](repeating: 0, count: 4096))
                }
                try bytes.write(to: URL(fileURLWithPath: segment))
                // A frame survives if it lies before the crash point, or (zero tail) if every byte
                // it lost was a zero anyway: then the bytes on disk are the complete frame.
                let survivors = frameEnds.prefix { end in
                    end <= crashPoint || (tail == .zeros && original[crashPoint..<end].allSatisfy { $0 == 0 })
                }.count
                let recovered = try SegmentedLog.open(directory: path, configuration: configuration)
                #expect(recovered.lastIndex == UInt64(20 + survivors), "crash at byte \(crashPoint)")
                #expect(try allEntries(recovered) == durable + lastGroup.prefix(survivors), "crash at byte \(crashPoint)")
                // The repaired log accepts appends and verifies clean.
                try await recovered.append([LogEntry(index: recovered.lastIndex + 1, term: 3, payload: [1, 2, 3])])
                await recovered.close()
                #expect(try LogVerifier(directory: path).verify().problems.isEmpty, "crash at byte \(crashPoint)")
                // Clean up for the next crash point.
                for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.contains(".torn-") {
                    try FileManager.default.removeItem(atPath: path + "/" + name)
                }
            }
        }
    }

    @Test("the torn bytes are kept in a .torn file and a warning names file and offset")
    func tornBytesAreKept() async throws {
        try await TemporaryDirectory.with("torncopy") { directory in
            let path = directory.appending("log")
            let log = try SegmentedLog.open(directory: path, configuration: testConfiguration(segmentSize: 1 << 20))
            try await log.append(makeEntries(from: 1, count: 5, term: 1))
            let segment = path + "/" + (try segmentFiles(in: path)[0])
            let durableEnd = try fileSize(segment)
            try await log.append(makeEntries(from: 6, count: 1, term: 1, seed: 3))
            await log.close()
            let original = try Data(contentsOf: URL(fileURLWithPath: segment))
            try original.prefix(durableEnd + 20).write(to: URL(fileURLWithPath: segment))
            let report = try LogVerifier(directory: path).verify()
            #expect(report.isClean)
            #expect(report.problems.map(\.severity) == [.tornTail])
            #expect(report.problems.first?.offset == Int64(durableEnd))
            let recovered = try SegmentedLog.open(directory: path, configuration: testConfiguration(segmentSize: 1 << 20))
            #expect(recovered.lastIndex == 5)
            await recovered.close()
            // The copy holds the removed bytes up to the last non-zero one.
            let copy = path + "/" + SegmentFileName.make(firstIndex: 1) + ".torn-\(durableEnd)"
            var removed = original[durableEnd..<(durableEnd + 20)]
            while removed.last == 0 { removed = removed.dropLast() }
            #expect(!removed.isEmpty)
            #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == removed)
        }
    }

    @Test("damage in a durable group of the last segment is corruption, not a torn tail")
    func corruptionInLastSegmentIsNotTruncated() async throws {
        try await TemporaryDirectory.with("lastcorrupt") { directory in
            let path = directory.appending("log")
            let configuration = testConfiguration(segmentSize: 1 << 20)
            let log = try SegmentedLog.open(directory: path, configuration: configuration)
            try await log.append(makeEntries(from: 1, count: 10, term: 1))
            try await log.append(makeEntries(from: 11, count: 10, term: 1))
            try await log.append(makeEntries(from: 21, count: 10, term: 1))
            let entry5 = try log.core.frameRun(from: 5, through: 5).bounds[0]
            await log.close()
            let segment = path + "/" + (try segmentFiles(in: path)[0])
            try flipBit(segment, byte: Int(entry5) + 40)
            await expectLogError(.corruption, SegmentFileName.make(firstIndex: 1), "at byte \(entry5) (index 5)", "helios operator log verify") {
                _ = try SegmentedLog.open(directory: path, configuration: configuration)
            }
            let report = try LogVerifier(directory: path).verify()
            #expect(report.firstCorruption?.offset == entry5)
            #expect(report.firstCorruption?.index == 5)
            // Nothing was changed by the failed open.
            #expect(try fileSize(segment) > Int(entry5) + 1000)
        }
    }

    @Test("a single bit flip anywhere in a sealed segment is found at the right file and offset")
    func bitFlipsInSealedSegment() async throws {
        try await TemporaryDirectory.with("bitflip") { directory in
            let path = directory.appending("log")
            let log = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            try await log.append(makeEntries(from: 1, count: 120, term: 1))
            let names = try segmentFiles(in: path)
            #expect(names.count >= 3)
            let target = names[1]
            let targetPath = path + "/" + target
            // Frame boundaries of the target segment, from a scan of the intact file.
            let file = try PosixFileSystem().openFile(targetPath, create: false, readOnly: true)
            let header = try SegmentHeader.decode(file.readExactly(64, at: 0)).get()
            var scanner = SegmentScanner(file: file, fileSize: try file.size(), salt: header.salt)
            var starts: [Int64] = []
            _ = try SegmentAnalysis.analyze(&scanner, header: header) { _, offset, _ in starts.append(offset) }
            await log.close()
            let size = try fileSize(targetPath)
            for byte in 0..<size {
                try flipBit(targetPath, byte: byte, bit: byte % 8)
                let expected: Int64 = byte < 64 ? 0 : starts.last(where: { $0 <= Int64(byte) })!
                let problem = try LogVerifier(directory: path).verify().firstCorruption
                #expect(problem?.segment == target, "flip at byte \(byte)")
                #expect(problem?.offset == expected, "flip at byte \(byte): \(problem?.description ?? "nothing found")")
                try flipBit(targetPath, byte: byte, bit: byte % 8)
            }
            #expect(try LogVerifier(directory: path).verify().problems.isEmpty)

            // Through the log API: a damaged entry fails its read with file, offset and index.
            let entryStart = starts[3]
            try flipBit(targetPath, byte: Int(entryStart) + 35)
            let reopened = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            let firstInTarget = SegmentFileName.parse(target)!
            let damagedIndex = firstInTarget + 2  // starts[0] is the segment's leading commit frame
            await expectLogError(.corruption, target, "at byte \(entryStart) (index \(damagedIndex))") {
                _ = try reopened.entry(at: damagedIndex)
            }
            #expect(try reopened.entry(at: damagedIndex - 1).index == damagedIndex - 1, "neighbours stay readable")
            await reopened.close()

            // A damaged footer makes open fail, naming the segment.
            try flipBit(targetPath, byte: Int(entryStart) + 35)
            try flipBit(targetPath, byte: size - 10)
            await expectLogError(.corruption, target, "no valid footer") {
                _ = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            }
        }
    }

    @Test("operator mode truncate-corrupt keeps the prefix before the first bad record and sets the rest aside")
    func truncateCorruptMode() async throws {
        try await TemporaryDirectory.with("truncatecorrupt") { directory in
            let path = directory.appending("log")
            let log = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            let written = makeEntries(from: 1, count: 120, term: 1)
            try await log.append(written)
            let names = try segmentFiles(in: path)
            let damagedIndex = SegmentFileName.parse(names[1])! + 4
            let offset = try log.core.frameRun(from: damagedIndex, through: damagedIndex).bounds[0]
            await log.close()
            try flipBit(path + "/" + names[1], byte: Int(offset) + 33)
            // Default open reads only headers and footers of sealed segments; the read finds it.
            let plain = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            await expectLogError(.corruption, names[1], "index \(damagedIndex)") { _ = try plain.entry(at: damagedIndex) }
            await plain.close()
            var configuration = testConfiguration()
            configuration.recoveryMode = .truncateCorrupt
            let recovered = try SegmentedLog.open(directory: path, configuration: configuration)
            #expect(recovered.lastIndex == damagedIndex - 1)
            #expect(try allEntries(recovered) == Array(written.prefix(Int(damagedIndex - 1))))
            try await recovered.append([LogEntry(index: damagedIndex, term: 2, payload: [7])])
            await recovered.close()
            let files = try FileManager.default.contentsOfDirectory(atPath: path)
            #expect(files.contains(names[1] + ".dropped-\(offset)"))
            for later in names.dropFirst(2) { #expect(files.contains(later + ".dropped")) }
            #expect(try LogVerifier(directory: path).verify().problems.isEmpty)
        }
    }

    @Test("leftovers are cleaned: unfinished segment files and segments of an interrupted purge")
    func leftovers() async throws {
        try await TemporaryDirectory.with("leftovers") { directory in
            let path = directory.appending("log")
            var log = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            try await log.append(makeEntries(from: 1, count: 100, term: 1))
            await log.close()
            let saved = try directory.copy(label: "saved")
            defer { saved.remove() }
            let old = try FileManager.default.contentsOfDirectory(atPath: path).filter { SegmentFileName.parse($0) != nil }
            log = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            try await log.purgePrefix(through: 500)
            await log.close()
            // Put the old segments back, as if the crash came before they were removed; add a .tmp.
            for name in old { try FileManager.default.copyItem(atPath: saved.appending("log/" + name), toPath: path + "/" + name) }
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path + "/00000000000000000999.seg.tmp"))
            let report = try LogVerifier(directory: path).verify()
            #expect(report.isClean && report.problems.allSatisfy { $0.severity == .leftover })
            log = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            #expect(log.firstIndex == 501 && log.lastIndex == 500)
            #expect(try FileManager.default.contentsOfDirectory(atPath: path).sorted() == ["00000000000000000501.seg", "LOCK"])
            await log.close()
        }
    }

    @Test("a failed fdatasync fails the append, refuses later writes, and reopen keeps the durable prefix")
    func syncFailure() async throws {
        try await TemporaryDirectory.with("syncfail") { directory in
            let faults = FaultInjectingFileSystem()
            let configuration = testConfiguration(fileSystem: faults)
            let log = try SegmentedLog.open(directory: directory.path, configuration: configuration)
            try await log.append(makeEntries(from: 1, count: 10, term: 1))
            faults.onSynchronize { _ in .fail(errno: EIO) }
            await expectLogError(.failed, "fdatasync", "Input/output error", "Restart the process") {
                try await log.append(makeEntries(from: 11, count: 1, term: 1))
            }
            faults.onSynchronize(nil)
            await expectLogError(.failed, "refuses further writes") {
                try await log.append(makeEntries(from: 11, count: 1, term: 1))
            }
            #expect(log.lastIndex == 10, "the failed group is not published")
            await log.close()
            let reopened = try SegmentedLog.open(directory: directory.path, configuration: testConfiguration())
            #expect(reopened.lastIndex >= 10)
            #expect(try reopened.entries(from: 1, through: 10) == makeEntries(from: 1, count: 10, term: 1))
            await reopened.close()
        }
    }

    @Test("segments copied in from another log break the chain and are reported")
    func foreignSegment() async throws {
        try await TemporaryDirectory.with("foreign") { directory in
            let first = directory.appending("a")
            let second = directory.appending("b")
            for path in [first, second] {
                let log = try SegmentedLog.open(directory: path, configuration: testConfiguration())
                try await log.append(makeEntries(from: 1, count: 60, term: 1))
                await log.close()
            }
            let names = try segmentFiles(in: first)
            try FileManager.default.removeItem(atPath: first + "/" + names[1])
            try FileManager.default.copyItem(atPath: second + "/" + names[1], toPath: first + "/" + names[1])
            await expectLogError(.corruption, names[1], "does not follow") {
                _ = try SegmentedLog.open(directory: first, configuration: testConfiguration())
            }
        }
    }
}
