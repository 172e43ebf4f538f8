import HeliosLog
import HeliosState

/// The 64-byte header of a snapshot file (format v1, see `Formats/snapshot.md`).
///
/// ```
/// offset size field
///      0    8 magic "HLSNAPSH"
///      8    2 version (1)
///     10    2 header size (64)
///     12    4 flags (0)
///     16    8 index: the last log index the snapshot includes
///     24    8 term of that entry
///     32    8 uncompressed size: bytes of the LZ4 frame's content
///     40    8 compressed size: bytes of the LZ4 frame (the rest of the file)
///     48    4 CRC32C of the LZ4 frame bytes
///     52    4 state digest: CRC32C of the uncompressed records after the header record
///     56    4 reserved (0)
///     60    4 CRC32C of bytes 0..<60
/// ```
public struct SnapshotFileHeader: Sendable, Equatable {
    public static let size = 64
    public static let magic: [UInt8] = Array("HLSNAPSH".utf8)
    public static let version: UInt16 = 1

    public var index: UInt64
    public var term: UInt64
    public var uncompressedSize: UInt64
    public var compressedSize: UInt64
    public var frameChecksum: UInt32
    public var stateDigest: UInt32

    public init(index: UInt64, term: UInt64, uncompressedSize: UInt64, compressedSize: UInt64, frameChecksum: UInt32, stateDigest: UInt32) {
        self.index = index
        self.term = term
        self.uncompressedSize = uncompressedSize
        self.compressedSize = compressedSize
        self.frameChecksum = frameChecksum
        self.stateDigest = stateDigest
    }

    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        put(Self.version)
        put(UInt16(Self.size))
        put(UInt32(0))
        put(index)
        put(term)
        put(uncompressedSize)
        put(compressedSize)
        put(frameChecksum)
        put(stateDigest)
        put(UInt32(0))
        put(bytes.withUnsafeBytes { CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: $0[..<60])) })
        return bytes
    }

    /// Decodes and checks a header; the error says what is wrong.
    public static func decode(_ bytes: [UInt8]) -> Result<SnapshotFileHeader, SnapshotError> {
        guard bytes.count >= size else {
            return .failure(SnapshotError("file is \(bytes.count) bytes, shorter than the \(size)-byte snapshot header"))
        }
        guard Array(bytes[0..<8]) == magic else { return .failure(SnapshotError("bad magic (not a Helios snapshot)")) }
        func get<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T {
            bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        let stored = get(UInt32.self, 60)
        let computed = bytes.withUnsafeBytes { CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: $0[..<60])) }
        guard stored == computed else {
            return .failure(SnapshotError("header checksum mismatch (stored \(stored), computed \(computed))"))
        }
        let version = get(UInt16.self, 8)
        guard version == Self.version else {
            return .failure(SnapshotError("unsupported snapshot format version \(version) (this build reads \(Self.version))"))
        }
        return .success(SnapshotFileHeader(
            index: get(UInt64.self, 16), term: get(UInt64.self, 24), uncompressedSize: get(UInt64.self, 32),
            compressedSize: get(UInt64.self, 40), frameChecksum: get(UInt32.self, 48), stateDigest: get(UInt32.self, 52)))
    }
}
