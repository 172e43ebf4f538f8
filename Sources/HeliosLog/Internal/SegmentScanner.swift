/// Reads the frames of one segment file in order through a buffered window.
///
/// Shared by recovery (the open segment), `verify` and `dump`. It only reads.
struct SegmentScanner {
    let file: any File
    let fileSize: Int64
    let salt: UInt64
    private var window: [UInt8] = []
    private var windowStart: Int64 = 0
    static let windowSize = 1 << 20

    init(file: any File, fileSize: Int64, salt: UInt64) {
        self.file = file
        self.fileSize = fileSize
        self.salt = salt
    }

    /// Calls `body` with the bytes at `offset..<offset+count`, clamped to the end of the file.
    mutating func withBytes<R>(
        at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) -> R
    ) throws(FileSystemError) -> R {
        let available = Int(max(0, min(Int64(count), fileSize - offset)))
        let windowEnd = windowStart + Int64(window.count)
        if offset < windowStart || offset + Int64(available) > windowEnd {
            let length = Int(min(Int64(max(Self.windowSize, available)), fileSize - offset))
            window = try file.readUpTo(length, at: offset)
            windowStart = offset
        }
        let start = Int(offset - windowStart)
        let end = min(start + available, window.count)
        return window.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[start..<end])) }
    }

    /// What lies at a frame position.
    enum Step {
        /// No more data: the end of the file, or an all-zero frame header.
        case end
        /// A frame that passed its checksum.
        case frame(FrameHeader)
        /// Bytes that are not a valid frame.
        case invalid(FrameCodec.Problem)
    }

    /// Reads and checks the frame at `offset`. When `body` is given it sees the valid frame's payload.
    mutating func step(
        at offset: Int64, payload body: ((FrameHeader, UnsafeRawBufferPointer) -> Void)? = nil
    ) throws(FileSystemError) -> Step {
        if offset >= fileSize { return .end }
        let head: (header: FrameHeader?, zero: Bool, available: Int) = try withBytes(
            at: offset, count: SegmentFormat.frameHeaderSize
        ) { raw in
            if raw.count < SegmentFormat.frameHeaderSize {
                return (nil, raw.allSatisfy { $0 == 0 }, raw.count)
            }
            return (FrameHeader.decode(raw, at: 0), FrameHeader.isZero(raw, at: 0), raw.count)
        }
        if head.zero { return .end }
        guard let header = head.header else { return .invalid(.truncatedHeader(available: head.available)) }
        guard header.kind != nil else { return .invalid(.unknownKind(header.kindByte)) }
        guard Int(header.payloadLength) <= SegmentFormat.maximumPayloadLength,
            Int64(header.frameSize) <= fileSize - offset
        else {
            if Int(header.payloadLength) > SegmentFormat.maximumPayloadLength {
                return .invalid(.implausibleLength(header.payloadLength))
            }
            return .invalid(.truncatedFrame(needed: header.frameSize, available: Int(fileSize - offset)))
        }
        let salt = self.salt
        return try withBytes(at: offset, count: header.frameSize) { raw in
            switch FrameCodec.validate(raw, at: 0, salt: salt) {
            case .failure(let problem):
                return .invalid(problem)
            case .success(let header):
                if let body {
                    let start = SegmentFormat.frameHeaderSize
                    body(header, UnsafeRawBufferPointer(rebasing: raw[start..<(start + Int(header.payloadLength))]))
                }
                return .frame(header)
            }
        }
    }

    /// The first offset at or after `offset` (8-byte aligned) where a frame passes its checksum, with
    /// that frame's header; nil if none does before the end of the file.
    ///
    /// Used to tell a torn tail (nothing valid follows) from corruption (valid frames follow), and by
    /// `dump --raw` to resynchronise after a bad frame.
    mutating func nextValidFrame(from offset: Int64) throws(FileSystemError) -> (Int64, FrameHeader)? {
        var ignored = offset
        return try nextValidFrame(from: offset, nonZeroEnd: &ignored)
    }

    /// ``nextValidFrame(from:)`` that also moves `nonZeroEnd` past every non-zero byte it reads, so a
    /// caller that needs both reads the tail of a file once.
    mutating func nextValidFrame(from offset: Int64, nonZeroEnd: inout Int64) throws(FileSystemError) -> (Int64, FrameHeader)? {
        var position = (offset + 7) & ~7
        let salt = self.salt
        while position + Int64(SegmentFormat.frameHeaderSize) <= fileSize {
            // Look at a window's worth of candidate positions at once; most bytes fail the cheap tests.
            let span = Int(min(Int64(SegmentScanner.windowSize), fileSize - position))
            let candidate: Int64? = try withBytes(at: position, count: span) { raw in
                if let last = raw.lastIndex(where: { $0 != 0 }) {
                    nonZeroEnd = max(nonZeroEnd, position + Int64(last) + 1)
                }
                var p = 0
                while p + SegmentFormat.frameHeaderSize <= raw.count {
                    let kind = raw[p + 8]
                    if kind >= 1 && kind <= 4 && raw.loadLE(UInt32.self, at: p) <= UInt32(SegmentFormat.maximumPayloadLength) {
                        return position + Int64(p)
                    }
                    p += 8
                }
                return nil
            }
            guard let candidate else {
                position += Int64(max(8, span - SegmentFormat.frameHeaderSize + 8)) & ~7
                continue
            }
            let header = try withBytes(at: candidate, count: SegmentFormat.frameHeaderSize) {
                FrameHeader.decode($0, at: 0)
            }
            if Int64(header.frameSize) <= fileSize - candidate {
                let valid = try withBytes(at: candidate, count: header.frameSize) { raw in
                    if case .success = FrameCodec.validate(raw, at: 0, salt: salt) { return true }
                    return false
                }
                if valid { return (candidate, header) }
            }
            position = candidate + 8
        }
        return nil
    }
}

