/// Constants of segment format v1. `Formats/segment.md` is the normative description; keep both in step.
public enum SegmentFormat {
    /// The 8 magic bytes that open every segment file: ASCII `HELIOSLG`.
    public static let magic: [UInt8] = Array("HELIOSLG".utf8)
    /// The magic as a little-endian `UInt64`, for fast comparison.
    static let magicValue: UInt64 = magic.withUnsafeBytes { $0.loadLE(UInt64.self, at: 0) }
    /// The format version written by this code.
    public static let version: UInt16 = 1
    /// Size of the segment header in bytes.
    public static let headerSize = 64
    /// Size of every frame header in bytes.
    public static let frameHeaderSize = 32
    /// Frames start at multiples of this many bytes.
    public static let alignment = 8
    /// Size of the footer frame (header plus 32-byte payload) that ends a sealed segment.
    public static let footerFrameSize = 64
    /// Payload length of the footer frame.
    static let footerPayloadSize = 32
    /// The magic inside the footer payload: ASCII `HLSEALED`.
    static let footerMagicValue: UInt64 = Array("HLSEALED".utf8).withUnsafeBytes { $0.loadLE(UInt64.self, at: 0) }
    /// The largest payload any v1 frame may declare (1 GiB). Larger lengths are corruption.
    public static let maximumPayloadLength = 1 << 30
    /// File-name suffix of segment files.
    public static let fileSuffix = ".seg"
    /// Digits of the zero-padded first index in a segment file name.
    public static let fileNameDigits = 20

    /// Zero bytes needed after `length` bytes to reach the next 8-byte boundary.
    @inlinable
    public static func padding(for length: Int) -> Int { (alignment - length % alignment) % alignment }

    /// Total on-disk size of a frame whose payload is `payloadLength` bytes.
    @inlinable
    public static func frameSize(payloadLength: Int) -> Int {
        frameHeaderSize + payloadLength + padding(for: payloadLength)
    }
}

/// What a frame holds (byte 8 of the frame header).
public enum FrameKind: UInt8, Sendable, CustomStringConvertible {
    /// A log entry: index, term, entry type and opaque payload.
    case entry = 1
    /// The index block of a sealed segment: frame offsets and term runs.
    case index = 2
    /// The last frame of a sealed segment; points at the index block.
    case footer = 3
    /// Ends a group of frames made durable by one fdatasync (no payload).
    case commit = 4

    public var description: String {
        switch self {
        case .entry: "entry"
        case .index: "index"
        case .footer: "footer"
        case .commit: "commit"
        }
    }
}
