import HeliosRaft
import HeliosReplication
import Testing

/// ReplicationCore's Ready handling on in-memory nodes, with messages delivered by the test.
@Suite("ReplicationCore")
struct ReplicationCoreTests {
    /// Nodes over MemoryRaftStorage that persist each Ready synchronously, except where a test holds one.
    struct Cluster {
        var cores: [NodeID: ReplicationCore] = [:]
        var storages: [NodeID: MemoryRaftStorage] = [:]
        var messages: [Message] = []
        var applied: [NodeID: [UInt64]] = [:]
        var outcomes: [UInt64: ReplicationCore.ProposalOutcome] = [:]

        init(voters: [NodeID]) throws {
            for id in voters {
                let storage = MemoryRaftStorage(bootstrap: ConfigurationState(voters: Set(voters)))
                storages[id] = storage
                cores[id] = ReplicationCore(node: try RawNode(configuration: RaftConfiguration(id: id, randomSeed: id), storage: storage))
                applied[id] = []
            }
        }

        /// Handles every Ready of `id` in the documented order.
        mutating func process(_ id: NodeID) {
            while let ready = cores[id]!.startReady() {
                messages += ready.messages
                persist(id, ready)
                finish(id)
            }
        }

        mutating func persist(_ id: NodeID, _ ready: Ready) {
            storages[id]!.append(ready.entries)
            if let hard = ready.hardState { storages[id]!.setHardState(hard) }
        }

        mutating func finish(_ id: NodeID) {
            var appliedHere: [UInt64] = []
            let completion = cores[id]!.finishReady(restore: { _ in }, apply: { appliedHere.append($0.index) })
            applied[id]! += appliedHere
            messages += completion.messages
            for (proposal, outcome) in completion.outcomes { outcomes[proposal] = outcome }
        }

        /// Delivers messages and processes Readies until nothing moves (bounded).
        mutating func settle() {
            for _ in 0..<100 {
                for id in cores.keys.sorted() { process(id) }
                guard !messages.isEmpty else { return }
                let batch = messages
                messages = []
                for message in batch { cores[message.to]?.withNode { $0.step(message) } }
            }
            Issue.record("the cluster did not settle within 100 rounds")
        }

        func durableIndex(_ id: NodeID) -> UInt64 { (try? storages[id]!.lastIndex()) ?? 0 }
    }

    @Test("a leader applies entries its followers acknowledged while its next Ready persists, and answers their proposers first")
    func leaderAppliesBeforePersisting() throws {
        var cluster = try Cluster(voters: [1, 2, 3])
        cluster.settle()  // the bootstrap configuration is applied first
        cluster.cores[1]!.withNode { $0.campaign() }
        cluster.settle()
        #expect(cluster.cores[1]!.node.status.role == .leader)
        // A is appended and acknowledged by the followers; the acknowledgements wait for the leader.
        let a = try cluster.cores[1]!.propose([0xA], id: 100)
        cluster.process(1)
        for id: NodeID in [2, 3] {
            for message in cluster.messages where message.to == id { cluster.cores[id]!.withNode { $0.step(message) } }
        }
        cluster.messages.removeAll { $0.to != 1 }
        cluster.process(2)
        cluster.process(3)
        for message in cluster.messages where message.to == 1 { cluster.cores[1]!.withNode { $0.step(message) } }
        cluster.messages = []
        // B arrives: the next Ready appends B and commits A, which is durable already.
        let b = try cluster.cores[1]!.propose([0xB], id: 200)
        let started = cluster.cores[1]!.startReady()
        let ready = try #require(started)
        cluster.messages += ready.messages
        cluster.applied[1] = []
        #expect(ready.entries.map(\.index) == [b])
        #expect(ready.committedEntries.map(\.index).contains(a))
        #expect(cluster.cores[1]!.canApplyBeforePersisting(durableIndex: cluster.durableIndex(1)))
        var early: [UInt64] = []
        let applied = cluster.cores[1]!.applyReady(restore: { _ in }, apply: { early.append($0.index) })
        #expect(early.contains(a))
        #expect(applied.outcomes.contains { $0.id == 100 && $0.outcome == .applied(index: a) })
        // Applied once: the finish after the persist applies nothing again and answers nobody twice.
        #expect(!cluster.cores[1]!.canApplyBeforePersisting(durableIndex: cluster.durableIndex(1)))
        cluster.persist(1, ready)
        cluster.finish(1)
        #expect(cluster.applied[1]!.isEmpty)
        #expect(cluster.outcomes[100] == nil)
        cluster.settle()
        #expect(cluster.outcomes[200] == .applied(index: b))
    }

    @Test("a follower told to commit the entries it is appending gets them to apply only in a later Ready, once durable")
    func followerAppliesOnlyDurableEntries() throws {
        var cluster = try Cluster(voters: [1, 2, 3])
        cluster.settle()
        cluster.cores[1]!.withNode { $0.campaign() }
        cluster.settle()
        let term = cluster.cores[1]!.node.status.term
        let last = cluster.durableIndex(2)
        // One append that brings a new entry and a commit index covering it (a follower catching up).
        var append = Message(type: .appendEntries, from: 1, to: 2, term: term)
        append.index = last
        append.logTerm = try cluster.storages[2]!.term(at: last)
        append.entries = [Entry(index: last + 1, term: term, data: [9])]
        append.commit = last + 1
        cluster.cores[2]!.withNode { $0.step(append) }
        let first = cluster.cores[2]!.startReady()
        let appending = try #require(first)
        #expect(appending.entries.map(\.index) == [last + 1])
        #expect(!appending.committedEntries.contains { $0.index == last + 1 })
        cluster.persist(2, appending)
        cluster.finish(2)
        let second = cluster.cores[2]!.startReady()
        let committing = try #require(second)
        #expect(committing.committedEntries.map(\.index) == [last + 1])
        #expect(cluster.cores[2]!.canApplyBeforePersisting(durableIndex: cluster.durableIndex(2)))
        // Not with an index the disk does not hold yet.
        #expect(!cluster.cores[2]!.canApplyBeforePersisting(durableIndex: last))
        cluster.persist(2, committing)
        cluster.finish(2)
        #expect(cluster.applied[2]!.contains(last + 1))
    }
}
