import Foundation
@testable import HeliosLog
import HeliosTesting
import Testing

@Suite("SegmentedLog: appends, reads, reopen")
struct SegmentedLogTests {
    @Test("entries round-trip across segment rolls and a reopen")
    func roundTripAcrossRolls() async throws {
        try await TemporaryDirectory.with("roundtrip") { directory in
            let path = directory.appending("log")
            var written: [LogEntry] = []
            let log = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            #expect(log.firstIndex == 1 && log.lastIndex == 0 && log.lastTerm == nil)
            for batch in 0..<40 {
                let entries = makeEntries(from: log.lastIndex + 1, count: 1 + batch % 7, term: UInt64(1 + batch / 10))
                try await log.append(entries)
                written += entries
            }
            #expect(try allEntries(log) == written)
            #expect(try segmentFiles(in: path).count > 5, "4 KiB segments must have rolled")
            await log.close()

            let reopened = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            #expect(reopened.firstIndex == 1)
            #expect(reopened.lastIndex == UInt64(written.count))
            #expect(reopened.lastTerm == 4)
            #expect(try allEntries(reopened) == written)
            for entry in written {
                #expect(try reopened.entry(at: entry.index) == entry)
                #expect(try reopened.term(at: entry.index) == entry.term)
            }
            let report = try LogVerifier(directory: path).verify()
            #expect(report.problems.isEmpty)
            #expect(report.entryCount == written.count)
            await reopened.close()
        }
    }

    @Test("appends continue correctly after a reopen, and preallocated segments behave the same")
    func appendAfterReopen() async throws {
        for preallocate in [false, true] {
            try await TemporaryDirectory.with("reopen") { directory in
                let path = directory.appending("log")
                var log = try SegmentedLog.open(directory: path, configuration: testConfiguration(preallocate: preallocate))
                var written = makeEntries(from: 1, count: 30, term: 1)
                try await log.append(written)
                await log.close()
                for round in 0..<3 {
                    log = try SegmentedLog.open(directory: path, configuration: testConfiguration(preallocate: preallocate))
                    let more = makeEntries(from: log.lastIndex + 1, count: 25, term: UInt64(2 + round))
                    try await log.append(more)
                    written += more
                    await log.close()
                }
                log = try SegmentedLog.open(directory: path, configuration: testConfiguration(preallocate: preallocate))
                #expect(try allEntries(log) == written)
                #expect(try LogVerifier(directory: path).verify().problems.isEmpty)
                await log.close()
            }
        }
    }

    @Test("the log assigns indexes with append(term:payloads:)")
    func appendNext() async throws {
        try await TemporaryDirectory.with("next") { directory in
            let log = try SegmentedLog.open(directory: directory.path, configuration: testConfiguration())
            let first = try await log.append(term: 1, type: 3, payloads: [[1], [2, 2], [3, 3, 3]])
            let second = try await log.append(term: 2, payloads: [[4]])
            #expect(first == 1...3)
            #expect(second == 4...4)
            #expect(try log.entry(at: 2) == LogEntry(index: 2, term: 1, type: 3, payload: [2, 2]))
            #expect(try log.entry(at: 4).term == 2)
            await log.close()
        }
    }

    @Test("range reads honour maxBytes, and a cursor walks the whole log")
    func rangesAndCursor() async throws {
        try await TemporaryDirectory.with("ranges") { directory in
            let log = try SegmentedLog.open(directory: directory.path, configuration: testConfiguration())
            let written = makeEntries(from: 1, count: 200, term: 1)
            try await log.append(written)
            let limited = try log.entries(from: 10, through: 200, maxBytes: 500)
            #expect(!limited.isEmpty && limited.count < 191)
            #expect(limited == Array(written[9..<(9 + limited.count)]))
            #expect(try log.entries(from: 5, through: 5, maxBytes: 0) == [written[4]], "at least one entry is returned")
            var cursor = log.cursor(from: 50, chunkBytes: 1000)
            var seen: [LogEntry] = []
            while let entry = try cursor.next() { seen.append(entry) }
            #expect(seen == Array(written[49...]))
            await log.close()
        }
    }

    @Test("bad input gets typed errors that name the value, and the log keeps working")
    func badInput() async throws {
        try await TemporaryDirectory.with("bad") { directory in
            var configuration = testConfiguration()
            configuration.maximumEntrySize = 100
            let log = try SegmentedLog.open(directory: directory.path, configuration: configuration)
            try await log.append(makeEntries(from: 1, count: 3, term: 5).map { var e = $0; e.payload = Array(e.payload.prefix(50)); return e })

            await expectLogError(.indexOutOfOrder, "entry 5", "next index is 4") {
                try await log.append([LogEntry(index: 5, term: 5, payload: [])])
            }
            await expectLogError(.indexOutOfOrder, "entry 3") {
                try await log.append([LogEntry(index: 3, term: 5, payload: [])])
            }
            await expectLogError(.termRegression, "term 4", "term 5") {
                try await log.append([LogEntry(index: 4, term: 4, payload: [])])
            }
            await expectLogError(.entryTooLarge, "101-byte", "maximum entry size of 100") {
                try await log.append([LogEntry(index: 4, term: 5, payload: [UInt8](repeating: 0, count: 101))])
            }
            await expectLogError(.indexOutOfOrder, "not contiguous") {
                try await log.append([LogEntry(index: 4, term: 5, payload: []), LogEntry(index: 6, term: 5, payload: [])])
            }
            await expectLogError(.invalidArgument, "no payloads") { _ = try await log.append(term: 5, payloads: []) }
            #expect(throws: LogError.self) { try log.entry(at: 0) }
            #expect(throws: LogError.self) { try log.entry(at: 4) }
            #expect(throws: LogError.self) { try log.term(at: 99) }
            #expect(throws: LogError.self) { try log.entries(from: 3, through: 2) }
            await expectLogError(.indexUnavailable, "index 4", "1...3", "not been written") { _ = try log.entry(at: 4) }
            // Nothing was written by the rejected calls, and the log still accepts good input.
            #expect(log.lastIndex == 3)
            try await log.append([LogEntry(index: 4, term: 6, payload: [9])])
            #expect(try log.entry(at: 4).payload == [9])
            await log.close()
            await expectLogError(.closed, "closed") { try await log.append([LogEntry(index: 5, term: 6, payload: [])]) }
        }
    }

    @Test("a second open of the same directory is refused with the holder's pid")
    func directoryLock() async throws {
        try await TemporaryDirectory.with("lock") { directory in
            let log = try SegmentedLog.open(directory: directory.path, configuration: testConfiguration())
            await expectLogError(.locked, "process \(ProcessInfo.processInfo.processIdentifier)", "LOCK") {
                _ = try SegmentedLog.open(directory: directory.path, configuration: testConfiguration())
            }
            await log.close()
            let again = try SegmentedLog.open(directory: directory.path, configuration: testConfiguration())
            await again.close()
        }
    }

    @Test("invalid configuration is rejected with the field and range")
    func configuration() async throws {
        var configuration = testConfiguration()
        configuration.segmentSize = 10
        await expectLogError(.invalidArgument, "segment size 10", "4096") {
            _ = try SegmentedLog.open(directory: "/nonexistent-helios", configuration: configuration)
        }
    }
}
