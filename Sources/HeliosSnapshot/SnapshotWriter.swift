import HeliosCompression
import HeliosLog
import HeliosProto
import HeliosState
import SwiftProtobuf

/// Writes a snapshot of a ``ClusterState`` as a stream: records are serialized and compressed a chunk
/// at a time and written as they are produced, so memory stays bounded whatever the state's size.
public enum SnapshotWriter {
    /// What was written.
    public struct Summary: Sendable, Equatable {
        public var header: SnapshotFileHeader
        public var fileSize: Int64
    }

    /// Writes the snapshot to `path` atomically: into `path.tmp`, fsync, rename, fsync the directory.
    @discardableResult
    public static func write(
        _ state: ClusterState, position: SnapshotPosition, createdAtMs: UInt64, to path: String,
        fileSystem: any FileSystem = PosixFileSystem()
    ) throws -> Summary {
        let temporary = path + ".tmp"
        let file = try fileSystem.openFile(temporary, create: true, readOnly: false)
        try file.truncate(to: 0)
        var offset = Int64(SnapshotFileHeader.size)
        var frameChecksum: UInt32 = 0
        func flush(_ bytes: inout [UInt8]) throws {
            guard !bytes.isEmpty else { return }
            try file.write(bytes, at: offset)
            frameChecksum = bytes.withUnsafeBytes { CRC32C.extend(frameChecksum, $0) }
            offset += Int64(bytes.count)
            bytes.removeAll(keepingCapacity: true)
        }
        let (uncompressed, digest) = try encodeFrame({ emit in
            try state.forEachSnapshotRecordSource(position, createdAtMs: createdAtMs, emit)
        }, output: flush)
        let header = SnapshotFileHeader(
            index: position.index, term: position.term, uncompressedSize: uncompressed,
            compressedSize: UInt64(offset - Int64(SnapshotFileHeader.size)), frameChecksum: frameChecksum, stateDigest: digest)
        try file.write(header.encoded(), at: 0)
        try file.synchronize()
        try fileSystem.rename(temporary, to: path)
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        try fileSystem.synchronizeDirectory(directory.isEmpty ? "." : directory)
        return Summary(header: header, fileSize: offset)
    }

    /// The snapshot as bytes in memory (what Raft sends to a lagging follower).
    public static func bytes(_ state: ClusterState, position: SnapshotPosition, createdAtMs: UInt64) throws -> [UInt8] {
        try bytes(position: position, sources: { emit in try state.forEachSnapshotRecordSource(position, createdAtMs: createdAtMs, emit) })
    }

    /// A snapshot of the records `produce` emits, in its order (tests write other orders with it).
    static func bytes(
        position: SnapshotPosition, _ produce: ((Helios_V1_SnapshotRecord) throws -> Void) throws -> Void
    ) throws -> [UInt8] {
        try bytes(position: position, sources: { emit in
            // `produce` calls the closure synchronously (see `encodeFrame`).
            try withoutActuallyEscaping(emit) { emit in try produce { try emit(.message($0)) } }
        })
    }

    /// A snapshot of the records `produce` emits, kept records as they are.
    static func bytes(
        position: SnapshotPosition, sources produce: ((SnapshotRecordSource) throws -> Void) throws -> Void
    ) throws -> [UInt8] {
        var frame: [UInt8] = []
        let (uncompressed, digest) = try encodeFrame(produce) { compressed in
            frame.append(contentsOf: compressed)
            compressed.removeAll(keepingCapacity: true)
        }
        let checksum = frame.withUnsafeBytes { CRC32C.extend(0, $0) }
        let header = SnapshotFileHeader(
            index: position.index, term: position.term, uncompressedSize: uncompressed,
            compressedSize: UInt64(frame.count), frameChecksum: checksum, stateDigest: digest)
        return header.encoded() + frame
    }

    /// Serializes the records `produce` emits, each with its varint length, into one LZ4 frame with
    /// its content checksum, handing compressed bytes to `output` as they come (about every MiB of
    /// records; `output` takes them out of the buffer). Returns the content's size and the state
    /// digest (CRC32C over every record but the header, as written).
    private static func encodeFrame(
        _ produce: ((SnapshotRecordSource) throws -> Void) throws -> Void, output: (inout [UInt8]) throws -> Void
    ) throws -> (uncompressed: UInt64, digest: UInt32) {
        let encoder = try LZ4FrameEncoder(contentChecksum: true, blockSize: .mib4)
        var compressed = try encoder.begin()
        var payload: [UInt8] = []
        payload.reserveCapacity(1 << 20)
        var digest: UInt32 = 0
        var uncompressed: UInt64 = 0
        // `produce` calls the record closure synchronously; `output` only looks escaping to the
        // exclusivity rules for closures passed to closures.
        try withoutActuallyEscaping(output) { output in
            try produce { source in
                let start = payload.count
                switch source {
                case .message(let record):
                    let encoded: [UInt8] = try record.serializedBytes()
                    Varint.append(UInt64(encoded.count), to: &payload)
                    payload.append(contentsOf: encoded)
                case .kept(let kind, let bytes):
                    // The record is one length-delimited field: its key, the message's length, the message.
                    let key = kind.rawValue << 3 | 2
                    Varint.append(UInt64(1 + Varint.size(UInt64(bytes.count)) + Int(bytes.count)), to: &payload)
                    payload.append(key)
                    Varint.append(UInt64(bytes.count), to: &payload)
                    bytes.withUnsafeBytes { payload.append(contentsOf: $0) }
                }
                if case .message(let record) = source, case .header = record.record {} else {
                    digest = payload.withUnsafeBytes { CRC32C.extend(digest, UnsafeRawBufferPointer(rebasing: $0[start...])) }
                }
                if payload.count >= 1 << 20 {
                    uncompressed += UInt64(payload.count)
                    try encoder.update(payload, into: &compressed)
                    payload.removeAll(keepingCapacity: true)
                    try output(&compressed)
                }
            }
        }
        uncompressed += UInt64(payload.count)
        try encoder.update(payload, into: &compressed)
        try encoder.finish(into: &compressed)
        try output(&compressed)
        return (uncompressed, digest)
    }
}
