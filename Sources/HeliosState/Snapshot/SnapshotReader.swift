import CCRC32C
import HeliosCompression
import HeliosLog
import HeliosProto
import SwiftProtobuf

/// Reads snapshots as a stream: a chunk of the LZ4 frame is decompressed and its complete records are
/// decoded before the next chunk is read.
public enum SnapshotReader {
    /// A snapshot read back.
    public struct Loaded: Sendable {
        public var header: SnapshotFileHeader
        public var position: SnapshotPosition
        public var state: ClusterState
    }

    /// Reads and checks the snapshot file at `path` (header, frame checksum, LZ4 content checksum,
    /// record structure, trailer counts, state digest).
    public static func read(path: String, fileSystem: any FileSystem = PosixFileSystem()) throws -> Loaded {
        let file: any File
        do {
            file = try fileSystem.openFile(path, create: false, readOnly: true)
        } catch {
            throw SnapshotError("snapshot \(path): \(error)")
        }
        return try read(name: path) { offset, count in try file.readUpTo(count, at: Int64(offset)) }
    }

    /// Reads a snapshot held in memory (one received through Raft).
    public static func read(bytes: [UInt8], name: String = "snapshot") throws -> Loaded {
        try read(name: name) { offset, count in
            Array(bytes[min(offset, bytes.count)..<min(offset + count, bytes.count)])
        }
    }

    /// Checks a snapshot held in memory without decoding the state: header, frame checksum, and the
    /// first (header) record for the Raft position. Full checks happen when it is read.
    public static func peek(bytes: [UInt8], name: String = "snapshot") throws -> (header: SnapshotFileHeader, position: SnapshotPosition) {
        let header = try SnapshotFileHeader.decode(Array(bytes.prefix(SnapshotFileHeader.size))).mapError {
            SnapshotError("snapshot \(name): \($0.message)")
        }.get()
        let end = SnapshotFileHeader.size + Int(header.compressedSize)
        guard bytes.count == end else {
            throw SnapshotError("snapshot \(name): \(bytes.count) bytes, the header says \(end)")
        }
        let checksum = bytes.withUnsafeBytes { helios_crc32c_extend(0, $0.baseAddress! + SnapshotFileHeader.size, Int(header.compressedSize)) }
        guard checksum == header.frameChecksum else {
            throw SnapshotError("snapshot \(name): frame checksum mismatch (stored \(header.frameChecksum), computed \(checksum))")
        }
        let decoder = try LZ4FrameDecoder()
        var content: [UInt8] = []
        var offset = SnapshotFileHeader.size
        while offset < end {
            let chunk = Array(bytes[offset..<min(offset + (64 << 10), end)])
            offset += chunk.count
            try decoder.update(chunk, into: &content)
            if case .value(let length, let prefix) = content.withUnsafeBytes({ Varint.read($0, at: 0) }), content.count >= prefix + Int(length) {
                let record = try Helios_V1_SnapshotRecord(serializedBytes: Array(content[prefix..<(prefix + Int(length))]))
                guard case .header(let first) = record.record else { throw SnapshotError("snapshot \(name): first record is not a header") }
                return (header, SnapshotPosition(index: first.index, term: first.term, voters: first.voters, learners: first.learners))
            }
        }
        throw SnapshotError("snapshot \(name): no header record")
    }

    /// Reads only the header.
    public static func header(path: String, fileSystem: any FileSystem = PosixFileSystem()) throws -> SnapshotFileHeader {
        let file = try fileSystem.openFile(path, create: false, readOnly: true)
        return try SnapshotFileHeader.decode(file.readUpTo(SnapshotFileHeader.size, at: 0)).mapError {
            SnapshotError("snapshot \(path): \($0.message)")
        }.get()
    }

    static func read(name: String, source: (Int, Int) throws -> [UInt8]) throws -> Loaded {
        let header = try SnapshotFileHeader.decode(source(0, SnapshotFileHeader.size)).mapError {
            SnapshotError("snapshot \(name): \($0.message)")
        }.get()
        let decoder = try LZ4FrameDecoder()
        var builder = ClusterStateBuilder()
        var pending: [UInt8] = []
        var consumed = 0
        var frameChecksum: UInt32 = 0
        var digest: UInt32 = 0
        var uncompressed: UInt64 = 0
        var offset = SnapshotFileHeader.size
        let end = SnapshotFileHeader.size + Int(header.compressedSize)
        while offset < end {
            let chunk = try source(offset, min(1 << 20, end - offset))
            if chunk.isEmpty {
                throw SnapshotError("snapshot \(name): ends at byte \(offset), before the \(header.compressedSize)-byte frame does")
            }
            frameChecksum = chunk.withUnsafeBytes { helios_crc32c_extend(frameChecksum, $0.baseAddress, $0.count) }
            offset += chunk.count
            let before = pending.count
            do {
                try decoder.update(chunk, into: &pending)
            } catch {
                throw SnapshotError("snapshot \(name): the LZ4 frame is damaged near byte \(offset): \(error.reason)")
            }
            uncompressed += UInt64(pending.count - before)
            try decodeRecords(&pending, consumed: &consumed, builder: &builder, digest: &digest, name: name)
        }
        do {
            try decoder.finish()
        } catch {
            throw SnapshotError("snapshot \(name): \(error.reason)")
        }
        guard frameChecksum == header.frameChecksum else {
            throw SnapshotError("snapshot \(name): frame checksum mismatch (stored \(header.frameChecksum), computed \(frameChecksum))")
        }
        guard pending.count == consumed else {
            throw SnapshotError("snapshot \(name): \(pending.count - consumed) bytes of an incomplete record at the end")
        }
        guard uncompressed == header.uncompressedSize else {
            throw SnapshotError("snapshot \(name): content is \(uncompressed) bytes, the header says \(header.uncompressedSize)")
        }
        guard digest == header.stateDigest else {
            throw SnapshotError("snapshot \(name): state digest mismatch")
        }
        let (position, state) = try builder.finish()
        guard position.index == header.index, position.term == header.term else {
            throw SnapshotError("snapshot \(name): header says \(header.index)@\(header.term), records say \(position.index)@\(position.term)")
        }
        return Loaded(header: header, position: position, state: state)
    }

    /// Decodes every complete record in `pending[consumed...]`, then drops consumed bytes.
    private static func decodeRecords(
        _ pending: inout [UInt8], consumed: inout Int, builder: inout ClusterStateBuilder, digest: inout UInt32, name: String
    ) throws {
        while true {
            let next = pending.withUnsafeBytes { Varint.read($0, at: consumed) }
            let length: Int
            let prefix: Int
            switch next {
            case .incomplete:
                if consumed > 1 << 20 {
                    pending.removeSubrange(0..<consumed)
                    consumed = 0
                }
                return
            case .invalid:
                throw SnapshotError("snapshot \(name): record \(builder.records + 1) has an invalid length prefix")
            case .value(let value, let size):
                guard value <= UInt64(Int32.max) else {
                    throw SnapshotError("snapshot \(name): record \(builder.records + 1) claims \(value) bytes")
                }
                length = Int(value)
                prefix = size
            }
            let start = consumed + prefix
            guard start + length <= pending.count else { return }
            let record: Helios_V1_SnapshotRecord
            do {
                record = try Helios_V1_SnapshotRecord(serializedBytes: Array(pending[start..<(start + length)]))
            } catch {
                throw SnapshotError("snapshot \(name): record \(builder.records + 1) does not decode: \(error)")
            }
            if case .header = record.record {} else {
                let from = consumed
                digest = pending.withUnsafeBytes { helios_crc32c_extend(digest, $0.baseAddress! + from, start + length - from) }
            }
            try builder.add(record)
            consumed = start + length
        }
    }
}
