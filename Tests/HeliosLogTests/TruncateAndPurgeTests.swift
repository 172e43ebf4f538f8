@testable import HeliosLog
import HeliosTesting
import Testing

@Suite("SegmentedLog: truncateSuffix and purgePrefix")
struct TruncateAndPurgeTests {
    /// A log of 300 entries in 4 KiB segments, and what was written.
    func makeLog(_ path: String, preallocate: Bool = false) async throws -> (SegmentedLog, [LogEntry]) {
        let log = try SegmentedLog.open(directory: path, configuration: testConfiguration(preallocate: preallocate))
        var written: [LogEntry] = []
        for term in 1...3 {
            let entries = makeEntries(from: log.lastIndex + 1, count: 100, term: UInt64(term))
            try await log.append(entries)
            written += entries
        }
        return (log, written)
    }

    @Test("truncation within the open segment, into a sealed one, and to empty, survives reopen",
          arguments: [false, true])
    func truncate(preallocate: Bool) async throws {
        try await TemporaryDirectory.with("truncate") { directory in
            let path = directory.appending("log")
            var (log, written) = try await makeLog(path, preallocate: preallocate)
            let segmentsBefore = try segmentFiles(in: path).count

            // Within the open segment.
            try await log.truncateSuffix(after: 298)
            written.removeLast(2)
            #expect(log.lastIndex == 298)
            #expect(try allEntries(log) == written)

            // Deep into a sealed segment: later segments disappear.
            try await log.truncateSuffix(after: 120)
            written.removeLast(written.count - 120)
            #expect(log.lastIndex == 120 && log.lastTerm == 2)
            #expect(try segmentFiles(in: path).count < segmentsBefore)
            await expectLogError(.indexUnavailable) { _ = try log.entry(at: 121) }

            // New entries overwrite the removed ones (a lower term than removed ones is fine now).
            let replacement = makeEntries(from: 121, count: 50, term: 2, seed: 77)
            try await log.append(replacement)
            written += replacement
            #expect(try allEntries(log) == written)
            await log.close()

            log = try SegmentedLog.open(directory: path, configuration: testConfiguration(preallocate: preallocate))
            #expect(try allEntries(log) == written)
            #expect(try LogVerifier(directory: path).verify().problems.isEmpty)

            // Truncating after firstIndex - 1 empties the log.
            try await log.truncateSuffix(after: 0)
            #expect(log.lastIndex == 0 && log.firstIndex == 1)
            try await log.append(makeEntries(from: 1, count: 3, term: 9))
            await log.close()
            log = try SegmentedLog.open(directory: path, configuration: testConfiguration(preallocate: preallocate))
            #expect(log.lastIndex == 3 && log.lastTerm == 9)
            #expect(try LogVerifier(directory: path).verify().problems.isEmpty)
            await log.close()
        }
    }

    @Test("purge removes whole segments only and keeps every retained index readable")
    func purge() async throws {
        try await TemporaryDirectory.with("purge") { directory in
            let path = directory.appending("log")
            var (log, written) = try await makeLog(path)
            try await log.purgePrefix(through: 150)
            let first = log.firstIndex
            #expect(first > 1 && first <= 151, "whole segments below 151 go, the one holding 151 stays")
            #expect(try allEntries(log) == Array(written[Int(first - 1)...]))
            await expectLogError(.indexUnavailable, "purged") { _ = try log.entry(at: first - 1) }
            await expectLogError(.indexUnavailable, "purged") {
                try await log.truncateSuffix(after: first - 2)
            }
            // Appends continue; reopen agrees.
            let more = makeEntries(from: 301, count: 10, term: 3)
            try await log.append(more)
            written += more
            await log.close()
            log = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            #expect(log.firstIndex == first)
            #expect(try allEntries(log) == Array(written[Int(first - 1)...]))
            await log.close()
        }
    }

    @Test("purging through or past the last index restarts the log empty at the next index",
          arguments: [UInt64(300), 1000])
    func purgeEverything(through: UInt64) async throws {
        try await TemporaryDirectory.with("reset") { directory in
            let path = directory.appending("log")
            var (log, _) = try await makeLog(path)
            try await log.purgePrefix(through: through)
            #expect(log.firstIndex == through + 1 && log.lastIndex == through)
            #expect(try segmentFiles(in: path) == [SegmentFileName.make(firstIndex: through + 1)])
            await expectLogError(.indexOutOfOrder, "next index is \(through + 1)") {
                try await log.append([LogEntry(index: 1, term: 1, payload: [])])
            }
            try await log.append(makeEntries(from: through + 1, count: 5, term: 4))
            await log.close()
            log = try SegmentedLog.open(directory: path, configuration: testConfiguration())
            #expect(log.firstIndex == through + 1 && log.lastIndex == through + 5)
            #expect(try LogVerifier(directory: path).verify().problems.isEmpty)
            // Purging an empty log at its own next index replaces its segment in place.
            try await log.truncateSuffix(after: through)
            try await log.purgePrefix(through: through)
            #expect(log.firstIndex == through + 1 && log.lastIndex == through)
            await log.close()
        }
    }
}
