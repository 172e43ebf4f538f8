import CCRC32C
import Foundation
import HeliosLog
import HeliosProto
import HeliosRaft
@testable import HeliosState
import HeliosTesting
import Logging
import SwiftProtobuf
import Testing
@testable import HeliosSnapshot

@Suite("Snapshots")
struct SnapshotTests {
    static func state(seed: UInt64, events: Int) -> ClusterState {
        var generator = EventGenerator(seed: seed)
        var state = ClusterState()
        for index in 1...UInt64(events) { state.apply(generator.next(), at: index) }
        return state
    }

    @Test("a snapshot file round-trips the state byte for byte, with its Raft position")
    func roundTrip() async throws {
        try await TemporaryDirectory.with("snapshot") { directory in
            let state = Self.state(seed: 7, events: 3000)
            let position = SnapshotPosition(index: state.appliedIndex, term: 4, voters: [1, 2, 3], learners: [4])
            let path = directory.appending("s.snap")
            let summary = try SnapshotWriter.write(state, position: position, createdAtMs: 123, to: path)
            let loaded = try SnapshotReader.read(path: path)
            #expect(loaded.position == position)
            #expect(loaded.header == summary.header)
            #expect(loaded.state.canonicalBytes() == state.canonicalBytes())
            #expect(loaded.state.appliedIndex == state.appliedIndex)
            #expect(summary.header.compressedSize < summary.header.uncompressedSize)
            // Indexes are rebuilt.
            let job = try #require(state.jobs.keys.sorted().first)
            #expect(loaded.state.allocations(ofJob: job).map(\.id) == state.allocations(ofJob: job).map(\.id))
            // The in-memory form (Raft InstallSnapshot) is the same snapshot.
            let bytes = try SnapshotWriter.bytes(state, position: position, createdAtMs: 123)
            #expect(try SnapshotReader.read(bytes: bytes).state.canonicalBytes() == state.canonicalBytes())
        }
    }

    @Test("a snapshot read in several batches (decoded on two other threads) indexes every allocation and evaluation as apply did")
    func indexesAfterBatchedRead() throws {
        let state = Self.state(seed: 21, events: 4_000)
        let bytes = try SnapshotWriter.bytes(state, position: SnapshotPosition(index: state.appliedIndex, term: 1), createdAtMs: 0)
        // Batches of 2 KiB of records: dozens of them, several in flight at once.
        #expect(bytes.count > 40 << 10)
        let loaded = try SnapshotReader.read(bytes: bytes, chunkBytes: 2048, batchBytes: 2048).state
        #expect(loaded.canonicalBytes() == state.canonicalBytes())
        Self.expectSameIndexes(loaded, as: state)
    }

    @Test("jobs, allocations and evaluations loaded from a snapshot stay encoded until apply changes them; reads and later events see the same state")
    func keptRecordsStayEncoded() throws {
        var generator = EventGenerator(seed: 5)
        var state = ClusterState()
        for index in 1...UInt64(3000) { state.apply(generator.next(), at: index) }
        let bytes = try SnapshotWriter.bytes(state, position: SnapshotPosition(index: state.appliedIndex, term: 1), createdAtMs: 0)
        var loaded = try SnapshotReader.read(bytes: bytes).state
        #expect(loaded.jobs.count == state.jobs.count && loaded.jobs.count > 10)
        #expect(loaded.jobs.encodedCount == loaded.jobs.count)
        #expect(loaded.allocations.count == state.allocations.count && loaded.allocations.encodedCount == loaded.allocations.count)
        #expect(loaded.evaluations.count == state.evaluations.count && loaded.evaluations.encodedCount == loaded.evaluations.count)
        for id in state.evaluations.keys {
            #expect(loaded.evaluations.contains(id))
            #expect(loaded.evaluations[id] == state.evaluations[id])
        }
        for id in state.allocations.keys {
            #expect(loaded.allocations.contains(id))
            #expect(loaded.allocations[id] == state.allocations[id])
        }
        for id in state.jobs.keys {
            #expect(loaded.jobs.contains(id))
            #expect(loaded.job(id) == state.job(id))
            #expect(loaded.latestSpec(id) == state.latestSpec(id))
        }
        #expect(loaded.sortedJobs == state.sortedJobs)
        // Kept records point into the buffers of the batches they were read in (a few), not into
        // copies of their own.
        var buffers: Set<UInt> = []
        for id in Array(state.jobs.keys) + Array(state.allocations.keys) + Array(state.evaluations.keys) {
            let kept: KeptBytes?
            switch (loaded.jobs.stored(id), loaded.allocations.stored(id), loaded.evaluations.stored(id)) {
            case (.encoded(let bytes)?, _, _), (_, .encoded(let bytes)?, _), (_, _, .encoded(let bytes)?): kept = bytes
            default: kept = nil
            }
            let bytes = try #require(kept, "\(id) is not kept encoded")
            #expect(bytes.buffer.count > Int(bytes.count))
            buffers.insert(bytes.buffer.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) })
        }
        #expect((1...8).contains(buffers.count))
        // Reads decode without keeping; the snapshot of the loaded state is the original's.
        #expect(loaded.jobs.encodedCount == loaded.jobs.count && loaded.allocations.encodedCount == loaded.allocations.count
            && loaded.evaluations.encodedCount == loaded.evaluations.count)
        #expect(try SnapshotWriter.bytes(loaded, position: SnapshotPosition(index: state.appliedIndex, term: 1), createdAtMs: 0) == bytes)
        // The same events on both: the same answers, the same state byte for byte; apply decoded (and
        // kept) the jobs it touched, and only those.
        for index in (state.appliedIndex + 1)...(state.appliedIndex + 1500) {
            let event = generator.next()
            let expected = state.apply(event, at: index)
            #expect("\(loaded.apply(event, at: index))" == "\(expected)", "event \(index)")
        }
        #expect(loaded.canonicalBytes() == state.canonicalBytes())
        #expect(loaded.jobs.encodedCount > 0 && loaded.jobs.encodedCount < loaded.jobs.count)
        #expect(loaded.allocations.encodedCount > 0 && loaded.allocations.encodedCount < loaded.allocations.count)
        #expect(loaded.evaluations.encodedCount > 0 && loaded.evaluations.encodedCount < loaded.evaluations.count)
        Self.expectSameIndexes(loaded, as: state)
    }

    @Test("the writer writes a kept record back as it was read; the canonical bytes re-serialize it")
    func keptRecordsWrittenAsRead() throws {
        var state = ClusterState()
        state.apply(.with { $0.timeMs = 5; $0.jobRegistered = .with { $0.spec = JobSpecFixture.spec(id: "web") } }, at: 1)
        let job = try #require(state.job("web"))
        // The job with its fields in reverse order: valid protobuf, not the order SwiftProtobuf writes.
        let fields: [JobRecord] = [
            .with { $0.modifyIndex = job.modifyIndex }, .with { $0.createIndex = job.createIndex }, .with { $0.status = job.status },
            .with { $0.versions = job.versions }, .with { $0.id = job.id },
        ]
        let reversed = try fields.flatMap { field -> [UInt8] in try field.serializedBytes() }
        #expect(try JobRecord(serializedBytes: reversed) == job)
        #expect(try reversed != job.serializedBytes() as [UInt8])
        let position = SnapshotPosition(index: 1, term: 1)
        let crafted = try SnapshotWriter.bytes(position: position, sources: { emit in
            try withoutActuallyEscaping(emit) { emit in
                try state.forEachSnapshotRecordSource(position, createdAtMs: 0) { source in
                    if case .message(let record) = source, case .job = record.record {
                        try reversed.withUnsafeBytes { try emit(.kept(.job, KeptBytes(copying: $0))) }
                    } else {
                        try emit(source)
                    }
                }
            }
        })
        let loaded = try SnapshotReader.read(bytes: crafted).state
        #expect(loaded.jobs.encodedCount == 1)
        #expect(loaded.job("web") == job)
        #expect(try SnapshotWriter.bytes(loaded, position: position, createdAtMs: 0) == crafted)
        #expect(try SnapshotWriter.bytes(state, position: position, createdAtMs: 0) != crafted)
        #expect(loaded.canonicalBytes() == state.canonicalBytes())
    }

    /// Expects `loaded` (read from a snapshot) to answer every index query as `state` (built by apply) does.
    static func expectSameIndexes(_ loaded: ClusterState, as state: ClusterState) {
        for job in state.jobs.keys {
            #expect(loaded.allocations(ofJob: job).map(\.id) == state.allocations(ofJob: job).map(\.id))
            #expect(loaded.evaluations(ofJob: job).map(\.id) == state.evaluations(ofJob: job).map(\.id))
        }
        for node in state.nodes.keys {
            #expect(loaded.allocations(onNode: node).map(\.id) == state.allocations(onNode: node).map(\.id))
            #expect(loaded.usedResources(onNode: node) == state.usedResources(onNode: node))
        }
        for status in [AllocationClientStatus.pending, .running, .complete, .failed, .lost] {
            #expect(loaded.allocations(withStatus: status).map(\.id) == state.allocations(withStatus: status).map(\.id))
        }
        for status in [EvaluationStatus.pending, .complete, .failed, .canceled, .blocked] {
            #expect(loaded.evaluations(withStatus: status).map(\.id) == state.evaluations(withStatus: status).map(\.id))
            #expect(loaded.evaluationIDs(withStatus: status) == state.evaluations(withStatus: status).map(\.id))
        }
        // The index tables themselves (built on two threads while the reader fills the main tables)
        // hold what apply's do, apart from the empty sets apply leaves behind.
        func nonEmpty<Key, Value: Sequence>(_ index: [Key: Value]) -> [Key: Value] { index.filter { $0.value.first(where: { _ in true }) != nil } }
        func nonEmpty<Key, Value: Sequence>(_ index: ShardedDictionary<Key, Value>) -> [Key: Value] {
            nonEmpty(Dictionary(uniqueKeysWithValues: index.entries.map { ($0.key, $0.value) }))
        }
        #expect(nonEmpty(loaded.allocationsByJob) == nonEmpty(state.allocationsByJob))
        #expect(nonEmpty(loaded.allocationsByNode) == nonEmpty(state.allocationsByNode))
        #expect(nonEmpty(loaded.allocationsByStatus) == nonEmpty(state.allocationsByStatus))
        #expect(nonEmpty(loaded.evaluationsByJob) == nonEmpty(state.evaluationsByJob))
        #expect(nonEmpty(loaded.evaluationsByStatus) == nonEmpty(state.evaluationsByStatus))
        #expect(loaded.nodeUsage.mapValues { [$0.cpu, $0.memory] } == state.nodeUsage.mapValues { [$0.cpu, $0.memory] })
        #expect(state.nodeUsage.values.contains { $0.cpu > 0 })
        // The node order apply keeps (one id inserted at a time) is the one a load sorts at once.
        #expect(state.nodeOrder == state.nodes.keys.sorted())
        #expect(loaded.nodeOrder == state.nodeOrder)
        #expect(state.allocations.values.contains { !ClusterState.holdsResources($0) })
    }

    @Test("a snapshot with its records in another order (jobs second, as written before 2026-12-02, or shuffled) loads the same state and indexes")
    func recordsInAnotherOrder() throws {
        let state = Self.state(seed: 22, events: 3_000)
        let position = SnapshotPosition(index: state.appliedIndex, term: 1)
        var header: Helios_V1_SnapshotRecord?
        var trailer: Helios_V1_SnapshotRecord?
        var objects: [Helios_V1_SnapshotRecord] = []
        state.forEachSnapshotRecord(position, createdAtMs: 0) { record in
            switch record.record {
            case .header: header = record
            case .trailer: trailer = record
            default: objects.append(record)
            }
        }
        func rank(_ record: Helios_V1_SnapshotRecord) -> Int {
            switch record.record {
            case .member: 0
            case .job: 1
            case .node: 2
            case .evaluation: 3
            default: 4
            }
        }
        var random = SeededRandom(seed: 22)
        let orders: [[Helios_V1_SnapshotRecord]] = [
            objects.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element),
            objects.shuffled(using: &random),
        ]
        for order in orders {
            let bytes = try SnapshotWriter.bytes(position: position) { emit in
                try emit(try #require(header))
                for record in order { try emit(record) }
                try emit(try #require(trailer))
            }
            // Small batches: allocations arrive in batches after job batches, after the by-node and
            // by-status sets were first built.
            let loaded = try SnapshotReader.read(bytes: bytes, chunkBytes: 2048, batchBytes: 2048).state
            #expect(loaded.canonicalBytes() == state.canonicalBytes())
            Self.expectSameIndexes(loaded, as: state)
        }
    }

    @Test("a snapshot file is a standard LZ4 stream: the Debian lz4 CLI decompresses the file as it is (the header is a skippable frame)")
    func lz4CLI() async throws {
        try await TemporaryDirectory.with("snapshot-lz4") { directory in
            let state = Self.state(seed: 8, events: 1500)
            let path = directory.appending("s.snap")
            let summary = try SnapshotWriter.write(state, position: SnapshotPosition(index: state.appliedIndex, term: 2), createdAtMs: 0, to: path)
            #expect(summary.header.version == 2 && summary.header.frameOffset == 72)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/lz4")
            process.arguments = ["-d", "-q", "-f", path, directory.appending("frame.out")]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let content = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.appending("frame.out"))))
            #expect(UInt64(content.count) == summary.header.uncompressedSize)
            // After the header record, the content is exactly the state's canonical bytes.
            let canonical = state.canonicalBytes()
            #expect(Array(content.suffix(canonical.count)) == canonical)
        }
    }

    @Test("a version 1 snapshot (the header alone before the LZ4 frame) still loads")
    func versionOne() throws {
        let state = Self.state(seed: 12, events: 600)
        let position = SnapshotPosition(index: state.appliedIndex, term: 3, voters: [1, 2, 3])
        let current = try SnapshotWriter.bytes(state, position: position, createdAtMs: 0)
        var header = try SnapshotFileHeader.decode(current).get()
        header.version = 1
        let old = header.encoded() + current.dropFirst(SnapshotFileHeader.size)
        #expect(old.count == current.count - 8)
        #expect(Array(old.prefix(8)) == SnapshotFileHeader.magic)
        let loaded = try SnapshotReader.read(bytes: old)
        #expect(loaded.header.version == 1 && loaded.header.frameOffset == 64)
        #expect(loaded.position == position)
        #expect(loaded.state.canonicalBytes() == state.canonicalBytes())
        #expect(try SnapshotReader.peek(bytes: old).position == position)
        // A version 2 header outside a skippable frame (or the reverse) is refused, naming both.
        header.version = 2
        let misplaced = Array(header.encoded().dropFirst(8)) + current.dropFirst(SnapshotFileHeader.size)
        #expect(throws: SnapshotError.self) { try SnapshotReader.read(bytes: misplaced) }
        if case .failure(let error) = SnapshotFileHeader.decode(misplaced) {
            #expect(error.message.contains("version 2") && error.message.contains("at the start of the file"))
        } else {
            Issue.record("a misplaced version 2 header decoded")
        }
    }

    @Test("a header whose checksum holds but whose sizes no file can have is refused, not trapped on")
    func absurdSizes() throws {
        let state = Self.state(seed: 13, events: 200)
        let bytes = try SnapshotWriter.bytes(state, position: SnapshotPosition(index: state.appliedIndex, term: 1), createdAtMs: 0)
        for size: UInt64 in [.max, UInt64(Int.max), (1 << 48) + 1] {
            var header = try SnapshotFileHeader.decode(bytes).get()
            header.compressedSize = size
            let damaged = header.encoded() + bytes.dropFirst(SnapshotFileHeader.size)
            #expect(throws: SnapshotError.self) { try SnapshotReader.read(bytes: damaged) }
            #expect(throws: SnapshotError.self) { try SnapshotReader.peek(bytes: damaged) }
            guard case .failure(let error) = SnapshotFileHeader.decode(damaged) else {
                Issue.record("compressed size \(size) decoded")
                continue
            }
            #expect(error.message.contains("compressed size \(size)"))
        }
    }

    @Test("damaged or truncated snapshots are refused with a message naming them")
    func damage() async throws {
        try await TemporaryDirectory.with("snapshot-damage") { directory in
            let state = Self.state(seed: 9, events: 800)
            let path = directory.appending("s.snap")
            try SnapshotWriter.write(state, position: SnapshotPosition(index: state.appliedIndex, term: 1), createdAtMs: 0, to: path)
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var random = SeededRandom(seed: 1)
            for _ in 0..<60 {
                var damaged = original
                let offset = Int(random.next() % UInt64(original.count))
                damaged[offset] ^= UInt8(1 << (random.next() % 8))
                do {
                    _ = try SnapshotReader.read(bytes: damaged, name: "s.snap")
                    Issue.record("a flip at byte \(offset) went unnoticed")
                } catch {
                    #expect("\(error)".contains("s.snap"))
                }
            }
            #expect(throws: SnapshotError.self) { _ = try SnapshotReader.read(bytes: Array(original.dropLast(100)), name: "s.snap") }
        }
    }

    @Test("the newest N are kept, and a damaged newest falls back to the previous one")
    func retentionAndFallback() async throws {
        try await TemporaryDirectory.with("snapshot-dir") { directory in
            let snapshots = SnapshotDirectory(path: directory.appending("snapshots"), retain: 2, logger: .quiet)
            var generator = EventGenerator(seed: 3)
            var state = ClusterState()
            var index: UInt64 = 0
            for round in 1...4 {
                for _ in 0..<200 {
                    index += 1
                    state.apply(generator.next(), at: index)
                }
                try snapshots.save(state, position: SnapshotPosition(index: index, term: UInt64(round)), createdAtMs: 0)
            }
            let files = try snapshots.list()
            #expect(files.map(\.index) == [600, 800])
            #expect(try snapshots.newestValid()?.position.index == 800)
            // Damage the newest.
            let newest = directory.appending("snapshots/" + files[1].name)
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: newest)))
            bytes[bytes.count / 2] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: newest))
            #expect(try snapshots.newestValid()?.position.index == 600)
            #expect(try snapshots.newestValid(atOrBelow: 700)?.position.index == 600)
        }
    }

    @Test("snapshot + replay of the log tail equals a full replay, byte for byte", arguments: [11, 12, 13, 14, 15, 16] as [UInt64])
    func snapshotPlusTail(seed: UInt64) async throws {
        try await TemporaryDirectory.with("snapshot-tail") { directory in
            var generator = EventGenerator(seed: seed)
            var configuration = LogConfiguration()
            configuration.segmentSize = 64 << 10
            configuration.logger = .quiet
            let log = try SegmentedLog.open(directory: directory.appending("log"), configuration: configuration)
            // The bootstrap configuration entries, then events.
            for entry in RaftBootstrap.entries(for: ConfigurationState(voters: [1, 2, 3])) {
                try await log.append([LogEntry(index: entry.index, term: entry.term, type: entry.kind.rawValue, payload: entry.data)])
            }
            var full = ClusterState()
            var random = SeededRandom(seed: seed)
            let total = 1500
            let split = UInt64(4 + random.next() % UInt64(total - 10))
            let snapshots = SnapshotDirectory(path: directory.appending("snapshots"), logger: .quiet)
            for _ in 0..<total {
                let index = log.lastIndex + 1
                let event = generator.next()
                try await log.append([LogEntry(index: index, term: 2, type: 0, payload: try event.serializedBytes())])
                full.apply(event, at: index)
                if index == split {
                    try snapshots.save(full, position: SnapshotPosition(index: index, term: 2, voters: [1, 2, 3]), createdAtMs: 0)
                }
            }
            let loaded = try StateLoader.load(log: log, snapshots: snapshots)
            #expect(loaded.snapshotIndex == split)
            #expect(loaded.state.canonicalBytes() == full.canonicalBytes(), "seed \(seed), snapshot at \(split)")
            #expect(loaded.position.voters == [1, 2, 3])
            // And at an index below the snapshot: replay from the start.
            let early = try StateLoader.load(log: log, snapshots: snapshots, through: 50)
            #expect(early.snapshotIndex == 0 || early.snapshotIndex <= 50)
            #expect(early.state.appliedIndex == 50)
            await log.close()
        }
    }
}
