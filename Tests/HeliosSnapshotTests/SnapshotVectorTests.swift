import Foundation
import HeliosProto
import HeliosState
import HeliosTesting
import SwiftProtobuf
import Testing
@testable import HeliosSnapshot

/// `Formats/vectors/snapshot/v<N>/`: a snapshot of a fixed event sequence in each format version and
/// its description. `HELIOS_REWRITE_VECTORS=1` rewrites the current version's (only for a new format
/// version); older versions' vectors are never rewritten, and must still read.
@Suite("Snapshot format golden vectors")
struct SnapshotVectorTests {
    static func folder(_ version: UInt16) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Formats/vectors/snapshot/v\(version)").path
    }

    /// The fixed state: two nodes, two jobs (one with two versions), a plan, reports.
    static func state() -> ClusterState {
        var state = ClusterState()
        func event(_ build: (inout Event) -> Void) -> Event {
            var event = Event()
            event.timeMs = 1_700_000_000_000
            build(&event)
            return event
        }
        var index: UInt64 = 3  // after the bootstrap entries
        func apply(_ e: Event) {
            index += 1
            state.apply(e, at: index)
        }
        apply(event { $0.nodeRegistered = .with { $0.node = EventGenerator.node(id: "node-a") } })
        apply(event { $0.nodeRegistered = .with { $0.node = EventGenerator.node(id: "node-b", cpu: 2000, memory: 4096) } })
        apply(event { $0.jobRegistered = .with { $0.spec = JobSpecFixture.spec(id: "web", count: 2); $0.evaluation = EventGenerator.evaluation(id: "eval-1", job: "web") } })
        apply(event { $0.jobRegistered = .with { $0.spec = JobSpecFixture.spec(id: "web", count: 3) } })
        apply(event { $0.jobRegistered = .with { $0.spec = JobSpecFixture.spec(id: "batch", type: .batch, count: 1); $0.evaluation = EventGenerator.evaluation(id: "eval-2", job: "batch") } })
        apply(event {
            $0.allocationsPlanned = .with {
                $0.evaluationID = "eval-1"
                $0.placed = ["a1": "node-a", "a2": "node-b"].sorted { $0.key < $1.key }.map { id, node in
                    .with { $0.id = id; $0.jobID = "web"; $0.jobVersion = 1; $0.taskGroup = "main"; $0.nodeID = node; $0.resources = .with { $0.cpuMhz = 100; $0.memoryMb = 64 } }
                }
            }
        })
        apply(event { $0.allocationClientUpdated = .with { $0.updates = [.with { $0.allocationID = "a1"; $0.clientStatus = .running }] } })
        apply(event { $0.evaluationCompleted = .with { $0.evaluationID = "eval-1"; $0.status = .complete } })
        apply(event { $0.clusterConfigurationChanged = .with { $0.members = [.with { $0.id = 1; $0.address = "127.0.0.1:50051"; $0.voter = true }] } })
        return state
    }

    static let position = SnapshotPosition(index: 12, term: 2, voters: [1, 2, 3])

    static func describe(_ loaded: SnapshotReader.Loaded, content: [UInt8]) throws -> String {
        let h = loaded.header
        var lines = [
            "header: magic HLSNAPSH, version \(h.version), index \(h.index), term \(h.term), uncompressed \(h.uncompressedSize) bytes, "
                + "state digest 0x\(String(h.stateDigest, radix: 16))",
            "position: index \(loaded.position.index), term \(loaded.position.term), voters \(loaded.position.voters), learners \(loaded.position.learners)",
        ]
        // Every record of the content, in protobuf text format.
        var offset = 0
        while offset < content.count {
            var length = 0
            var shift = 0
            while true {
                let byte = content[offset]
                offset += 1
                length |= Int(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            let record = try Helios_V1_SnapshotRecord(serializedBytes: Array(content[offset..<(offset + length)]))
            lines.append("record (\(length) bytes): " + record.textFormatString().replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces))
            offset += length
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("each version's vector decodes to its description, and its content is reproduced byte for byte", arguments: [UInt16(1), 2])
    func vector(version: UInt16) async throws {
        let folder = Self.folder(version)
        let snapshotPath = folder + "/small.snap"
        let descriptionPath = folder + "/small.txt"
        let state = Self.state()
        func content(_ loaded: SnapshotReader.Loaded) throws -> [UInt8] {
            try HeliosCompressionShim.decompress([UInt8](try Data(contentsOf: URL(fileURLWithPath: snapshotPath)).dropFirst(loaded.header.frameOffset)))
        }
        if version == SnapshotFileHeader.version && ProcessInfo.processInfo.environment["HELIOS_REWRITE_VECTORS"] == "1" {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try SnapshotWriter.write(state, position: Self.position, createdAtMs: 1_700_000_000_000, to: snapshotPath)
            let loaded = try SnapshotReader.read(path: snapshotPath)
            try Self.describe(loaded, content: try content(loaded)).write(toFile: descriptionPath, atomically: true, encoding: .utf8)
        }
        let loaded = try SnapshotReader.read(path: snapshotPath)
        #expect(loaded.header.version == version)
        let vectorContent = try content(loaded)
        #expect(try Self.describe(loaded, content: vectorContent) == String(contentsOfFile: descriptionPath, encoding: .utf8))
        // The writer produces the same content (compressed bytes may differ across liblz4 versions).
        let fresh = try SnapshotWriter.bytes(state, position: Self.position, createdAtMs: 1_700_000_000_000)
        let freshContent = try HeliosCompressionShim.decompress(Array(fresh.dropFirst(SnapshotFileHeader.size)))
        #expect(freshContent == vectorContent)
        #expect(loaded.state.canonicalBytes() == state.canonicalBytes())
    }
}
