import Logging

/// The writer thread: the only code that changes segment files.
///
/// Appends queued while a group is being written and synced form the next group, so N concurrent
/// appenders share one `fdatasync` (group commit). Every group ends with a commit frame; see
/// `Formats/segment.md` for why recovery relies on it.
extension LogCore {
    /// Starts the writer thread. It runs until ``close(_:)`` and holds only this core.
    func startWriter() {
        startDedicatedThread(name: "helios-log") { [self] in runWriter() }
    }

    private func runWriter() {
        while true {
            let work: [WriteRequest] = lock.waitThenRun(until: { !$0.queue.isEmpty || $0.closing }) { state in
                let work = state.queue
                state.queue = []
                return work
            }
            if work.isEmpty { break }  // closing, and nothing left to do
            process(work)
        }
        directoryLock?.release()
        let waiters: [@Sendable () -> Void] = lock.withLock { state in
            state.writerExited = true
            let waiters = state.closeWaiters
            state.closeWaiters = []
            return waiters
        }
        for waiter in waiters { waiter() }
    }

    private func process(_ work: [WriteRequest]) {
        var start = 0
        while start < work.count {
            if let failure = lock.withLock({ $0.failure }) {
                for request in work[start...] { request.fail(failure) }
                return
            }
            switch work[start] {
            case .append, .appendNext:
                var end = start + 1
                while end < work.count, work[end].isAppend { end += 1 }
                writeGroup(work[start..<end])
                start = end
            case .truncateSuffix(let after, let done):
                done(performTruncate(after: after))
                start += 1
            case .purgePrefix(let through, let done):
                done(performPurge(through: through))
                start += 1
            }
        }
    }

    /// Turns a failed write or sync into the log's permanent failure (no write is retried: after a
    /// failed fdatasync the page cache can no longer be trusted).
    func fail(_ error: FileSystemError, while doing: String) -> LogError {
        let failure = LogError(
            code: .failed,
            message: "log \(directory): \(doing) failed: \(error.description); the log refuses further writes. "
                + "Restart the process: recovery keeps every entry that was made durable.",
            segment: error.path.split(separator: "/").last.map(String.init),
            errno: error.errno)
        lock.withLock { $0.failure = failure }
        configuration.logger.error("\(failure.message)")
        return failure
    }

    // MARK: Append groups

    /// Where the writer is in the open segment (a copy of the scalar fields only, so that the shared
    /// offsets array is never copied on write).
    struct Cursor {
        var name: String
        var file: any File
        var header: SegmentHeader
        var salt: UInt64 { header.salt }
        var firstIndex: UInt64
        var entryCount: Int
        var entriesEnd: Int64
        var allocatedSize: Int64

        init(_ open: OpenSegment) {
            name = open.name
            file = open.file
            header = open.header
            firstIndex = open.firstIndex
            entryCount = open.offsets.count
            entriesEnd = open.entriesEnd
            allocatedSize = open.allocatedSize
        }
    }

    /// An accepted request and the indexes it was given.
    private struct Accepted {
        var position: Int
        var indexes: ClosedRange<UInt64>
    }

    private func writeGroup(_ requests: ArraySlice<WriteRequest>) {
        let (lastIndex, lastTerm, cursor) = lock.withLock { state in
            (state.lastIndex, state.lastTerm ?? 0, Cursor(state.open))
        }
        // Pass 1: check every request against the log as the requests before it leave it.
        var nextIndex = lastIndex + 1
        var term = lastTerm
        var accepted: [Accepted] = []
        for position in requests.indices {
            switch requests[position] {
            case .append(let entries, let done):
                if let problem = check(entries, nextIndex: nextIndex, lastTerm: term) {
                    done(.failure(problem))
                } else if entries.isEmpty {
                    done(.success(()))
                } else {
                    accepted.append(Accepted(position: position, indexes: nextIndex...(nextIndex + UInt64(entries.count) - 1)))
                    nextIndex += UInt64(entries.count)
                    term = entries[entries.count - 1].term
                }
            case .appendNext(let newTerm, _, let payloads, let done):
                if let problem = check(term: newTerm, payloads: payloads, nextIndex: nextIndex, lastTerm: term) {
                    done(.failure(problem))
                } else {
                    accepted.append(Accepted(position: position, indexes: nextIndex...(nextIndex + UInt64(payloads.count) - 1)))
                    nextIndex += UInt64(payloads.count)
                    term = newTerm
                }
            case .truncateSuffix, .purgePrefix:
                preconditionFailure("writeGroup is only given appends")
            }
        }
        guard !accepted.isEmpty else { return }

        // Pass 2: encode, write, sync once, publish, report.
        do throws(LogError) {
            try encodeAndWrite(requests, accepted: accepted, cursor: cursor, previousTerm: lastTerm)
        } catch {
            for item in accepted { requests[item.position].fail(error) }
            return
        }
        for item in accepted {
            switch requests[item.position] {
            case .append(_, let done): done(.success(()))
            case .appendNext(_, _, _, let done): done(.success(item.indexes))
            case .truncateSuffix, .purgePrefix: break
            }
        }
    }

    private func encodeAndWrite(
        _ requests: ArraySlice<WriteRequest>, accepted: [Accepted], cursor start: Cursor, previousTerm: UInt64
    ) throws(LogError) {
        var cursor = start
        var buffer: [UInt8] = []
        var newOffsets: [UInt32] = []
        var newRuns = TermRuns()
        var lastTerm = previousTerm
        let segmentSize = Int64(configuration.segmentSize)
        let commitSize = Int64(SegmentFormat.frameHeaderSize)

        func emit(index: UInt64, term: UInt64, type: UInt8, payload: [UInt8]) throws(LogError) {
            let size = Int64(SegmentFormat.frameSize(payloadLength: payload.count))
            if cursor.entriesEnd + Int64(buffer.count) + size + commitSize > segmentSize,
                cursor.entryCount + newOffsets.count > 0
            {
                try roll(&cursor, buffer: &buffer, newOffsets: &newOffsets, newRuns: &newRuns, lastTerm: lastTerm)
            }
            newOffsets.append(UInt32(cursor.entriesEnd + Int64(buffer.count)))
            newRuns.record(index: index, term: term)
            FrameCodec.appendEntry(to: &buffer, salt: cursor.salt, index: index, term: term, type: type, payload: payload)
            lastTerm = term
        }

        var lastIndex: UInt64 = 0
        for item in accepted {
            switch requests[item.position] {
            case .append(let entries, _):
                for entry in entries {
                    try emit(index: entry.index, term: entry.term, type: entry.type, payload: entry.payload)
                }
            case .appendNext(let term, let type, let payloads, _):
                var index = item.indexes.lowerBound
                for payload in payloads {
                    try emit(index: index, term: term, type: type, payload: payload)
                    index += 1
                }
            case .truncateSuffix, .purgePrefix:
                break
            }
            lastIndex = item.indexes.upperBound
        }
        FrameCodec.appendCommit(to: &buffer, salt: cursor.salt, lastIndex: lastIndex, lastTerm: lastTerm)
        do {
            try cursor.file.write(buffer, at: cursor.entriesEnd)
            try cursor.file.synchronize()
        } catch {
            throw fail(error, while: "writing entries up to \(lastIndex) to segment \(cursor.name)")
        }
        let end = cursor.entriesEnd + Int64(buffer.count)
        let entryCount = accepted.reduce(0) { $0 + $1.indexes.count }
        let requestCount = accepted.count
        let bytes = buffer.count
        lock.withLock { state in
            state.statistics.groups += 1
            state.statistics.appends += requestCount
            state.statistics.entries += entryCount
            state.statistics.bytes += bytes
            state.open.offsets.append(contentsOf: newOffsets)
            for i in 0..<newRuns.count { state.open.termRuns.record(index: newRuns.starts[i], term: newRuns.terms[i]) }
            state.open.entriesEnd = end
        }
    }

    /// Seals the open segment after writing `buffer` into it, publishes it, and continues in a new one.
    private func roll(
        _ cursor: inout Cursor, buffer: inout [UInt8], newOffsets: inout [UInt32], newRuns: inout TermRuns,
        lastTerm: UInt64
    ) throws(LogError) {
        let (offsets, runs, sequence) = lock.withLock { state in
            var runs = state.open.termRuns
            for i in 0..<newRuns.count { runs.record(index: newRuns.starts[i], term: newRuns.terms[i]) }
            return (state.open.offsets + newOffsets, runs, state.nextSequence)
        }
        let block = SegmentIndexBlock(offsets: offsets, termRuns: runs)
        let lastIndex = cursor.firstIndex + UInt64(offsets.count) - 1
        let indexOffset = cursor.entriesEnd + Int64(buffer.count)
        var seal: [UInt8] = []
        block.encoded().withUnsafeBytes { payload in
            FrameCodec.appendFrame(
                to: &seal, salt: cursor.salt, kind: .index, entryType: 0, index: lastIndex, term: lastTerm,
                payload: payload)
        }
        let footer = SegmentFooter(
            indexFrameOffset: UInt64(indexOffset), entryCount: UInt64(offsets.count), firstIndex: cursor.firstIndex,
            lastIndex: lastIndex, lastTerm: lastTerm)
        footer.appendFrame(to: &seal, salt: cursor.salt)
        buffer.append(contentsOf: seal)
        let fileSize = cursor.entriesEnd + Int64(buffer.count)
        let next: OpenSegment
        do {
            // Shrink a preallocated file first so that the footer is the last 64 bytes; one
            // fdatasync then covers the entries, the seal and the new size.
            if cursor.allocatedSize > fileSize { try cursor.file.truncate(to: fileSize) }
            try cursor.file.write(buffer, at: cursor.entriesEnd)
            try cursor.file.synchronize()
            next = try createSegment(
                firstIndex: lastIndex + 1, sequence: sequence, previousSalt: cursor.salt, isBase: false,
                previousTerm: lastTerm)
        } catch {
            throw fail(error, while: "sealing segment \(cursor.name)")
        }
        let sealed = SealedSegment(
            name: cursor.name, file: cursor.file, header: cursor.header, footer: footer,
            fileSize: fileSize, index: block)
        lock.withLock { state in
            state.sealed.append(sealed)
            state.open = next
            state.nextSequence = sequence + 1
        }
        cursor = Cursor(next)
        buffer.removeAll(keepingCapacity: true)
        newOffsets.removeAll()
        newRuns = TermRuns()
    }

    /// Creates a segment durably (see ``LogCore/createSegment(in:configuration:firstIndex:sequence:previousSalt:isBase:previousTerm:)``).
    func createSegment(
        firstIndex: UInt64, sequence: UInt64, previousSalt: UInt64, isBase: Bool, previousTerm: UInt64
    ) throws(FileSystemError) -> OpenSegment {
        try Self.createSegment(
            in: directory, configuration: configuration, firstIndex: firstIndex, sequence: sequence,
            previousSalt: previousSalt, isBase: isBase, previousTerm: previousTerm)
    }

    /// Creates a segment durably: header, a commit frame recording the term before it, and the
    /// preallocation are written to a temporary file and synced; the file is renamed into place
    /// (replacing an empty segment of the same name, if any) and the directory synced.
    static func createSegment(
        in directory: String, configuration: LogConfiguration, firstIndex: UInt64, sequence: UInt64,
        previousSalt: UInt64, isBase: Bool, previousTerm: UInt64
    ) throws(FileSystemError) -> OpenSegment {
        let fileSystem = configuration.fileSystem
        let name = SegmentFileName.make(firstIndex: firstIndex)
        let temporary = directory + "/" + name + ".tmp"
        let header = SegmentHeader(
            firstIndex: firstIndex, salt: configuration.saltGenerator(), sequence: sequence,
            previousSalt: previousSalt, isBase: isBase)
        let file = try fileSystem.openFile(temporary, create: true, readOnly: false)
        try file.truncate(to: 0)
        var bytes = header.encoded()
        FrameCodec.appendCommit(to: &bytes, salt: header.salt, lastIndex: firstIndex - 1, lastTerm: previousTerm)
        try file.write(bytes, at: 0)
        var allocated = Int64(bytes.count)
        if configuration.preallocate {
            try file.preallocate(to: Int64(configuration.segmentSize))
            allocated = Int64(configuration.segmentSize)
        }
        try file.synchronize()
        try fileSystem.rename(temporary, to: directory + "/" + name)
        try fileSystem.synchronizeDirectory(directory)
        return OpenSegment(
            name: name, file: file, header: header, offsets: [], termRuns: TermRuns(),
            entriesEnd: Int64(bytes.count), allocatedSize: allocated)
    }

    // MARK: Checks

    private func check(_ entries: [LogEntry], nextIndex: UInt64, lastTerm: UInt64) -> LogError? {
        var expected = nextIndex
        var term = lastTerm
        for entry in entries {
            if entry.index != expected {
                let what = expected == nextIndex ? "the log's next index is \(nextIndex)" : "the batch is not contiguous"
                return LogError(
                    code: .indexOutOfOrder,
                    message: "log \(directory): append of entry \(entry.index) rejected: \(what) "
                        + "(expected \(expected)); truncate the log first to overwrite entries, "
                        + "or append from index \(expected)",
                    index: entry.index)
            }
            if entry.term < term {
                return termRegression(index: entry.index, term: entry.term, lastTerm: term)
            }
            if entry.payload.count > configuration.maximumEntrySize {
                return tooLarge(index: entry.index, size: entry.payload.count)
            }
            expected += 1
            term = entry.term
        }
        return nil
    }

    private func check(term: UInt64, payloads: [[UInt8]], nextIndex: UInt64, lastTerm: UInt64) -> LogError? {
        if payloads.isEmpty {
            return LogError(code: .invalidArgument, message: "log \(directory): append called with no payloads")
        }
        if term < lastTerm { return termRegression(index: nextIndex, term: term, lastTerm: lastTerm) }
        for (offset, payload) in payloads.enumerated() where payload.count > configuration.maximumEntrySize {
            return tooLarge(index: nextIndex + UInt64(offset), size: payload.count)
        }
        return nil
    }

    private func termRegression(index: UInt64, term: UInt64, lastTerm: UInt64) -> LogError {
        LogError(
            code: .termRegression,
            message: "log \(directory): append of entry \(index) rejected: its term \(term) is lower than "
                + "the term \(lastTerm) of the entry before it; terms never decrease along the log",
            index: index)
    }

    private func tooLarge(index: UInt64, size: Int) -> LogError {
        LogError(
            code: .entryTooLarge,
            message: "log \(directory): entry \(index) has a \(size)-byte payload, over the maximum entry size "
                + "of \(configuration.maximumEntrySize) bytes; split it or raise LogConfiguration.maximumEntrySize",
            index: index)
    }
}
