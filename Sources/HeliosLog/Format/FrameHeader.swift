/// The 32-byte header of every frame (format v1).
///
/// ```
/// offset size field
///      0    4 payload length in bytes (padding excluded)
///      4    4 CRC32C: salt (8 bytes LE) ++ bytes 0..<4 ++ bytes 8..<end of padded frame
///      8    1 frame kind (1 entry, 2 index, 3 footer, 4 commit)
///      9    1 entry type (opaque to the log; 0 for index and footer frames)
///     10    6 reserved (0)
///     16    8 index
///     24    8 term
/// ```
/// The payload follows, then zero padding up to the next multiple of 8 bytes.
public struct FrameHeader: Sendable, Equatable {
    /// Payload length in bytes, without padding.
    public var payloadLength: UInt32
    /// The stored checksum.
    public var checksum: UInt32
    /// The raw kind byte (see ``FrameKind``).
    public var kindByte: UInt8
    /// The entry type (opaque to the log).
    public var entryType: UInt8
    /// Entry index (entry frames), or the index of the last entry before the frame (other kinds).
    public var index: UInt64
    /// Entry term, or the term of the last entry before the frame (0 if there is none).
    public var term: UInt64

    /// The frame kind, if the kind byte is a known one.
    public var kind: FrameKind? { FrameKind(rawValue: kindByte) }

    /// Total on-disk size of the frame including header and padding.
    public var frameSize: Int { SegmentFormat.frameSize(payloadLength: Int(payloadLength)) }

    /// Reads a frame header at `offset` (which must leave 32 readable bytes).
    public static func decode(_ raw: UnsafeRawBufferPointer, at offset: Int) -> FrameHeader {
        FrameHeader(
            payloadLength: raw.loadLE(UInt32.self, at: offset),
            checksum: raw.loadLE(UInt32.self, at: offset + 4),
            kindByte: raw[offset + 8],
            entryType: raw[offset + 9],
            index: raw.loadLE(UInt64.self, at: offset + 16),
            term: raw.loadLE(UInt64.self, at: offset + 24)
        )
    }

    /// Whether the 32 bytes at `offset` are all zero: the end of the written data.
    public static func isZero(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == 0
            && raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) == 0
            && raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self) == 0
            && raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self) == 0
    }
}
