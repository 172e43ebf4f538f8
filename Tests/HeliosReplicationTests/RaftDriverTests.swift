import Foundation
import HeliosLog
import HeliosRaft
import HeliosReplication
import HeliosTesting
import Logging
import Synchronization
import Testing

/// A state machine that records what it applied.
final class RecordingStateMachine: RaftStateMachine {
    let applied = Mutex<[String]>([])
    /// Time each applied entry takes (a slow state machine), 0 by default.
    let applyDelayMicroseconds = Atomic<UInt32>(0)
    /// Returns "applied TEXT as #N" (N: how many it has applied), which the proposer receives.
    func apply(_ entry: Entry) -> (any Sendable)? {
        guard entry.kind == .normal, !entry.data.isEmpty else { return nil }
        let delay = applyDelayMicroseconds.load(ordering: .relaxed)
        if delay > 0 { usleep(delay) }
        let text = String(decoding: entry.data, as: UTF8.self)
        let count = applied.withLock { $0.append(text); return $0.count }
        return "applied \(text) as #\(count)"
    }
    func restore(_ snapshot: Snapshot) {
        let items = String(decoding: snapshot.data, as: UTF8.self).split(separator: ",").map(String.init)
        applied.withLock { $0 = items }
    }
    func snapshotData(position: SnapshotMetadata) -> [UInt8] { Array(applied.withLock { $0.joined(separator: ",") }.utf8) }
    var values: [String] { applied.withLock { $0 } }
}

/// Counts the appends that carry entries, then hands every message to the real transport.
final class CountingTransport: RaftTransport {
    let inner: any RaftTransport
    let appendsWithEntries = Mutex(0)

    init(_ inner: any RaftTransport) { self.inner = inner }

    func send(_ messages: [Message]) {
        let appends = messages.filter { $0.type == .appendEntries && !$0.entries.isEmpty }.count
        appendsWithEntries.withLock { $0 += appends }
        inner.send(messages)
    }
}

/// Three drivers on real segmented logs in temporary directories, over the in-memory transport.
final class DriverCluster: @unchecked Sendable {
    let directory: TemporaryDirectory
    let network = InMemoryRaftNetwork()
    var drivers: [NodeID: RaftDriver] = [:]
    var machines: [NodeID: RecordingStateMachine] = [:]
    var tasks: [NodeID: Task<Void, any Error>] = [:]
    let voters: Set<NodeID> = [1, 2, 3]

    init() throws {
        directory = try TemporaryDirectory("driver")
    }

    var compaction: RaftDriver.CompactionPolicy?
    var electionTicks = 10
    var maxApplyingBytes: Int?
    var tickInterval: Duration = .milliseconds(10)
    var backgroundDelay: Duration = .milliseconds(5)
    var storages: [NodeID: SegmentedRaftStorage] = [:]
    var transports: [NodeID: CountingTransport] = [:]

    func start(_ id: NodeID, bootstrap: Bool, fileSystem: any FileSystem = PosixFileSystem()) async throws {
        var logConfiguration = LogConfiguration()
        logConfiguration.segmentSize = 4096
        logConfiguration.logger = .quiet
        logConfiguration.fileSystem = fileSystem
        let storage = try SegmentedRaftStorage(
            directory: directory.appending("node\(id)"), logConfiguration: logConfiguration, snapshots: MemorySnapshotStore())
        if bootstrap { try await storage.bootstrap(ConfigurationState(voters: voters)) }
        var configuration = RaftConfiguration(id: id, randomSeed: id &* 7919)
        configuration.electionTicks = electionTicks
        if let maxApplyingBytes { configuration.maxApplyingBytes = maxApplyingBytes }
        let machine = RecordingStateMachine()
        let transport = CountingTransport(network.transport(for: id))
        transports[id] = transport
        let driver = RaftDriver(
            configuration: configuration, storage: storage, transport: transport, stateMachine: machine,
            tickInterval: tickInterval, compaction: compaction, backgroundDelay: backgroundDelay,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        drivers[id] = driver
        storages[id] = storage
        machines[id] = machine
        network.register(driver)
        tasks[id] = Task { try await driver.run() }
    }

    func stop(_ id: NodeID) async throws {
        network.unregister(id)
        drivers[id]?.shutdown()
        try await tasks[id]?.value
        drivers[id] = nil
        tasks[id] = nil
    }

    func stopAll() async {
        for id in drivers.keys.sorted() { try? await stop(id) }
        directory.remove()
    }

    /// Runs `body`, then stops every node and deletes the directories, whatever happens.
    func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }

    /// Waits (bounded) until some running node leads; returns it.
    func leader(within: Duration = .seconds(10)) async throws -> NodeID {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            if let leader = drivers.values.compactMap(\.status).first(where: { $0.role == .leader })?.id { return leader }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ProposalError.timeout
    }

    /// Proposes through whichever node leads, following not-leader hints (bounded).
    func propose(_ text: String) async throws -> UInt64 {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let leader = try await leader()
            do {
                return try await drivers[leader]!.propose(Array(text.utf8), timeout: .seconds(2)).index
            } catch ProposalError.notLeader, ProposalError.dropped, ProposalError.timeout {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        throw ProposalError.timeout
    }

    /// Waits (bounded) until `id` has applied `values`.
    func waitUntil(_ id: NodeID, applied values: [String]) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if machines[id]!.values == values { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("node \(id) applied \(machines[id]!.values), expected \(values)")
    }
}

@Suite("RaftDriver over the segmented log")
struct RaftDriverTests {
    @Test("a 3-node cluster elects a leader, replicates, survives a restart and a leader failover")
    func cluster() async throws {
        let cluster = try DriverCluster()
        try await cluster.run {
            for id: NodeID in [1, 2, 3] { try await cluster.start(id, bootstrap: true) }
            var acknowledged: [String] = []
            for i in 0..<20 {
                _ = try await cluster.propose("a\(i)")
                acknowledged.append("a\(i)")
            }
            for id: NodeID in [1, 2, 3] { try await cluster.waitUntil(id, applied: acknowledged) }

            // Restart a follower from its data directory: it replays its log and catches up.
            let first = try await cluster.leader()
            let follower = [NodeID(1), 2, 3].first { $0 != first }!
            try await cluster.stop(follower)
            for i in 0..<10 {
                _ = try await cluster.propose("b\(i)")
                acknowledged.append("b\(i)")
            }
            try await cluster.start(follower, bootstrap: false)
            try await cluster.waitUntil(follower, applied: acknowledged)

            // Kill the leader: the others elect a new one and no acknowledged write is lost.
            try await cluster.stop(first)
            let second = try await cluster.leader()
            #expect(second != first)
            for i in 0..<10 {
                _ = try await cluster.propose("c\(i)")
                acknowledged.append("c\(i)")
            }
            for id in [NodeID(1), 2, 3] where id != first { try await cluster.waitUntil(id, applied: acknowledged) }
            try await cluster.start(first, bootstrap: false)
            try await cluster.waitUntil(first, applied: acknowledged)

            // Linearizable read barrier on a follower: everything acknowledged is applied there.
            let reader = [NodeID(1), 2, 3].first { $0 != second }!
            let index = try await cluster.drivers[reader]!.readBarrier()
            #expect(index > 0)
            #expect(cluster.machines[reader]!.values == acknowledged)
        }
    }

    @Test("the driver compacts on its own, and a follower that fell behind the compaction gets a snapshot")
    func automaticCompaction() async throws {
        let cluster = try DriverCluster()
        cluster.compaction = RaftDriver.CompactionPolicy(everyEntries: 50, retainEntries: 5)
        try await cluster.run {
            for id: NodeID in [1, 2, 3] { try await cluster.start(id, bootstrap: true) }
            var acknowledged: [String] = []
            let leader = try await cluster.leader()
            let lagging = [NodeID(1), 2, 3].first { $0 != leader }!
            try await cluster.stop(lagging)
            for i in 0..<400 {
                _ = try await cluster.propose("v\(i)")
                acknowledged.append("v\(i)")
            }
            // The live nodes purged segments below their snapshots.
            let purged = cluster.directory.appending("node\(leader)/log")
            var configuration = LogConfiguration()
            configuration.logger = .quiet
            try await cluster.stop(leader)
            let log = try SegmentedLog.open(directory: purged, configuration: configuration)
            #expect(log.firstIndex > 1, "the leader's log was compacted")
            await log.close()
            try await cluster.start(leader, bootstrap: false)
            // The stopped node is far behind the compacted logs: it catches up through InstallSnapshot.
            try await cluster.start(lagging, bootstrap: false)
            try await cluster.waitUntil(lagging, applied: acknowledged)
        }
    }

    @Test("background proposals commit with no other input to wake the loop, and in one Ready and one append per follower with a client's write")
    func backgroundProposals() async throws {
        let cluster = try DriverCluster()
        // No tick within the test (the first comes after a minute), so no heartbeat either: a
        // background proposal can only go out with another proposal or through its own timer,
        // which waits a whole second here.
        cluster.tickInterval = .seconds(60)
        cluster.backgroundDelay = .seconds(1)
        try await cluster.run {
            for id: NodeID in [1, 2, 3] { try await cluster.start(id, bootstrap: true) }
            // (A campaign waits until the bootstrap configuration is applied: ask until it is.)
            for _ in 0..<200 where cluster.drivers[1]!.status?.role != .leader {
                cluster.drivers[1]!.campaign()
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await cluster.leader() == 1)
            let leader = cluster.drivers[1]!
            _ = try await leader.propose(Array("first".utf8))
            // Alone, once the messages about "first" have settled: only the timer wakes the loop.
            try await Task.sleep(for: .milliseconds(300))
            let alone = try await withThrowingTaskGroup(of: UInt64?.self) { group in
                group.addTask { try await leader.propose(Array("alone".utf8), background: true).index }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
            guard let alone else {
                Issue.record("a background proposal alone did not commit within 10 s")
                throw ProposalError.timeout
            }
            try await cluster.waitUntil(2, applied: ["first", "alone"])
            // Several, interleaved with client writes: all commit, each once, in index order.
            let indexes = try await withThrowingTaskGroup(of: (String, UInt64).self) { group in
                for i in 0..<20 {
                    let text = i % 2 == 0 ? "background-\(i)" : "client-\(i)"
                    group.addTask { (text, try await leader.propose(Array(text.utf8), background: i % 2 == 0).index) }
                }
                var indexes: [String: UInt64] = [:]
                for try await (text, index) in group { indexes[text] = index }
                return indexes
            }
            #expect(indexes.count == 20 && Set(indexes.values).count == 20)
            #expect(indexes.values.allSatisfy { $0 > alone })
            let ordered = indexes.sorted { $0.value < $1.value }.map(\.key)
            for id: NodeID in [1, 2, 3] { try await cluster.waitUntil(id, applied: ["first", "alone"] + ordered) }
            // A held background proposal goes out with the next client write: one fdatasync for
            // both on the leader, one append to each follower.
            try await Task.sleep(for: .seconds(1.2))  // the interleaved ones' timer has rung
            let before = cluster.storages[1]!.log.statistics
            let appendsBefore = cluster.transports[1]!.appendsWithEntries.withLock { $0 }
            async let background = leader.propose(Array("held".utf8), background: true)
            try await Task.sleep(for: .milliseconds(50))
            let client = try await leader.propose(Array("client".utf8)).index
            let held = try await background.index
            #expect(held + 1 == client)
            let after = cluster.storages[1]!.log.statistics
            #expect(after.appends == before.appends + 1 && after.entries == before.entries + 2, "\(before) -> \(after)")
            #expect(cluster.transports[1]!.appendsWithEntries.withLock { $0 } == appendsBefore + 2, "one append per follower for both")
        }
    }

    @Test("each proposer gets what the state machine's apply returned for its own entry, 200 proposals at once")
    func proposalsReturnTheirOutcome() async throws {
        let cluster = try DriverCluster()
        try await cluster.run {
            for id: NodeID in [1, 2, 3] { try await cluster.start(id, bootstrap: true) }
            _ = try await cluster.propose("warm-up")
            let leader = cluster.drivers[try await cluster.leader()]!
            let results = try await withThrowingTaskGroup(of: (String, Committed).self) { group in
                for i in 0..<200 { group.addTask { ("w\(i)", try await leader.propose(Array("w\(i)".utf8), timeout: .seconds(10))) } }
                var results: [String: Committed] = [:]
                for try await (text, committed) in group { results[text] = committed }
                return results
            }
            let machine = cluster.machines[try await cluster.leader()]!
            for (text, committed) in results {
                let result = committed.result as? String
                #expect(result?.hasPrefix("applied \(text) as #") == true, "\(text): \(result ?? "nil")")
                // The position it reports is where the state machine holds that very text.
                let position = result.flatMap { Int($0.split(separator: "#").last ?? "") }
                #expect(position.map { machine.values[$0 - 1] } == text)
            }
            #expect(Set(results.values.map(\.index)).count == 200)
        }
    }

    @Test("proposals on a follower fail at once with the leader's id")
    func notLeader() async throws {
        let cluster = try DriverCluster()
        try await cluster.run {
            for id: NodeID in [1, 2, 3] { try await cluster.start(id, bootstrap: true) }
            let leader = try await cluster.leader()
            _ = try await cluster.propose("x")  // the followers now know the leader
            let follower = [NodeID(1), 2, 3].first { $0 != leader }!
            do {
                _ = try await cluster.drivers[follower]!.propose([1])
                Issue.record("a follower must refuse")
            } catch let error as ProposalError {
                #expect(error == .notLeader(leader: leader))
            }
        }
    }

    @Test("a node whose disk fails (ENOSPC on fdatasync) stops: its waiters fail, the others go on, a restart catches up")
    func diskFailure() async throws {
        let cluster = try DriverCluster()
        let disk = FaultInjectingFileSystem()
        try await cluster.run {
            try await cluster.start(1, bootstrap: true, fileSystem: disk)
            for id: NodeID in [2, 3] { try await cluster.start(id, bootstrap: true) }
            // Node 1 leads, so the failure hits the leader with proposals in flight.
            let deadline = ContinuousClock.now + .seconds(10)
            while cluster.drivers[1]?.status?.role != .leader, ContinuousClock.now < deadline {
                cluster.drivers[1]?.campaign()
                try await Task.sleep(for: .milliseconds(100))
            }
            try #require(cluster.drivers[1]?.status?.role == .leader)
            _ = try await cluster.propose("before")
            disk.onSynchronize { _ in .fail(errno: ENOSPC) }
            let failing = cluster.drivers[1]!
            do {
                _ = try await failing.propose(Array("lost?".utf8), timeout: .seconds(5))
                Issue.record("a proposal on a leader whose disk fails must not be acknowledged")
            } catch let error as ProposalError {
                guard case .storageFailed(let reason) = error else {
                    Issue.record("expected storageFailed, got \(error)")
                    throw error
                }
                #expect(reason.contains("No space left on device") || reason.contains("ENOSPC"), "\(reason)")
            }
            // The loop ended with the disk's error, and refuses whatever comes later.
            await #expect(throws: LogError.self) { try await cluster.tasks[1]!.value }
            await #expect(throws: ProposalError.self) { _ = try await failing.propose([1], timeout: .seconds(1)) }
            cluster.network.unregister(1)
            cluster.drivers[1] = nil
            cluster.tasks[1] = nil
            // The other two elect a leader and take writes; the restarted node recovers and catches up.
            _ = try await cluster.propose("after")
            // The proposal returns once the leader applied it; a follower learns the commit with the
            // next append or heartbeat (lazy commit), so node 2 may not have it yet (bounded wait).
            let applied = ContinuousClock.now + .seconds(10)
            while !cluster.machines[2]!.values.contains("after") && ContinuousClock.now < applied {
                try await Task.sleep(for: .milliseconds(10))
            }
            disk.onSynchronize(nil)
            try await cluster.start(1, bootstrap: false, fileSystem: disk)
            let expected = cluster.machines[2]!.values
            #expect(expected.contains("before") && expected.contains("after"))
            try await cluster.waitUntil(1, applied: expected)
        }
    }

    @Test("a follower applying a long backlog keeps answering its leader between Readies (no lost quorum, no new term)")
    func backlogKeepsFollowerResponsive() async throws {
        let cluster = try DriverCluster()
        try await cluster.run {
            // 300 ms election timeout; 8 KiB of committed entries per Ready; 1 KiB entries.
            cluster.electionTicks = 30
            cluster.maxApplyingBytes = 8 << 10
            try await cluster.start(1, bootstrap: true)
            try await cluster.start(2, bootstrap: false)
            try await cluster.start(3, bootstrap: false)
            let leader = try await cluster.leader()
            let follower: NodeID = leader == 1 ? 2 : 1
            let third: NodeID = [1, 2, 3].first { $0 != leader && $0 != follower }!
            try await cluster.stop(follower)
            // The follower misses 500 entries; once back, it appends them and applies them at 2 ms each
            // (1 s in all, 16 ms per Ready), while the leader depends on it alone for its quorum.
            let padding = String(repeating: "x", count: 1000)
            for i in 0..<500 { _ = try await cluster.propose("e\(i)-\(padding)") }
            let term = try #require(cluster.drivers[leader]?.status?.term)
            try await cluster.stop(third)
            try await cluster.start(follower, bootstrap: false)
            cluster.machines[follower]!.applyDelayMicroseconds.store(2000, ordering: .relaxed)
            // A new write needs the busy follower's acknowledgement; the leader must keep its term
            // throughout (CheckQuorum steps a leader down when a quorum goes silent for a timeout).
            let deadline = ContinuousClock.now + .seconds(20)
            var written = false
            let write = Task { try await cluster.drivers[leader]!.propose(Array("after-\(padding)".utf8), timeout: .seconds(15)) }
            while ContinuousClock.now < deadline {
                let status = try #require(cluster.drivers[leader]?.status)
                #expect(status.term == term && status.role == .leader, "the leader lost its term while the follower caught up: \(status.role) at term \(status.term)")
                if status.term != term || status.role != .leader { break }
                if cluster.machines[follower]!.values.count >= 501 {
                    written = true
                    break
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            _ = try? await write.value
            #expect(written, "the follower applied \(cluster.machines[follower]!.values.count) of 501 entries within 20 s")
        }
    }

    @Test("bootstrapping a data directory that already holds a cluster is refused")
    func bootstrapTwice() async throws {
        try await TemporaryDirectory.with("bootstrap") { directory in
            var logConfiguration = LogConfiguration()
            logConfiguration.logger = .quiet
            let storage = try SegmentedRaftStorage(directory: directory.path, logConfiguration: logConfiguration, snapshots: MemorySnapshotStore())
            try await storage.bootstrap(ConfigurationState(voters: [1, 2, 3]))
            do {
                try await storage.bootstrap(ConfigurationState(voters: [1, 2, 3]))
                Issue.record("a second bootstrap must fail")
            } catch let error as LogError {
                #expect(error.message.contains("already holds a cluster"))
            }
            await storage.close()
        }
    }
}
