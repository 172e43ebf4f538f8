/// One frame as `helios operator log dump` shows it.
public struct DumpedFrame: Sendable {
    public var segment: String
    public var offset: Int64
    /// The frame kind byte (see ``FrameKind``); 0 for bytes that are not a frame.
    public var kindByte: UInt8
    public var index: UInt64
    public var term: UInt64
    public var entryType: UInt8
    public var payloadLength: Int
    /// Whether the frame passed its checksum and structure checks.
    public var valid: Bool
    /// What is wrong with it, for invalid frames.
    public var problem: String?
    public var payload: [UInt8]

    public var kind: FrameKind? { FrameKind(rawValue: kindByte) }
}

/// Walks the frames of a log directory without changing anything.
public struct LogDumper: Sendable {
    public let directory: String
    public let fileSystem: any FileSystem

    public init(directory: String, fileSystem: any FileSystem = PosixFileSystem()) {
        self.directory = directory
        self.fileSystem = fileSystem
    }

    /// Calls `visit` for each frame in index order until it returns false.
    ///
    /// - Parameters:
    ///   - from: the first entry index to show (entries only; frames of other kinds are shown in raw mode).
    ///   - through: the last entry index to show.
    ///   - raw: also show commit, index and footer frames and every bad frame, continuing after each
    ///     at the next position where a valid frame starts. Without it, a bad frame ends the dump with
    ///     a corruption error (a torn tail at the end of the last segment ends it quietly).
    public func dump(
        from: UInt64 = 0, through: UInt64 = .max, raw: Bool = false, _ visit: (DumpedFrame) -> Bool
    ) throws(LogError) {
        let segments = try SegmentDirectory.list(directory, fileSystem: fileSystem)
        for (position, segment) in segments.enumerated() {
            if segment.firstIndex > through { return }
            if position + 1 < segments.count, segments[position + 1].firstIndex <= from { continue }
            let keepGoing = try dumpSegment(
                segment.name, isLast: position == segments.count - 1, from: from, through: through, raw: raw, visit)
            if !keepGoing { return }
        }
    }

    /// Whether to go on after a segment, or the corruption that ends the dump.
    private enum Outcome {
        case next
        case stop
        case corrupt(offset: Int64, index: UInt64, reason: String)
    }

    private func dumpSegment(
        _ name: String, isLast: Bool, from: UInt64, through: UInt64, raw: Bool, _ visit: (DumpedFrame) -> Bool
    ) throws(LogError) -> Bool {
        let outcome: Outcome
        do {
            outcome = try walk(name, isLast: isLast, from: from, through: through, raw: raw, visit)
        } catch {
            throw LogError.io(error, while: "dumping segment \(name)")
        }
        switch outcome {
        case .next: return true
        case .stop: return false
        case .corrupt(let offset, let index, let reason):
            throw LogError.corruption(directory: directory, segment: name, offset: offset, index: index, reason: reason)
        }
    }

    private func walk(
        _ name: String, isLast: Bool, from: UInt64, through: UInt64, raw: Bool, _ visit: (DumpedFrame) -> Bool
    ) throws(FileSystemError) -> Outcome {
        let file = try fileSystem.openFile(directory + "/" + name, create: false, readOnly: true)
        let size = try file.size()
        let header: SegmentHeader
        switch SegmentHeader.decode(try file.readUpTo(SegmentFormat.headerSize, at: 0)) {
        case .failure(let problem):
            if !raw { return .corrupt(offset: 0, index: SegmentFileName.parse(name) ?? 0, reason: problem.description) }
            let bad = DumpedFrame(
                segment: name, offset: 0, kindByte: 0, index: 0, term: 0, entryType: 0, payloadLength: 0,
                valid: false, problem: "segment header: \(problem)", payload: [])
            return visit(bad) ? .next : .stop
        case .success(let decoded):
            header = decoded
        }
        var scanner = SegmentScanner(file: file, fileSize: size, salt: header.salt)
        var offset = Int64(SegmentFormat.headerSize)
        // The index the next entry frame should carry; frames that are not entries are shown in raw
        // mode only when they sit between entries of the selected range.
        var nextIndex = header.firstIndex
        while true {
            var frame: DumpedFrame?
            let step = try scanner.step(at: offset) { header, payload in
                frame = DumpedFrame(
                    segment: name, offset: offset, kindByte: header.kindByte, index: header.index, term: header.term,
                    entryType: header.entryType, payloadLength: Int(header.payloadLength), valid: true, problem: nil,
                    payload: Array(payload))
            }
            switch step {
            case .end:
                return .next
            case .frame(let decoded):
                offset += Int64(decoded.frameSize)
                guard let frame else { continue }
                if frame.kind == .entry {
                    nextIndex = frame.index + 1
                    if frame.index > through { return .stop }
                    if frame.index < from { continue }
                } else if !raw || nextIndex <= from || nextIndex > through &+ 1 {
                    continue
                }
                if !visit(frame) { return .stop }
            case .invalid(let problem):
                if !raw {
                    // A torn write at the end of the log is not corruption: the dump just ends there.
                    let analysis = try SegmentAnalysis.analyze(&scanner, header: header)
                    if isLast, case .torn = try TailState.classify(&scanner, analysis: analysis) { return .stop }
                    return .corrupt(offset: offset, index: nextIndex, reason: problem.description)
                }
                let bad = DumpedFrame(
                    segment: name, offset: offset, kindByte: 0, index: 0, term: 0, entryType: 0, payloadLength: 0,
                    valid: false, problem: problem.description, payload: [])
                if nextIndex >= from && nextIndex <= through, !visit(bad) { return .stop }
                guard let (next, _) = try scanner.nextValidFrame(from: offset + Int64(SegmentFormat.alignment)) else {
                    return .next
                }
                offset = next
            }
        }
    }
}
