/// The 64-byte header at the start of every segment file (format v1).
///
/// ```
/// offset size field
///      0    8 magic "HELIOSLG"
///      8    2 format version (1)
///     10    2 header size (64)
///     12    4 flags: bit 0 "base": no segment with a lower first index belongs to the log
///     16    8 first index: index of the first entry this segment holds
///     24    8 salt: random, non-zero; mixed into every frame checksum of this segment
///     32    8 sequence: 1 for the first segment a log creates, +1 for each later one
///     40    8 previous salt: salt of the segment that was last when this one was created (0 if none)
///     48   12 reserved (0)
///     60    4 CRC32C of bytes 0..<60
/// ```
public struct SegmentHeader: Sendable, Equatable {
    /// The format version that wrote the segment.
    public var version: UInt16
    /// The index of the first entry in the segment.
    public var firstIndex: UInt64
    /// The per-segment random value mixed into frame checksums, so stale bytes never validate.
    public var salt: UInt64
    /// The position of this segment in the order the log created its segments.
    public var sequence: UInt64
    /// The salt of the segment that preceded this one when it was created (0 for the first).
    public var previousSalt: UInt64
    /// Whether this segment starts the log: segments with lower first indexes are leftovers of an
    /// interrupted purge and are removed on open.
    public var isBase: Bool

    public init(firstIndex: UInt64, salt: UInt64, sequence: UInt64, previousSalt: UInt64, isBase: Bool) {
        self.version = SegmentFormat.version
        self.firstIndex = firstIndex
        self.salt = salt
        self.sequence = sequence
        self.previousSalt = previousSalt
        self.isBase = isBase
    }

    /// The 64 header bytes.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: SegmentFormat.headerSize)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeLE(SegmentFormat.magicValue, at: 0)
            raw.storeLE(version, at: 8)
            raw.storeLE(UInt16(SegmentFormat.headerSize), at: 10)
            raw.storeLE(UInt32(isBase ? 1 : 0), at: 12)
            raw.storeLE(firstIndex, at: 16)
            raw.storeLE(salt, at: 24)
            raw.storeLE(sequence, at: 32)
            raw.storeLE(previousSalt, at: 40)
            let crc = CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: raw[0..<60]))
            raw.storeLE(crc, at: 60)
        }
        return bytes
    }

    /// Why a header did not decode.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case tooShort(Int)
        case badMagic
        case checksumMismatch(stored: UInt32, computed: UInt32)
        case unsupportedVersion(UInt16)
        case badHeaderSize(UInt16)
        case zeroSalt

        public var description: String {
            switch self {
            case .tooShort(let n): "file is \(n) bytes, shorter than the \(SegmentFormat.headerSize)-byte segment header"
            case .badMagic: "bad magic (not a Helios segment file)"
            case .checksumMismatch(let stored, let computed):
                "header CRC mismatch (stored \(hex(stored)), computed \(hex(computed)))"
            case .unsupportedVersion(let v):
                "unsupported segment format version \(v) (this build reads version \(SegmentFormat.version); "
                    + "use a newer helios)"
            case .badHeaderSize(let n): "header size field is \(n), expected \(SegmentFormat.headerSize)"
            case .zeroSalt: "salt is zero"
            }
        }
    }

    /// Decodes and checks a header from the first bytes of a segment file.
    public static func decode(_ raw: UnsafeRawBufferPointer) -> Result<SegmentHeader, Problem> {
        guard raw.count >= SegmentFormat.headerSize else { return .failure(.tooShort(raw.count)) }
        guard raw.loadLE(UInt64.self, at: 0) == SegmentFormat.magicValue else { return .failure(.badMagic) }
        let stored = raw.loadLE(UInt32.self, at: 60)
        let computed = CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: raw[0..<60]))
        guard stored == computed else { return .failure(.checksumMismatch(stored: stored, computed: computed)) }
        let version = raw.loadLE(UInt16.self, at: 8)
        guard version == SegmentFormat.version else { return .failure(.unsupportedVersion(version)) }
        let size = raw.loadLE(UInt16.self, at: 10)
        guard Int(size) == SegmentFormat.headerSize else { return .failure(.badHeaderSize(size)) }
        var header = SegmentHeader(
            firstIndex: raw.loadLE(UInt64.self, at: 16),
            salt: raw.loadLE(UInt64.self, at: 24),
            sequence: raw.loadLE(UInt64.self, at: 32),
            previousSalt: raw.loadLE(UInt64.self, at: 40),
            isBase: raw.loadLE(UInt32.self, at: 12) & 1 != 0
        )
        header.version = version
        guard header.salt != 0 else { return .failure(.zeroSalt) }
        return .success(header)
    }

    /// Decodes a header from a byte array.
    public static func decode(_ bytes: [UInt8]) -> Result<SegmentHeader, Problem> {
        bytes.withUnsafeBytes { decode($0) }
    }
}

/// `0x` followed by 8 hex digits.
func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

/// `0x` followed by 16 hex digits.
func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
