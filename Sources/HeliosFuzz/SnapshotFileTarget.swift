import Foundation
import HeliosLog
import HeliosProto
import HeliosSnapshot
import HeliosState
import HeliosTesting

/// Reads the input as a whole snapshot file (either format version: the skippable-frame header, the
/// LZ4 frame, the records), as a server reads one received through Raft: it loads or is refused with
/// an error, never crashes; one that loads is written again and reads back as the same state.
///
/// Byte 0 picks the mode: even, the rest is the file as it is (almost every change then fails a
/// checksum); odd, the header's frame checksum and its own checksum are recomputed first, so that
/// changes reach the LZ4 decoder, the record decoder and the structure checks behind them.
enum SnapshotFileTarget: FuzzTarget {
    static let name = "snapshot"
    static let summary = "snapshot files (v1 and v2 headers, LZ4 frame, records): refused or loaded; what loads round-trips"

    static func seeds() throws -> [[UInt8]] {
        var generator = EventGenerator(seed: 5)
        var state = ClusterState()
        for index in 1...300 { state.apply(generator.next(), at: UInt64(index)) }
        let position = SnapshotPosition(index: state.appliedIndex, term: 2, voters: [1, 2, 3])
        let current = try SnapshotWriter.bytes(state, position: position, createdAtMs: 1)
        var header = try SnapshotFileHeader.decode(current).get()
        header.version = 1
        let versionOne = header.encoded() + current.dropFirst(SnapshotFileHeader.size)
        let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Formats/vectors/snapshot").standardized
        let golden = try [1, 2].map { Array(try Data(contentsOf: vectors.appendingPathComponent("v\($0)/small.snap"))) }
        return ([current, versionOne] + golden).flatMap { [[0] + $0, [1] + $0] }
    }

    static func run(_ input: [UInt8]) -> String {
        guard let mode = input.first else { return "empty" }
        guard input.count <= 4 << 20 else { return "too large" }
        var file = Array(input.dropFirst())
        if mode % 2 == 1 { repairChecksums(&file) }
        guard let loaded = try? SnapshotReader.read(bytes: file, chunkBytes: 4096, batchBytes: 4096) else { return "refused" }
        do {
            let again = try SnapshotReader.read(bytes: try SnapshotWriter.bytes(loaded.state, position: loaded.position, createdAtMs: 1))
            guard again.position == loaded.position, again.state.canonicalBytes() == loaded.state.canonicalBytes() else {
                violated("a loaded snapshot written again read back a different state or position")
            }
        } catch {
            violated("a loaded snapshot could not be written and read again: \(error)")
        }
        return "loaded v\(loaded.header.version)"
    }

    /// Recomputes the frame checksum and the header checksum where the header's fields say they are
    /// (a version 2 header in its skippable frame, else a version 1 header at byte 0).
    static func repairChecksums(_ file: inout [UInt8]) {
        func load(_ offset: Int) -> UInt32 { file.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) } }
        func store(_ value: UInt32, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { file.replaceSubrange(offset..<(offset + 4), with: $0) } }
        guard file.count >= 72 else { return }
        let start = load(0) == 0x184D_2A50 ? 8 : 0
        let frameOffset = start + 64
        let compressed = file.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start + 40, as: UInt64.self) }
        if compressed <= UInt64(file.count - frameOffset) {
            store(CRC32C.checksum(file[frameOffset..<(frameOffset + Int(compressed))]), at: start + 48)
        }
        store(CRC32C.checksum(file[start..<(start + 60)]), at: start + 60)
    }
}
