/// The payload of the index frame that a sealed segment carries after its last entry.
///
/// ```
/// offset        size    field
///      0           8    entry count n
///      8           8    term run count m
///     16        4 * n   byte offset of each entry frame within the file (u32), in index order
///      …     0 or 4     zero padding to a multiple of 8
///      …      16 * m    term runs: (u64 first index of the run, u64 term)
/// ```
public struct SegmentIndexBlock: Sendable, Equatable {
    /// File offsets of the entry frames; entry `firstIndex + i` starts at `offsets[i]`.
    public var offsets: [UInt32]
    /// The terms of the entries.
    public var termRuns: TermRuns

    public init(offsets: [UInt32], termRuns: TermRuns) {
        self.offsets = offsets
        self.termRuns = termRuns
    }

    /// The encoded payload.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + offsets.count * 4 + 8 + termRuns.count * 16)
        bytes.appendLE(UInt64(offsets.count))
        bytes.appendLE(UInt64(termRuns.count))
        offsets.withUnsafeBufferPointer { buffer in
            #if _endian(little)
            bytes.append(contentsOf: UnsafeRawBufferPointer(buffer))
            #else
            for offset in buffer { bytes.appendLE(offset) }
            #endif
        }
        bytes.padToAlignment()
        for i in 0..<termRuns.count {
            bytes.appendLE(termRuns.starts[i])
            bytes.appendLE(termRuns.terms[i])
        }
        return bytes
    }

    /// Decodes an index payload; nil when its structure is inconsistent.
    public static func decode(_ raw: UnsafeRawBufferPointer) -> SegmentIndexBlock? {
        guard raw.count >= 16 else { return nil }
        let n = raw.loadLE(UInt64.self, at: 0)
        let m = raw.loadLE(UInt64.self, at: 8)
        guard n <= UInt64(raw.count), m <= UInt64(raw.count) else { return nil }
        let offsetsEnd = 16 + Int(n) * 4
        let runsStart = offsetsEnd + SegmentFormat.padding(for: offsetsEnd)
        guard runsStart + Int(m) * 16 == raw.count else { return nil }
        var offsets = [UInt32](repeating: 0, count: Int(n))
        for i in 0..<Int(n) { offsets[i] = raw.loadLE(UInt32.self, at: 16 + i * 4) }
        var starts: [UInt64] = []
        var terms: [UInt64] = []
        starts.reserveCapacity(Int(m))
        terms.reserveCapacity(Int(m))
        for i in 0..<Int(m) {
            starts.append(raw.loadLE(UInt64.self, at: runsStart + i * 16))
            terms.append(raw.loadLE(UInt64.self, at: runsStart + i * 16 + 8))
        }
        guard let runs = TermRuns(starts: starts, terms: terms) else { return nil }
        return SegmentIndexBlock(offsets: offsets, termRuns: runs)
    }
}

/// The payload of the 64-byte footer frame that ends a sealed segment.
///
/// ```
/// offset size field
///      0    8 byte offset of the index frame
///      8    8 entry count
///     16    8 first index
///     24    8 magic "HLSEALED"
/// ```
/// The footer frame header's index and term are those of the segment's last entry.
public struct SegmentFooter: Sendable, Equatable {
    public var indexFrameOffset: UInt64
    public var entryCount: UInt64
    public var firstIndex: UInt64
    /// Index of the last entry (from the frame header).
    public var lastIndex: UInt64
    /// Term of the last entry (from the frame header; 0 when empty).
    public var lastTerm: UInt64

    public init(indexFrameOffset: UInt64, entryCount: UInt64, firstIndex: UInt64, lastIndex: UInt64, lastTerm: UInt64) {
        self.indexFrameOffset = indexFrameOffset
        self.entryCount = entryCount
        self.firstIndex = firstIndex
        self.lastIndex = lastIndex
        self.lastTerm = lastTerm
    }

    /// Appends the complete footer frame to `buffer`.
    public func appendFrame(to buffer: inout [UInt8], salt: UInt64) {
        var payload: [UInt8] = []
        payload.appendLE(indexFrameOffset)
        payload.appendLE(entryCount)
        payload.appendLE(firstIndex)
        payload.appendLE(SegmentFormat.footerMagicValue)
        payload.withUnsafeBytes { bytes in
            FrameCodec.appendFrame(
                to: &buffer, salt: salt, kind: .footer, entryType: 0, index: lastIndex, term: lastTerm,
                payload: bytes)
        }
    }

    /// Decodes the payload of a validated footer frame; nil if it is not a well-formed footer.
    public static func decode(payload raw: UnsafeRawBufferPointer, header: FrameHeader) -> SegmentFooter? {
        guard header.kind == .footer, Int(header.payloadLength) == SegmentFormat.footerPayloadSize,
            raw.count == SegmentFormat.footerPayloadSize,
            raw.loadLE(UInt64.self, at: 24) == SegmentFormat.footerMagicValue
        else { return nil }
        let footer = SegmentFooter(
            indexFrameOffset: raw.loadLE(UInt64.self, at: 0),
            entryCount: raw.loadLE(UInt64.self, at: 8),
            firstIndex: raw.loadLE(UInt64.self, at: 16),
            lastIndex: header.index,
            lastTerm: header.term
        )
        guard footer.entryCount > 0, footer.firstIndex &+ footer.entryCount &- 1 == footer.lastIndex else { return nil }
        return footer
    }
}
