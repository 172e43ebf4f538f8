/// The segmented append-only log: Helios's Raft log and event store in one file format.
///
/// A directory of segment files (`Formats/segment.md`). Appends are made durable with one
/// `fdatasync` per group: appends that arrive while a group is being synced share the next sync, and
/// every `append` returns only after its entries are durable. Reads locate an index through an
/// in-memory offset table (loaded lazily from each sealed segment's index block), never by scanning.
///
/// ```swift
/// let log = try SegmentedLog.open(directory: "data/node1/log")
/// try await log.append([LogEntry(index: log.lastIndex + 1, term: 3, payload: bytes)])
/// let entry = try log.entry(at: 42)
/// await log.close()
/// ```
///
/// All methods are safe to call from any thread or task. Writes are applied in the order they were
/// called.
public final class SegmentedLog: Sendable {
    let core: LogCore

    /// The directory holding the segment files.
    public var directory: String { core.directory }

    /// Opens (creating if needed) the log in `directory` and recovers it (see `Formats/segment.md`).
    ///
    /// - Throws: ``LogError`` with code `.corruption` (naming file, byte offset and index) when the
    ///   files are damaged in a way a crash cannot explain, `.locked` when another process has the
    ///   directory open, `.io` when the file system refuses.
    public static func open(
        directory: String, configuration: LogConfiguration = LogConfiguration()
    ) throws(LogError) -> SegmentedLog {
        try configuration.validate()
        do {
            try configuration.fileSystem.createDirectory(directory)
        } catch {
            throw LogError.io(error, while: "creating log directory \(directory)")
        }
        let lock = configuration.lockDirectory ? try DirectoryLock(directory: directory) : nil
        let state = try LogRecovery(directory: directory, configuration: configuration).recover()
        let core = LogCore(directory: directory, configuration: configuration, state: state, directoryLock: lock)
        core.startWriter()
        return SegmentedLog(core: core)
    }

    private init(core: LogCore) {
        self.core = core
    }

    deinit {
        core.close {}
    }

    // MARK: Writing

    /// Appends entries whose indexes continue the log (`lastIndex + 1`, `+ 2`, ...), each with a term
    /// no lower than the entry before it. Returns once they are durable.
    ///
    /// - Throws: ``LogError`` `.indexOutOfOrder`, `.termRegression` or `.entryTooLarge` for bad input
    ///   (nothing is written), `.failed` if the disk refused (nothing more can be written until the
    ///   log is reopened), `.closed` after ``close()``.
    public func append(_ entries: [LogEntry]) async throws(LogError) {
        let result: Result<Void, LogError> = await withCheckedContinuation { continuation in
            core.enqueue(.append(entries) { continuation.resume(returning: $0) })
        }
        try result.get()
    }

    /// Appends payloads at the next free indexes, all with `term` and `type`. Returns the indexes used
    /// once the entries are durable. Concurrent callers are ordered by arrival.
    public func append(term: UInt64, type: UInt8 = 0, payloads: [[UInt8]]) async throws(LogError) -> ClosedRange<UInt64> {
        let result: Result<ClosedRange<UInt64>, LogError> = await withCheckedContinuation { continuation in
            core.enqueue(.appendNext(term: term, type: type, payloads: payloads) { continuation.resume(returning: $0) })
        }
        return try result.get()
    }

    /// Removes every entry after `index` (Raft conflict resolution). Durable when it returns.
    ///
    /// - Throws: ``LogError`` `.indexUnavailable` if `index` is below `firstIndex - 1`.
    public func truncateSuffix(after index: UInt64) async throws(LogError) {
        let result: Result<Void, LogError> = await withCheckedContinuation { continuation in
            core.enqueue(.truncateSuffix(after: index) { continuation.resume(returning: $0) })
        }
        try result.get()
    }

    /// Deletes whole segments whose entries are all at or below `index` (after a snapshot at `index`).
    ///
    /// Entries above `index` stay readable, and so may some at or below it (segments are removed whole).
    /// If `index >= lastIndex` the log restarts empty, with its next index `index + 1`.
    public func purgePrefix(through index: UInt64) async throws(LogError) {
        let result: Result<Void, LogError> = await withCheckedContinuation { continuation in
            core.enqueue(.purgePrefix(through: index) { continuation.resume(returning: $0) })
        }
        try result.get()
    }

    /// Finishes the queued writes, stops the writer thread and releases the directory lock.
    /// Later calls fail with `.closed`.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            core.close { continuation.resume() }
        }
    }

    // MARK: Reading

    /// The first stored index. Equal to ``lastIndex`` + 1 when the log is empty.
    public var firstIndex: UInt64 { core.lock.withLock { $0.firstIndex } }

    /// The last durable index (``firstIndex`` - 1 when the log is empty).
    public var lastIndex: UInt64 { core.lock.withLock { $0.lastIndex } }

    /// What the writer has done since the log was opened.
    public var statistics: LogStatistics { core.lock.withLock { $0.statistics } }

    /// The term of the last entry, or nil if the log is empty.
    public var lastTerm: UInt64? { core.lock.withLock { $0.lastTerm } }

    /// The entry at `index`, checksum verified.
    public func entry(at index: UInt64) throws(LogError) -> LogEntry {
        let entries = try entries(from: index, through: index)
        return entries[0]
    }

    /// The entries `from...through`, checksums verified, stopping early (after at least one entry) once
    /// `maxBytes` of frames have been read.
    public func entries(from: UInt64, through: UInt64, maxBytes: Int = .max) throws(LogError) -> [LogEntry] {
        guard from <= through else {
            throw LogError(
                code: .invalidArgument, message: "log \(directory): read range \(from)...\(through) is empty; pass from <= through")
        }
        let last = lastIndex
        guard through <= last else {
            throw core.lock.withLock { state in core.unavailable(through, state: state) }
        }
        var entries: [LogEntry] = []
        var next = from
        var bytes = 0
        while next <= through && (entries.isEmpty || bytes < maxBytes) {
            // A frame is at least 32 bytes, so the byte budget bounds how many offsets are worth copying.
            let budgetFrames = UInt64(max(0, maxBytes - bytes) / SegmentFormat.frameHeaderSize) + 1
            let last = through - next < budgetFrames ? through : next + budgetFrames
            let run = try core.frameRun(from: next, through: last)
            bytes += try core.readEntries(run, maxBytes: maxBytes - bytes, into: &entries)
            next = from + UInt64(entries.count)
        }
        return entries
    }

    /// The term of the entry at `index`, without reading the entry.
    public func term(at index: UInt64) throws(LogError) -> UInt64 {
        try core.term(at: index)
    }

    /// Reads entries in order from `index`, a chunk at a time.
    public func cursor(from index: UInt64, chunkBytes: Int = 4 << 20) -> LogCursor {
        LogCursor(log: self, next: index, chunkBytes: chunkBytes)
    }
}

/// Reads a log forward from an index in chunks, without holding more than one chunk.
public struct LogCursor: Sendable {
    let log: SegmentedLog
    /// The index the next call to ``next()`` returns.
    public private(set) var nextIndex: UInt64
    let chunkBytes: Int
    private var buffered: [LogEntry] = []
    private var position = 0

    init(log: SegmentedLog, next: UInt64, chunkBytes: Int) {
        self.log = log
        self.nextIndex = next
        self.chunkBytes = chunkBytes
    }

    /// The next entry, or nil once the cursor has passed the log's last durable index.
    public mutating func next() throws(LogError) -> LogEntry? {
        if position == buffered.count {
            let last = log.lastIndex
            guard nextIndex <= last else { return nil }
            buffered = try log.entries(from: nextIndex, through: last, maxBytes: chunkBytes)
            position = 0
        }
        let entry = buffered[position]
        position += 1
        nextIndex = entry.index + 1
        return entry
    }
}
