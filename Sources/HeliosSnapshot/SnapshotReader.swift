import Dispatch
import HeliosCompression
import HeliosLog
import HeliosProto
import HeliosState
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

    /// Reads a snapshot held in memory (one received through Raft). `chunkBytes` is how much of the
    /// frame is decompressed at a time; `batchBytes` how many bytes of records are at most decoded as
    /// one batch (a batch's records reach the state together).
    public static func read(
        bytes: [UInt8], name: String = "snapshot", chunkBytes: Int = 256 << 10, batchBytes: Int = defaultBatchBytes
    ) throws -> Loaded {
        try read(name: name, chunkBytes: chunkBytes, batchBytes: batchBytes) { offset, count in
            Array(bytes[min(offset, bytes.count)..<min(offset + count, bytes.count)])
        }
    }

    /// Checks a snapshot held in memory without decoding the state: header, frame checksum, and the
    /// first (header) record for the Raft position. Full checks happen when it is read.
    public static func peek(bytes: [UInt8], name: String = "snapshot") throws -> (header: SnapshotFileHeader, position: SnapshotPosition) {
        let header = try SnapshotFileHeader.decode(Array(bytes.prefix(SnapshotFileHeader.size))).mapError {
            SnapshotError("snapshot \(name): \($0.message)")
        }.get()
        let end = header.frameOffset + Int(header.compressedSize)
        guard bytes.count == end else {
            throw SnapshotError("snapshot \(name): \(bytes.count) bytes, the header says \(end)")
        }
        let checksum = bytes.withUnsafeBytes {
            CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: $0[header.frameOffset..<end]))
        }
        guard checksum == header.frameChecksum else {
            throw SnapshotError("snapshot \(name): frame checksum mismatch (stored \(header.frameChecksum), computed \(checksum))")
        }
        let decoder = try LZ4FrameDecoder()
        var content: [UInt8] = []
        var offset = header.frameOffset
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

    /// Decodes one snapshot record (its bytes without the length prefix) as a read does: canonical
    /// records through the specialised decoder, anything else through SwiftProtobuf. The result, or
    /// the error, is always SwiftProtobuf's (`helios-fuzz record` holds it to that).
    public static func decodeRecord(_ bytes: [UInt8]) throws -> Helios_V1_SnapshotRecord {
        try bytes.withUnsafeBytes { try SnapshotRecordDecoder.decode($0) }
    }

    /// Reads only the header.
    public static func header(path: String, fileSystem: any FileSystem = PosixFileSystem()) throws -> SnapshotFileHeader {
        let file = try fileSystem.openFile(path, create: false, readOnly: true)
        return try SnapshotFileHeader.decode(file.readUpTo(SnapshotFileHeader.size, at: 0)).mapError {
            SnapshotError("snapshot \(path): \($0.message)")
        }.get()
    }

    /// Records decoded as one batch: small enough that the decoding and indexing threads share the
    /// work evenly to the end, large enough that handing batches over costs nothing measurable.
    public static let defaultBatchBytes = 256 << 10

    static func read(
        name: String, chunkBytes: Int = 256 << 10, batchBytes: Int = defaultBatchBytes, source: (Int, Int) throws -> [UInt8]
    ) throws -> Loaded {
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
        var recordsCut = 0
        var inFlight: [RecordBatch] = []
        let depth = 8
        // Two decoding threads take turns with the batches (decoding some kinds, checking the kinds kept
        // encoded: see RecordTable); two more build the indexes from the decoded batches
        // (SnapshotIndexBuilder, which does not depend on their order) while this one adds the records
        // to the tables, in order. Jobs, the costliest records to read, come last in a snapshot, when
        // the index threads have little left to do.
        let decoding = [DispatchQueue(label: "helios.snapshot.decode.0"), DispatchQueue(label: "helios.snapshot.decode.1")]
        var batches = 0
        var offset = header.frameOffset
        let end = header.frameOffset + Int(header.compressedSize)
        while offset < end {
            let chunk = try source(offset, min(max(chunkBytes, 64), end - offset))
            if chunk.isEmpty {
                throw SnapshotError("snapshot \(name): ends at byte \(offset), before the \(header.compressedSize)-byte frame does")
            }
            frameChecksum = chunk.withUnsafeBytes { CRC32C.extend(frameChecksum, $0) }
            offset += chunk.count
            let before = pending.count
            do {
                try decoder.update(chunk, into: &pending)
            } catch {
                throw SnapshotError("snapshot \(name): the LZ4 frame is damaged near byte \(offset): \(error.reason)")
            }
            uncompressed += UInt64(pending.count - before)
            // An LZ4 block (up to 4 MiB of records) comes out of the decoder whole: cut it into batches.
            while let batch = try cutRecords(&pending, consumed: &consumed, recordsCut: &recordsCut, batchBytes: batchBytes, name: name) {
                batch.start(on: decoding[batches % decoding.count], indexing: builder.indexes)
                batches += 1
                inFlight.append(batch)
                // Bounded memory: at most `depth` batches are decoded ahead of the state.
                while inFlight.count > depth { try add(inFlight.removeFirst(), to: &builder, digest: &digest, name: name) }
            }
            // Drop what was cut, once the block's records are (not for each batch: that would move the
            // rest of a 4 MiB block down every time).
            if consumed > 1 << 20 {
                pending.removeSubrange(0..<consumed)
                consumed = 0
            }
        }
        for batch in inFlight { try add(batch, to: &builder, digest: &digest, name: name) }
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

    /// Cuts the complete records at `pending[consumed...]`, up to about `batchBytes` of them, into a
    /// batch (its own copy of the bytes); nil when no record is complete yet.
    private static func cutRecords(
        _ pending: inout [UInt8], consumed: inout Int, recordsCut: inout Int, batchBytes: Int, name: String
    ) throws -> RecordBatch? {
        var ranges: [RecordBatch.Framed] = []
        let first = consumed
        while consumed - first < batchBytes {
            let next = pending.withUnsafeBytes { Varint.read($0, at: consumed) }
            guard case .value(let value, let prefix) = next else {
                if case .invalid = next {
                    throw SnapshotError("snapshot \(name): record \(recordsCut + ranges.count + 1) has an invalid length prefix")
                }
                break
            }
            guard value <= UInt64(Int32.max) else {
                throw SnapshotError("snapshot \(name): record \(recordsCut + ranges.count + 1) claims \(value) bytes")
            }
            let start = consumed + prefix
            guard start + Int(value) <= pending.count else { break }
            ranges.append(RecordBatch.Framed(prefix: consumed - first, payload: start - first, end: start - first + Int(value)))
            consumed = start + Int(value)
        }
        let batch = ranges.isEmpty ? nil : RecordBatch(bytes: Array(pending[first..<consumed]), ranges: ranges, firstRecord: recordsCut)
        recordsCut += ranges.count
        return batch
    }

    /// Adds a decoded batch to the state in order, extending the state digest over its records.
    private static func add(_ batch: RecordBatch, to builder: inout ClusterStateBuilder, digest: inout UInt32, name: String) throws {
        batch.wait()
        if let failure = batch.failure {
            throw SnapshotError("snapshot \(name): record \(failure.record) does not decode: \(failure.error)")
        }
        batch.bytes.withUnsafeBytes { bytes in
            for (kind, range) in zip(batch.decoded.kinds, batch.ranges) where kind != .header {
                // The digest covers each record with its length prefix, as written.
                digest = CRC32C.extend(digest, UnsafeRawBufferPointer(rebasing: bytes[range.prefix..<range.end]))
            }
        }
        try builder.add(batch.decoded)
    }
}

/// Complete records cut from the decompressed stream, decoded on another thread while the reader
/// decompresses further and adds earlier batches to the state (protobuf decoding is most of a load).
final class RecordBatch: @unchecked Sendable {
    // @unchecked: `decoded` and `failure` are written only by the decoding work item, before it
    // signals `done`; they are read only after `wait()`.
    let bytes: [UInt8]
    /// Where each record sits in `bytes`: its length prefix, its payload, its end.
    struct Framed {
        var prefix: Int
        var payload: Int
        var end: Int
    }
    let ranges: [Framed]
    let firstRecord: Int
    private(set) var decoded = DecodedRecords()
    private(set) var failure: (record: Int, error: any Error)?
    private let done = DispatchSemaphore(value: 0)

    init(bytes: [UInt8], ranges: [Framed], firstRecord: Int) {
        self.bytes = bytes
        self.ranges = ranges
        self.firstRecord = firstRecord
    }

    /// Starts decoding on `queue`; a batch that decodes goes on to `indexes` (in any order) as well as
    /// to the reader (in order, through ``wait()``).
    func start(on queue: DispatchQueue, indexing indexes: SnapshotIndexBuilder) {
        queue.async {
            self.decode()
            if self.failure == nil { indexes.add(self.decoded) }
            self.done.signal()
        }
    }

    func wait() { done.wait() }

    private func decode() {
        // A local, not the property: an access to a class's property in the loop is checked for
        // exclusivity every time.
        var decoded = DecodedRecords()
        decoded.kinds.reserveCapacity(ranges.count)
        bytes.withUnsafeBytes { all in
            decoded.source = (bytes, UInt(bitPattern: all.baseAddress))
            for (offset, range) in ranges.enumerated() {
                do {
                    try SnapshotRecordDecoder.decode(UnsafeRawBufferPointer(rebasing: all[range.payload..<range.end]), into: &decoded)
                } catch {
                    failure = (firstRecord + offset + 1, error)
                    return
                }
            }
        }
        decoded.source = nil
        self.decoded = decoded
    }
}
