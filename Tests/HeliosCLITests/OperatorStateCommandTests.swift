import Foundation
import HeliosLog
import HeliosRaft
import HeliosState
import HeliosTesting
import Logging
import SwiftProtobuf
import Testing

@Suite("helios operator state / snapshot (the binary)")
struct OperatorStateCommandTests {
    /// A stopped server's data directory: bootstrap entries, `events` generated events, hard state.
    static func makeDataDirectory(_ directory: TemporaryDirectory, events: Int, seed: UInt64 = 5) async throws -> (String, ClusterState) {
        var configuration = LogConfiguration()
        configuration.segmentSize = 32 << 10
        configuration.logger = .quiet
        let log = try SegmentedLog.open(directory: directory.appending("log"), configuration: configuration)
        for entry in RaftBootstrap.entries(for: ConfigurationState(voters: [1, 2, 3])) {
            try await log.append([LogEntry(index: entry.index, term: entry.term, type: entry.kind.rawValue, payload: entry.data)])
        }
        var generator = EventGenerator(seed: seed)
        var state = ClusterState()
        for _ in 0..<events {
            let index = log.lastIndex + 1
            let event = generator.next()
            try await log.append([LogEntry(index: index, term: 2, type: 0, payload: try event.serializedBytes())])
            state.apply(event, at: index)
        }
        let last = log.lastIndex
        await log.close()
        try HardStateFile(directory: directory.path).save(.init(term: 2, votedFor: 1, commitIndex: last))
        return (directory.path, state)
    }

    static func digest(_ output: ProcessOutput) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])?["digest"] as? String
    }

    @Test("log dump decodes events; state rebuilds the projection at any index, the same in every process")
    func dumpAndState() async throws {
        try await TemporaryDirectory.with("cli-state") { directory in
            let (data, state) = try await Self.makeDataDirectory(directory, events: 600)
            let dump = try await runHelios(["operator", "log", "dump", "--data-dir", data, "--from", "1", "--to", "6"])
            #expect(dump.status == 0, "\(dump.stderr)")
            #expect(dump.stdout.contains("configuration: addVoter 1"))
            let json = try await runHelios(["operator", "log", "dump", "--data-dir", data, "--json", "--from", "4", "--to", "40"])
            #expect(json.stdout.contains("\"event\""), "JSON lines carry the decoded event")

            let summary = try await runHelios(["operator", "state", "--data-dir", data])
            #expect(summary.status == 0, "\(summary.stderr)")
            #expect(summary.stdout.contains("at index \(state.appliedIndex)"))
            #expect(summary.stdout.contains("voters [1, 2, 3]"))
            // Two processes (different hash seeds) compute the same digest.
            let first = try await runHelios(["operator", "state", "--data-dir", data, "--json"])
            let second = try await runHelios(["operator", "state", "--data-dir", data, "--json"])
            #expect(Self.digest(first) != nil && Self.digest(first) == Self.digest(second))
            // Time travel.
            let early = try await runHelios(["operator", "state", "--data-dir", data, "--at-index", "100", "--json"])
            let earlyIndex = (try JSONSerialization.jsonObject(with: Data(early.stdout.utf8)) as? [String: Any])?["index"] as? Int
            #expect(earlyIndex == 100)
            let past = try await runHelios(["operator", "state", "--data-dir", data, "--at-index", "99999"])
            #expect(past.status != 0 && past.stderr.contains("past the end of the log"))
        }
    }

    @Test("snapshot compact keeps the state, drops segments, and refuses a locked data directory")
    func compact() async throws {
        try await TemporaryDirectory.with("cli-compact") { directory in
            let (data, _) = try await Self.makeDataDirectory(directory, events: 2000)
            let before = try await runHelios(["operator", "state", "--data-dir", data, "--json"])
            let segmentsBefore = try FileManager.default.contentsOfDirectory(atPath: data + "/log").filter { $0.hasSuffix(".seg") }.count

            // A live server holds the lock: compaction refuses with a clear message.
            var configuration = LogConfiguration()
            configuration.logger = .quiet
            let holder = try SegmentedLog.open(directory: data + "/log", configuration: configuration)
            let refused = try await runHelios(["operator", "snapshot", "compact", "--data-dir", data])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("locked by process") && refused.stderr.contains("stopped server"))
            await holder.close()

            let compacted = try await runHelios(["operator", "snapshot", "compact", "--data-dir", data, "--retain", "10"])
            #expect(compacted.status == 0, "\(compacted.stdout)\(compacted.stderr)")
            #expect(compacted.stdout.contains("compacted") && compacted.stdout.contains("entries dropped"))
            let segmentsAfter = try FileManager.default.contentsOfDirectory(atPath: data + "/log").filter { $0.hasSuffix(".seg") }.count
            #expect(segmentsAfter < segmentsBefore)
            let after = try await runHelios(["operator", "state", "--data-dir", data, "--json"])
            #expect(Self.digest(after) == Self.digest(before), "compaction must not change the state")

            // The snapshot file it wrote inspects clean; a damaged copy does not.
            let snapshot = try #require(try FileManager.default.contentsOfDirectory(atPath: data + "/snapshots").first { $0.hasSuffix(".snap") })
            let inspect = try await runHelios(["operator", "snapshot", "inspect", data + "/snapshots/" + snapshot])
            #expect(inspect.status == 0)
            #expect(inspect.stdout.contains("checksums:     ok") && inspect.stdout.contains("jobs"))
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: data + "/snapshots/" + snapshot)))
            bytes[bytes.count - 20] ^= 0x55
            try Data(bytes).write(to: URL(fileURLWithPath: directory.appending("damaged.snap")))
            let damaged = try await runHelios(["operator", "snapshot", "inspect", directory.appending("damaged.snap"), "--json"])
            #expect(damaged.status == 1)
            #expect(damaged.stdout.contains("BAD"))
        }
    }
}
