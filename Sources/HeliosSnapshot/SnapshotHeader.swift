import HeliosLog
import HeliosState

/// The header of a snapshot file (`Formats/snapshot.md`). Version 2, which this build writes, puts it
/// in an LZ4 *skippable frame*, so the whole file is a valid LZ4 stream (`lz4 -d FILE.snap` prints the
/// records); version 1 files (the header alone, then the LZ4 frame) are still read.
///
/// ```
/// version 2 file: 0  4 skippable frame magic 0x184D2A50 (little-endian)
///                 4  4 skippable frame size, 64
///                 8 64 the header below
///                72    the LZ4 frame
/// version 1 file: 0 64 the header below, then the LZ4 frame at 64
///
/// header: offset size field
///      0    8 magic "HLSNAPSH"
///      8    2 version (2; 1 in a version 1 file)
///     10    2 header size (64)
///     12    4 flags (0)
///     16    8 index: the last log index the snapshot includes
///     24    8 term of that entry
///     32    8 uncompressed size: bytes of the LZ4 frame's content
///     40    8 compressed size: bytes of the LZ4 frame (the rest of the file)
///     48    4 CRC32C of the LZ4 frame bytes
///     52    4 state digest: CRC32C of the uncompressed records after the header record
///     56    4 reserved (0)
///     60    4 CRC32C of bytes 0..<60 of the header
/// ```
public struct SnapshotFileHeader: Sendable, Equatable {
    /// The bytes before the LZ4 frame in a file this build writes (the skippable frame), and enough
    /// to decode the header of either version.
    public static let size = 72
    /// The header itself.
    static let headerSize = 64
    public static let magic: [UInt8] = Array("HLSNAPSH".utf8)
    /// The version this build writes.
    public static let version: UInt16 = 2
    /// LZ4's skippable frame magic numbers are 0x184D2A50 ... 0x184D2A5F; Helios uses the first.
    static let skippableFrameMagic: UInt32 = 0x184D_2A50
    /// The largest size a header may give for the frame or its content (256 TiB).
    static let maximumSize: UInt64 = 1 << 48

    public var index: UInt64
    public var term: UInt64
    public var uncompressedSize: UInt64
    public var compressedSize: UInt64
    public var frameChecksum: UInt32
    public var stateDigest: UInt32
    /// The format version of the file the header was read from (or will be written as).
    public var version: UInt16 = Self.version

    /// Where the LZ4 frame starts: 72 in a version 2 file, 64 in a version 1 file.
    public var frameOffset: Int { version == 1 ? Self.headerSize : Self.size }

    public init(index: UInt64, term: UInt64, uncompressedSize: UInt64, compressedSize: UInt64, frameChecksum: UInt32, stateDigest: UInt32) {
        self.index = index
        self.term = term
        self.uncompressedSize = uncompressedSize
        self.compressedSize = compressedSize
        self.frameChecksum = frameChecksum
        self.stateDigest = stateDigest
    }

    /// The bytes before the LZ4 frame: a version 2 skippable frame holding the header (version 1 only
    /// for tests of old files).
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        if version != 1 {
            put(Self.skippableFrameMagic)
            put(UInt32(Self.headerSize))
        }
        let start = bytes.count
        bytes += Self.magic
        put(version)
        put(UInt16(Self.headerSize))
        put(UInt32(0))
        put(index)
        put(term)
        put(uncompressedSize)
        put(compressedSize)
        put(frameChecksum)
        put(stateDigest)
        put(UInt32(0))
        put(bytes.withUnsafeBytes { CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: $0[start..<(start + 60)])) })
        return bytes
    }

    /// Decodes and checks the header at the start of a file (``size`` bytes or more; a shorter file
    /// is refused); the error says what is wrong.
    public static func decode(_ bytes: [UInt8]) -> Result<SnapshotFileHeader, SnapshotError> {
        func get<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T {
            bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        guard bytes.count >= 8 else {
            return .failure(SnapshotError("file is \(bytes.count) bytes, shorter than a snapshot header"))
        }
        // Version 2 starts with the skippable frame, version 1 with the header's magic.
        let start: Int
        let expected: UInt16
        if get(UInt32.self, 0) == skippableFrameMagic {
            guard get(UInt32.self, 4) == UInt32(headerSize) else {
                return .failure(SnapshotError("the skippable frame holding the header is \(get(UInt32.self, 4)) bytes, not \(headerSize)"))
            }
            (start, expected) = (8, 2)
        } else {
            (start, expected) = (0, 1)
        }
        guard bytes.count >= start + headerSize else {
            return .failure(SnapshotError("file is \(bytes.count) bytes, shorter than the \(start + headerSize)-byte snapshot header"))
        }
        guard Array(bytes[start..<(start + 8)]) == magic else { return .failure(SnapshotError("bad magic (not a Helios snapshot)")) }
        let stored = get(UInt32.self, start + 60)
        let computed = bytes.withUnsafeBytes { CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: $0[start..<(start + 60)])) }
        guard stored == computed else {
            return .failure(SnapshotError("header checksum mismatch (stored \(stored), computed \(computed))"))
        }
        let version = get(UInt16.self, start + 8)
        guard version == expected else {
            let layout = expected == 2 ? "in a skippable frame" : "at the start of the file"
            return .failure(SnapshotError(
                "unsupported snapshot format version \(version) for a header \(layout) (this build reads 1 and 2; a newer Helios wrote it?)"))
        }
        var header = SnapshotFileHeader(
            index: get(UInt64.self, start + 16), term: get(UInt64.self, start + 24), uncompressedSize: get(UInt64.self, start + 32),
            compressedSize: get(UInt64.self, start + 40), frameChecksum: get(UInt32.self, start + 48), stateDigest: get(UInt32.self, start + 52))
        header.version = version
        // Sizes are used as offsets: one no file can have is refused here, not trapped on later.
        for (field, value) in [("compressed", header.compressedSize), ("uncompressed", header.uncompressedSize)] where value > maximumSize {
            return .failure(SnapshotError("\(field) size \(value) is larger than any snapshot (at most 2^48 bytes): the header is damaged"))
        }
        return .success(header)
    }
}
