import Logging

/// The state shared by a ``SegmentedLog``'s callers and its writer thread.
///
/// Callers read under the lock and enqueue write requests; the writer thread performs them
/// (one `fdatasync` per group of queued appends) and publishes the durable result under the lock.
/// The writer holds this object, not the ``SegmentedLog``, so dropping the last reference to the log
/// stops the thread.
final class LogCore: Sendable {
    let directory: String
    let configuration: LogConfiguration
    let lock: ConditionLock<State>
    let directoryLock: DirectoryLock?
    var logger: Logger { configuration.logger }
    var fileSystem: any FileSystem { configuration.fileSystem }

    struct State {
        /// Sealed segments in index order.
        var sealed: [SealedSegment]
        /// The segment being appended to; always after every sealed one.
        var open: OpenSegment
        /// The sequence number for the next segment to create.
        var nextSequence: UInt64
        /// Requests waiting for the writer thread.
        var queue: [WriteRequest] = []
        /// Set by ``SegmentedLog/close()``: the writer drains the queue and exits.
        var closing = false
        /// Set when the writer thread has exited.
        var writerExited = false
        /// Resumed when the writer exits.
        var closeWaiters: [@Sendable () -> Void] = []
        /// Set when a write or sync failed: every later write is refused until the log is reopened.
        var failure: LogError?
        /// Counters of the writer's work since open.
        var statistics = LogStatistics()

        var firstIndex: UInt64 { sealed.first?.firstIndex ?? open.firstIndex }
        var lastIndex: UInt64 { open.lastIndex }
        /// The term of the last entry, or nil if the log holds no entries.
        var lastTerm: UInt64? {
            if let term = open.termRuns.lastTerm { return term }
            return sealed.last?.footer.lastTerm
        }
    }

    init(directory: String, configuration: LogConfiguration, state: State, directoryLock: DirectoryLock?) {
        self.directory = directory
        self.configuration = configuration
        self.lock = ConditionLock(state)
        self.directoryLock = directoryLock
    }

    func path(of name: String) -> String { directory + "/" + name }

    // MARK: Enqueueing

    /// Hands a request to the writer thread, or fails it at once if the log is closing or failed.
    func enqueue(_ request: WriteRequest) {
        let rejection: LogError? = lock.withLock { state in
            if let failure = state.failure { return failure }
            if state.closing { return closedError() }
            state.queue.append(request)
            return nil
        }
        if let rejection {
            request.fail(rejection)
        } else {
            lock.broadcast()
        }
    }

    func closedError() -> LogError {
        LogError(code: .closed, message: "log \(directory) is closed; open it again to use it")
    }

    /// Asks the writer to finish the queued work and exit; `done` runs once it has.
    func close(_ done: @escaping @Sendable () -> Void) {
        let exited: Bool = lock.withLock { state in
            state.closing = true
            if state.writerExited { return true }
            state.closeWaiters.append(done)
            return false
        }
        lock.broadcast()
        if exited { done() }
    }

    // MARK: Reads

    /// A contiguous run of entry frames within one segment, copied out of the shared state.
    struct FrameRun {
        let segment: String
        let file: any File
        let salt: UInt64
        /// Index of the first frame in `offsets`.
        let firstIndex: UInt64
        /// File offsets of the frames, then the end offset of the last frame.
        let bounds: [Int64]
    }

    /// The frames for `from...through`, clipped to the end of the segment that holds `from`.
    func frameRun(from: UInt64, through: UInt64) throws(LogError) -> FrameRun {
        while true {
            let lookup: Result<FrameRun, LogError>? = lock.withLock { state in
                guard from >= state.firstIndex, from <= state.lastIndex else {
                    return .failure(unavailable(from, state: state))
                }
                if from >= state.open.firstIndex {
                    let open = state.open
                    let last = min(through, open.lastIndex)
                    return .success(makeRun(
                        segment: open.name, file: open.file, salt: open.header.salt, segmentFirst: open.firstIndex,
                        offsets: open.offsets, entriesEnd: open.entriesEnd, from: from, through: last))
                }
                let position = sealedPosition(of: from, in: state.sealed)
                let segment = state.sealed[position]
                guard let index = segment.index else { return nil }  // load outside the lock, then retry
                let last = min(through, segment.lastIndex)
                return .success(makeRun(
                    segment: segment.name, file: segment.file, salt: segment.header.salt,
                    segmentFirst: segment.firstIndex, offsets: index.offsets, entriesEnd: segment.entriesEnd,
                    from: from, through: last))
            }
            if let lookup { return try lookup.get() }
            try loadSealedIndex(containing: from)
        }
    }

    private func makeRun(
        segment: String, file: any File, salt: UInt64, segmentFirst: UInt64, offsets: [UInt32],
        entriesEnd: Int64, from: UInt64, through: UInt64
    ) -> FrameRun {
        let lower = Int(from - segmentFirst)
        let upper = Int(through - segmentFirst)
        var bounds: [Int64] = []
        bounds.reserveCapacity(upper - lower + 2)
        for i in lower...upper { bounds.append(Int64(offsets[i])) }
        bounds.append(upper + 1 < offsets.count ? Int64(offsets[upper + 1]) : entriesEnd)
        return FrameRun(segment: segment, file: file, salt: salt, firstIndex: from, bounds: bounds)
    }

    /// Position in `sealed` of the segment holding `index` (which must be within the sealed range).
    func sealedPosition(of index: UInt64, in sealed: [SealedSegment]) -> Int {
        var low = 0
        var high = sealed.count
        while low < high {
            let mid = (low + high) / 2
            if sealed[mid].firstIndex <= index { low = mid + 1 } else { high = mid }
        }
        return low - 1
    }

    func unavailable(_ index: UInt64, state: State) -> LogError {
        let range = state.lastIndex >= state.firstIndex ? "\(state.firstIndex)...\(state.lastIndex)" : "empty"
        let hint =
            index < state.firstIndex
            ? "it was purged after a snapshot; read the snapshot instead"
            : "it has not been written (the last index is \(state.lastIndex))"
        return LogError(
            code: .indexUnavailable,
            message: "log \(directory): index \(index) is outside the stored range (\(range)); \(hint)",
            index: index)
    }

    /// Reads the index block of the sealed segment holding `index` and stores it in the state.
    func loadSealedIndex(containing index: UInt64) throws(LogError) {
        let target: SealedSegment? = lock.withLock { state in
            guard index >= state.firstIndex, index < state.open.firstIndex else { return nil }
            return state.sealed[sealedPosition(of: index, in: state.sealed)]
        }
        guard let target, target.index == nil else { return }
        let block = try Self.readIndexBlock(of: target, directory: directory)
        lock.withLock { state in
            if let position = state.sealed.firstIndex(where: { $0.header.salt == target.header.salt }) {
                state.sealed[position].index = block
            }
        }
    }

    /// Reads and checks a sealed segment's index block.
    static func readIndexBlock(of segment: SealedSegment, directory: String) throws(LogError) -> SegmentIndexBlock {
        let start = Int64(segment.footer.indexFrameOffset)
        let end = segment.fileSize - Int64(SegmentFormat.footerFrameSize)
        let bytes: [UInt8]
        do {
            bytes = try segment.file.readExactly(Int(end - start), at: start)
        } catch {
            throw LogError.io(error, while: "reading the index block of segment \(segment.name)")
        }
        let block: SegmentIndexBlock? = bytes.withUnsafeBytes { raw in
            guard case .success(let header) = FrameCodec.validate(raw, at: 0, salt: segment.header.salt),
                header.kind == .index, header.frameSize == raw.count
            else { return nil }
            let payload = UnsafeRawBufferPointer(
                rebasing: raw[SegmentFormat.frameHeaderSize..<(SegmentFormat.frameHeaderSize + Int(header.payloadLength))])
            return SegmentIndexBlock.decode(payload)
        }
        guard let block, block.offsets.count == Int(segment.footer.entryCount),
            block.offsets.first.map({ Int($0) >= SegmentFormat.headerSize }) ?? false
        else {
            throw LogError.corruption(
                directory: directory, segment: segment.name, offset: start, index: nil,
                reason: "index block is damaged")
        }
        return block
    }

    /// Reads and checks the entries of one frame run, stopping early once `maxBytes` of payload are read.
    func readEntries(_ run: FrameRun, maxBytes: Int, into entries: inout [LogEntry]) throws(LogError) -> Int {
        let start = run.bounds[0]
        var frameCount = run.bounds.count - 1
        // Stop early (always reading at least one frame) when the byte budget is exceeded.
        var budget = 0
        for i in 0..<frameCount {
            budget += Int(run.bounds[i + 1] - run.bounds[i])
            if budget > maxBytes && i > 0 {
                frameCount = i
                break
            }
        }
        let end = run.bounds[frameCount]
        let bytes: [UInt8]
        do {
            bytes = try run.file.readExactly(Int(end - start), at: start)
        } catch {
            throw LogError.io(error, while: "reading entries \(run.firstIndex)... of segment \(run.segment)")
        }
        var payloadBytes = 0
        let outcome: LogError? = bytes.withUnsafeBytes { raw in
            for i in 0..<frameCount {
                let offset = Int(run.bounds[i] - start)
                let index = run.firstIndex + UInt64(i)
                let frameEnd = Int(run.bounds[i + 1] - start)
                let frame = UnsafeRawBufferPointer(rebasing: raw[offset..<frameEnd])
                switch FrameCodec.validate(frame, at: 0, salt: run.salt) {
                case .failure(let problem):
                    return LogError.corruption(
                        directory: directory, segment: run.segment, offset: run.bounds[i], index: index,
                        reason: problem.description)
                case .success(let header):
                    guard header.kind == .entry, header.index == index, header.frameSize <= frame.count else {
                        return LogError.corruption(
                            directory: directory, segment: run.segment, offset: run.bounds[i], index: index,
                            reason: "frame holds \(header.kind?.description ?? "kind \(header.kindByte)") "
                                + "index \(header.index) where entry \(index) belongs")
                    }
                    let payloadStart = SegmentFormat.frameHeaderSize
                    let payload = Array(frame[payloadStart..<(payloadStart + Int(header.payloadLength))])
                    payloadBytes += payload.count
                    entries.append(LogEntry(index: index, term: header.term, type: header.entryType, payload: payload))
                }
            }
            return nil
        }
        if let outcome { throw outcome }
        return payloadBytes
    }

    /// The term of `index`.
    func term(at index: UInt64) throws(LogError) -> UInt64 {
        while true {
            let lookup: Result<UInt64, LogError>? = lock.withLock { state in
                guard index >= state.firstIndex, index <= state.lastIndex else {
                    return .failure(unavailable(index, state: state))
                }
                if index >= state.open.firstIndex {
                    return state.open.termRuns.term(at: index).map { .success($0) }
                        ?? .failure(unavailable(index, state: state))
                }
                let segment = state.sealed[sealedPosition(of: index, in: state.sealed)]
                if index == segment.lastIndex { return .success(segment.footer.lastTerm) }
                guard let block = segment.index else { return nil }
                return block.termRuns.term(at: index).map { .success($0) } ?? .failure(unavailable(index, state: state))
            }
            if let lookup { return try lookup.get() }
            try loadSealedIndex(containing: index)
        }
    }
}
