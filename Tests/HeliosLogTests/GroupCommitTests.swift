import Dispatch
import Foundation
@testable import HeliosLog
import HeliosTesting
import Synchronization
import Testing

@Suite("SegmentedLog: group commit and concurrent appenders")
struct GroupCommitTests {
    @Test("appends queued during a sync share the next single fdatasync")
    func queuedAppendsShareOneSync() async throws {
        try await TemporaryDirectory.with("group") { directory in
            let faults = FaultInjectingFileSystem()
            let log = try SegmentedLog.open(directory: directory.path, configuration: testConfiguration(segmentSize: 1 << 20, fileSystem: faults))
            let entered = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let holding = Atomic<Bool>(true)
            faults.onSynchronize { _ in
                if holding.exchange(false, ordering: .relaxed) {
                    entered.signal()
                    release.wait()
                }
                return .proceed
            }
            let first = Task { try await log.append(term: 1, payloads: [[0]]) }
            await Task.detached { entered.wait() }.value
            let appenders = 50
            let tasks = (1...appenders).map { i in Task { try await log.append(term: 1, payloads: [[UInt8(i)]]) } }
            // Wait (bounded) until every appender is queued behind the held sync.
            let deadline = ContinuousClock.now + .seconds(10)
            while log.core.lock.withLock({ $0.queue.count }) < appenders {
                #expect(ContinuousClock.now < deadline, "appenders did not queue within 10 s")
                if ContinuousClock.now >= deadline { break }
                try await Task.sleep(for: .milliseconds(1))
            }
            let syncsBefore = faults.syncCount
            release.signal()
            #expect(try await first.value == 1...1)
            var ranges: [ClosedRange<UInt64>] = []
            for task in tasks { ranges.append(try await task.value) }
            #expect(faults.syncCount - syncsBefore == 1, "50 queued appends must be made durable by one fdatasync")
            #expect(Set(ranges.map(\.lowerBound)) == Set(2...UInt64(appenders + 1)))
            #expect(log.lastIndex == UInt64(appenders + 1))
            #expect(log.statistics == LogStatistics(groups: 2, appends: appenders + 1, entries: appenders + 1, bytes: log.statistics.bytes))
            await log.close()
        }
    }

    @Test("concurrent appenders: every acknowledged batch is readable after reopen, in order, with no gaps")
    func concurrentAppenders() async throws {
        try await TemporaryDirectory.with("concurrent") { directory in
            let path = directory.appending("log")
            let log = try SegmentedLog.open(directory: path, configuration: testConfiguration(segmentSize: 64 << 10))
            let writers = 8
            let batchesPerWriter = 150
            let acknowledged = try await withThrowingTaskGroup(of: [(ClosedRange<UInt64>, [[UInt8]])].self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var random = SeededRandom(seed: UInt64(writer))
                        var mine: [(ClosedRange<UInt64>, [[UInt8]])] = []
                        for batch in 0..<batchesPerWriter {
                            let payloads = (0..<(1 + Int(random.next() % 4))).map { item in
                                [UInt8(writer), UInt8(batch & 0xFF), UInt8(batch >> 8), UInt8(item)] + random.bytes(Int(random.next() % 64))
                            }
                            mine.append((try await log.append(term: 1, payloads: payloads), payloads))
                        }
                        return mine
                    }
                }
                var all: [(ClosedRange<UInt64>, [[UInt8]])] = []
                for try await part in group { all += part }
                return all
            }
            await log.close()
            let sorted = acknowledged.sorted { $0.0.lowerBound < $1.0.lowerBound }
            var expectedNext: UInt64 = 1
            for (range, _) in sorted {
                #expect(range.lowerBound == expectedNext, "gap or overlap at \(range)")
                expectedNext = range.upperBound + 1
            }
            let reopened = try SegmentedLog.open(directory: path, configuration: testConfiguration(segmentSize: 64 << 10))
            #expect(reopened.lastIndex == expectedNext - 1)
            for (range, payloads) in acknowledged {
                #expect(try reopened.entries(from: range.lowerBound, through: range.upperBound).map(\.payload) == payloads)
            }
            // Each writer's batches appear in the order it issued them.
            for writer in 0..<writers {
                let mine = sorted.filter { $0.1[0][0] == UInt8(writer) }.map { Int($0.1[0][1]) | Int($0.1[0][2]) << 8 }
                #expect(mine == Array(0..<batchesPerWriter))
            }
            await reopened.close()
        }
    }
}
