import Dispatch
import HeliosLog
import HeliosTesting
import Synchronization

/// Opens a known multi-segment log in which one segment file was replaced by the input (or removed):
/// the log must refuse with a ``LogError`` or serve only entries identical to the ones written, and
/// whatever it served must still be there, unchanged, after an append and a reopen.
///
/// Input: byte 0 picks the segment (modulo their count); the rest is its new content (empty: the
/// file is removed). Everything runs on the in-memory ``CrashableFileSystem``: no disk, no syncs.
enum LogRecoveryTarget: FuzzTarget {
    static let name = "log"
    static let summary = "segment files replaced by the input: refused with a LogError or served byte-identical entries that survive an append and a reopen"

    static let directory = "/fuzz/log"

    /// The pristine log: its entries and its files (deterministic salts, so seeds stay valid).
    static let pristine: (entries: [LogEntry], files: [(name: String, bytes: [UInt8])]) = {
        var random = SeededRandom(seed: 2026)
        var entries: [LogEntry] = []
        for index in UInt64(1)...120 {
            let size = Int(random.next() % 200)
            entries.append(LogEntry(index: index, term: 1 + index / 50, type: UInt8(index % 3), payload: random.bytes(size)))
        }
        let fileSystem = CrashableFileSystem()
        blocking { [entries] in
            let log = try SegmentedLog.open(directory: directory, configuration: configuration(fileSystem))
            for batch in stride(from: 0, to: entries.count, by: 6) { try await log.append(Array(entries[batch..<min(batch + 6, entries.count)])) }
            await log.close()
        }
        let names = ((try? fileSystem.contentsOfDirectory(directory)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
        return (entries, names.map { ($0, fileSystem.contents(of: directory + "/" + $0) ?? []) })
    }()

    static func configuration(_ fileSystem: any FileSystem) -> LogConfiguration {
        var configuration = LogConfiguration()
        configuration.segmentSize = 4096
        configuration.preallocate = false
        configuration.lockDirectory = false
        configuration.fileSystem = fileSystem
        configuration.logger = .quiet
        let salts = SaltCounter()
        configuration.saltGenerator = { salts.next() }
        return configuration
    }

    static func seeds() throws -> [[UInt8]] {
        pristine.files.enumerated().map { [UInt8($0.offset)] + $0.element.bytes }
    }

    static func run(_ input: [UInt8]) -> String {
        let (entries, files) = pristine
        guard let selector = input.first, !files.isEmpty else { return "empty" }
        let target = Int(selector) % files.count
        let fileSystem = CrashableFileSystem()
        do {
            try fileSystem.createDirectory("/fuzz")
            try fileSystem.createDirectory(directory)
            for (offset, file) in files.enumerated() {
                let bytes = offset == target ? Array(input.dropFirst()) : file.bytes
                if offset == target && bytes.isEmpty { continue }
                let handle = try fileSystem.openFile(directory + "/" + file.name, create: true, readOnly: false)
                try bytes.withUnsafeBytes { buffer in try handle.write(buffer, at: 0) }
                try handle.synchronize()
            }
            try fileSystem.synchronizeDirectory(directory)
        } catch {
            violated("setting up the in-memory log failed: \(error)")
        }
        let outcome = Outcome()
        blocking {
            let served: [LogEntry]
            let log: SegmentedLog
            do {
                log = try SegmentedLog.open(directory: directory, configuration: configuration(fileSystem))
                served = log.lastIndex >= log.firstIndex ? try log.entries(from: log.firstIndex, through: log.lastIndex) : []
            } catch let error as LogError {
                guard error.message.contains(directory) else { violated("a LogError that names no file or directory: \(error.message)") }
                outcome.set("refused")
                return
            }
            for entry in served where entry.index < 1 || Int(entry.index) > entries.count || entries[Int(entry.index) - 1] != entry {
                violated("index \(entry.index) was served with bytes that were never written (segment \(files[target].name) replaced)")
            }
            // What recovery accepted must survive the next write and the next open.
            let next = LogEntry(index: log.lastIndex + 1, term: max(log.lastTerm ?? 1, 1), type: 0, payload: [1, 2, 3])
            do {
                try await log.append([next])
            } catch {
                await log.close()
                outcome.set("served, append refused")  // e.g. past the index space: refusing a write is allowed
                return
            }
            await log.close()
            let reopened: [LogEntry]
            do {
                let again = try SegmentedLog.open(directory: directory, configuration: configuration(fileSystem))
                reopened = try again.entries(from: again.firstIndex, through: again.lastIndex)
                await again.close()
            } catch {
                violated("the log opened, took an append, then refused to reopen: \(error)")
            }
            guard reopened == served + [next] else {
                violated("after an append and a reopen the log holds \(reopened.count) entries, expected the \(served.count) served plus the new one")
            }
            outcome.set(served.count == entries.count ? "served all" : "served a prefix")
        }
        return outcome.value
    }
}

/// Increasing salts from a fixed start (the log asks for one per new segment), so the pristine
/// files are the same in every run and saved corpora stay meaningful.
final class SaltCounter: Sendable {
    private let value = Mutex<UInt64>(0x5EED)
    func next() -> UInt64 { value.withLock { $0 += 1; return $0 } }
}

/// What became of one input (set inside the async part).
final class Outcome: Sendable {
    private let label = Mutex("")
    func set(_ value: String) { label.withLock { $0 = value } }
    var value: String { label.withLock { $0 } }
}

/// Runs async code to completion from the synchronous fuzzing callback.
func blocking(_ body: @escaping @Sendable () async throws -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            try await body()
        } catch {
            violated("unexpected error: \(error)")
        }
        done.signal()
    }
    done.wait()
}
