@testable import HeliosRaft
import Testing

/// Scripted scenarios for the known traps of Raft implementations.
@Suite("Raft: scenarios")
struct ScenarioTests {
    /// Raft paper, Figure 8: a leader must not commit an entry from an earlier term by counting
    /// replicas; only an entry of its own term commits (and with it everything before).
    @Test("Figure 8: entries of earlier terms commit only through an entry of the current term")
    func figure8() throws {
        var network = TestNetwork(voters: [1, 2, 3, 4, 5])
        network.elect(1)
        let base = network.status(1).commit  // bootstrap entries + the term-2 empty entry, everywhere
        // The term-2 leader replicates X to node 2 only.
        network.isolate(3); network.isolate(4); network.isolate(5)
        try network.propose(1, "X")
        network.stabilize()
        #expect(network.node(2).term(at: base + 1) == 2)
        #expect(network.status(1).commit == base, "X reached 2 of 5 nodes")
        // Node 1 is leader again in term 4 (after a term-3 leader that wrote nothing durable here),
        // and X (term 2) reaches a majority: 1, 2 and 3.
        network.heal()
        network.isolate(4); network.isolate(5)
        let raft = network.nodes[1]!.raft
        raft.becomeFollower(term: 3, leader: 0)
        raft.becomeCandidate()  // term 4
        raft.becomeLeader()  // appends the term-4 empty entry at base + 2
        network.processReady()
        for follower: NodeID in [2, 3] {
            var ack = Message(type: .appendResponse, from: follower, to: 1, term: 4)
            ack.index = base + 1
            network.nodes[1]!.step(ack)
        }
        network.processReady()
        #expect(network.status(1).commit == base, "an entry of term 2 must not commit by replica count in term 4")
        for follower: NodeID in [2, 3] {
            var ack = Message(type: .appendResponse, from: follower, to: 1, term: 4)
            ack.index = base + 2
            network.nodes[1]!.step(ack)
        }
        network.processReady()
        #expect(network.status(1).commit == base + 2, "the term-4 entry commits, and X with it")
    }

    /// Ticks `nodes` until one of them leads (bounded).
    func electAmong(_ network: inout TestNetwork, _ nodes: [NodeID]) -> NodeID? {
        for _ in 0..<100 {
            for id in nodes { network.tick(id) }
            network.stabilize()
            if let leader = nodes.first(where: { network.status($0).role == .leader }) { return leader }
        }
        return nil
    }

    @Test("a partitioned old leader cannot commit; its entry is replaced after the partition heals")
    func partitionedOldLeader() throws {
        var network = TestNetwork(voters: [1, 2, 3, 4, 5])
        network.elect(1)
        // The old leader keeps 2 with it: a minority.
        for a: NodeID in [1, 2] { for b: NodeID in [3, 4, 5] { network.cut.insert([a, b]); network.cut.insert([b, a]) } }
        try network.propose(1, "lost")
        network.stabilize()
        #expect(network.appliedData(1).isEmpty, "a minority cannot commit")
        // The majority side notices the leader is gone (its lease expires) and elects a new one.
        let newLeader = try #require(electAmong(&network, [3, 4, 5]))
        try network.propose(newLeader, "kept")
        network.stabilize()
        #expect(network.appliedData(4) == ["kept"])
        network.heal()
        network.tickAll(times: 3)
        network.stabilize()
        #expect(network.status(1).role == .follower && network.status(1).leader == newLeader)
        for id: NodeID in 1...5 {
            #expect(network.appliedData(id) == ["kept"], "node \(id) applies the majority's history only")
        }
    }

    @Test("CheckQuorum: a leader that hears no majority for a whole election timeout steps down")
    func checkQuorum() {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        network.isolate(1)
        network.tick(1, times: 10)  // the window that saw the followers before the partition
        #expect(network.status(1).role == .leader)
        network.tick(1, times: 10)  // a whole window without them
        #expect(network.status(1).role == .follower, "the leader steps down")
        // Without CheckQuorum it would keep believing it leads.
        var unchecked = TestNetwork(voters: [1, 2, 3]) { $0.checkQuorum = false }
        unchecked.elect(1)
        unchecked.isolate(1)
        unchecked.tick(1, times: 30)
        #expect(unchecked.status(1).role == .leader)
    }

    @Test("PreVote: a node rejoining after a partition does not disrupt the working leader")
    func preVoteStopsDisruption() {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        let term = network.status(1).term
        network.isolate(3)
        for _ in 0..<20 {
            network.tick(3, times: 5)
            network.stabilize()
        }
        #expect(network.status(3).term == term, "pre-votes fail, so the isolated node's term does not grow")
        network.heal()
        network.tickAll(times: 2)
        network.stabilize()
        #expect(network.status(1).role == .leader && network.status(1).term == term)
        #expect(network.status(3).leader == 1)

        // Without PreVote (and CheckQuorum) the rejoining node forces an election.
        var disrupted = TestNetwork(voters: [1, 2, 3]) { $0.preVote = false; $0.checkQuorum = false }
        disrupted.elect(1)
        let before = disrupted.status(1).term
        disrupted.isolate(3)
        disrupted.tick(3, times: 40)
        disrupted.stabilize()
        disrupted.heal()
        for _ in 0..<20 {
            disrupted.tickAll()
            disrupted.stabilize()
        }
        #expect(disrupted.status(1).term > before, "without PreVote the leader is deposed")
    }

    @Test("membership: add a learner, promote it and remove a voter while one node is partitioned")
    func membershipDuringPartition() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        network.isolate(3)
        network.add(4, configuration: ConfigurationState())
        try network.nodes[1]!.proposeConfigurationChange(ConfigurationChange(.addLearner, node: 4))
        network.stabilize()
        #expect(network.status(1).configuration.learners == [4])
        #expect(network.status(4).configuration.voters == [1, 2, 3], "the learner replayed the bootstrap entries")
        try network.nodes[1]!.proposeConfigurationChange(ConfigurationChange(.addVoter, node: 4))
        network.stabilize()
        #expect(network.status(1).configuration.voters == [1, 2, 3, 4])
        // {1, 2, 4} is a quorum of four without the partitioned node 3.
        try network.propose(1, "with four")
        network.stabilize()
        #expect(network.appliedData(4) == ["with four"])
        try network.nodes[1]!.proposeConfigurationChange(ConfigurationChange(.remove, node: 3))
        network.stabilize()
        #expect(network.status(1).configuration.voters == [1, 2, 4])
        // Only one change at a time.
        try network.nodes[1]!.proposeConfigurationChange(ConfigurationChange(.addLearner, node: 5))
        #expect(throws: RaftError.configurationChangePending) {
            try network.nodes[1]!.proposeConfigurationChange(ConfigurationChange(.addLearner, node: 6))
        }
        network.heal()
        network.stabilize()
        try network.propose(1, "after")
        network.stabilize()
        #expect(network.appliedData(2) == ["with four", "after"])
    }

    @Test("a lagging follower receives a chunked snapshot and catches up")
    func snapshotToLaggingFollower() throws {
        var network = TestNetwork(voters: [1, 2, 3]) { $0.snapshotChunkBytes = 7 }
        network.elect(1)
        network.isolate(3)
        for i in 0..<30 { try network.propose(1, "e\(i)") }
        network.stabilize()
        // The leader snapshots its state and compacts its log past what node 3 has.
        let applied = network.status(1).applied
        let state = Array(network.appliedData(1).joined(separator: ",").utf8)
        try network.storages[1]!.createSnapshot(index: applied, configuration: network.status(1).configuration, data: state)
        try network.storages[1]!.compact(through: applied)
        network.heal()
        var chunks = 0
        for _ in 0..<200 {
            network.processReady()
            chunks += network.inFlight.filter { $0.type == .installSnapshot }.count
            network.deliver()
            network.tickAll()
        }
        network.stabilize()
        #expect(chunks >= state.count / 7, "the snapshot went in \(state.count / 7)+ chunks, saw \(chunks)")
        #expect(network.status(3).commit == network.status(1).commit)
        #expect(network.storages[3]!.currentSnapshot.data == state)
        try network.propose(1, "after snapshot")
        network.stabilize()
        #expect(network.appliedData(3) == ["after snapshot"], "entries after the snapshot are replicated normally")
    }

    @Test("leadership transfer hands over to an up-to-date follower")
    func leadershipTransfer() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        try network.propose(1, "a")
        network.stabilize()
        network.nodes[1]!.transferLeadership(to: 3)
        network.stabilize()
        #expect(network.status(3).role == .leader)
        #expect(network.status(1).role == .follower && network.status(1).leader == 3)
        try network.propose(3, "b")
        network.stabilize()
        #expect(network.appliedData(2) == ["a", "b"])
    }

    @Test("ReadIndex: the leader answers after a quorum confirms it; a follower's request is forwarded")
    func readIndex() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        try network.propose(1, "a")
        network.stabilize()
        let commit = network.status(1).commit
        network.nodes[1]!.readIndex(context: [1])
        network.nodes[2]!.readIndex(context: [2])
        var states: [NodeID: [ReadState]] = [:]
        for _ in 0..<10 {
            for id in network.nodes.keys.sorted() where network.nodes[id]!.hasReady {
                var node = network.nodes[id]!
                let ready = node.ready()
                states[id, default: []] += ready.readStates
                network.inFlight += ready.messages + ready.messagesAfterPersist
                network.storages[id]!.append(ready.entries)
                if let hard = ready.hardState { network.storages[id]!.setHardState(hard) }
                node.advance()
                network.nodes[id] = node
            }
            network.deliver()
        }
        #expect(states[1] == [ReadState(index: commit, context: [1])])
        #expect(states[2] == [ReadState(index: commit, context: [2])])
        // An isolated leader cannot confirm it still leads: no answer.
        network.isolate(1)
        network.nodes[1]!.readIndex(context: [3])
        network.stabilize()
        #expect(network.nodes[1]!.ready().readStates.isEmpty)
    }

    @Test("a restart with a snapshot newer than the hard state's commit (entries kept below it) applies nothing twice")
    func restartWithSnapshotAheadOfCommit() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.nodes[1]!.campaign()
        for _ in 0..<10 {
            network.deliver()
            network.processReady()
        }
        for value in 0..<6 as Range<UInt8> { try network.nodes[1]!.propose([value]) }
        for _ in 0..<10 {
            network.deliver()
            network.processReady()
        }
        // Node 2 snapshots what it applied, keeps 3 entries below the snapshot, and has a hard state
        // whose commit is older (as after a crash that lost the last hard-state write).
        let storage = network.storages[2]!
        let applied = network.status(2).applied
        #expect(applied >= 8)
        try storage.createSnapshot(index: applied, configuration: network.status(2).configuration, data: [1])
        try storage.compact(through: applied - 3)
        storage.setHardState(HardState(term: network.status(2).term, vote: 0, commit: applied - 4))
        var config = RaftConfiguration(id: 2, randomSeed: 2)
        config.applied = applied
        let restarted = try RawNode(configuration: config, storage: storage)
        #expect(restarted.status.commit >= applied)
        #expect(restarted.status.applied == applied)
        if restarted.hasReady { #expect(!restarted.ready().committedEntries.contains { $0.index <= applied }) }
    }
}
