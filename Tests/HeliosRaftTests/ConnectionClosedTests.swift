@testable import HeliosRaft
import Testing

/// A follower told that its leader's connection closed (``RawNode/reportConnectionClosed(from:)``)
/// campaigns within a few ticks; a false alarm disrupts nothing.
@Suite("Raft: a closed connection to the leader")
struct ConnectionClosedTests {
    /// Election timeouts of 1,000-2,000 ticks: within the few ticks these tests give, only the
    /// reported closed connections can start an election.
    static func network() -> TestNetwork {
        TestNetwork(voters: [1, 2, 3]) { $0.electionTicks = 1_000 }
    }

    /// Ticks every live node once and lets everything settle.
    static func tickRound(_ network: inout TestNetwork, skipping dead: Set<NodeID>) {
        for id in network.nodes.keys.sorted() where !dead.contains(id) { network.tick(id) }
        network.stabilize()
    }

    @Test("the survivors of a leader whose connections closed elect a new one on the next tick, lowest id first")
    func survivorsElectQuickly() throws {
        var network = Self.network()
        network.elect(1)
        try network.propose(1, "before")
        network.stabilize()
        let term = network.status(1).term
        network.isolate(1)  // the process is gone: nothing reaches it or comes from it any more
        for id: NodeID in [2, 3] { network.nodes[id]!.reportConnectionClosed(from: 1) }
        #expect(network.status(2).leader == 0 && network.status(3).leader == 0, "they forget the leader at once")
        Self.tickRound(&network, skipping: [1])
        #expect(network.status(2).role == .leader, "node 2 (first of the survivors) campaigns on its first tick")
        #expect(network.status(2).term == term + 1)
        #expect(network.status(3).leader == 2)
        try network.propose(2, "after")
        network.stabilize()
        #expect(network.appliedData(3) == ["before", "after"])
    }

    @Test("when the first survivor's log is behind, the second one wins on its fourth tick (three ticks later)")
    func secondSurvivorWinsWithTheLongerLog() throws {
        var network = Self.network()
        network.elect(1)
        network.cut = [[1, 2]]  // node 2 misses the last entry
        try network.propose(1, "only on 1 and 3")
        network.stabilize()
        #expect(network.appliedData(3) == ["only on 1 and 3"])
        network.isolate(1)
        for id: NodeID in [2, 3] { network.nodes[id]!.reportConnectionClosed(from: 1) }
        for _ in 0..<3 {
            Self.tickRound(&network, skipping: [1])
            #expect(network.status(2).role != .leader && network.status(3).role != .leader, "node 2's pre-vote is refused: its log is shorter")
        }
        Self.tickRound(&network, skipping: [1])
        #expect(network.status(3).role == .leader)
        #expect(network.status(2).leader == 3)
        network.stabilize()
        #expect(network.appliedData(2) == ["only on 1 and 3"], "the committed entry survives")
    }

    @Test("a survivor whose pre-vote the other ignored (it had not yet seen the connection close) tries again a stagger round later")
    func retryAfterIgnoredPreVote() throws {
        var network = Self.network()
        network.elect(3)
        network.cut = [[3, 2]]  // node 2 misses the last entry: only node 1 can win
        try network.propose(3, "only on 3 and 1")
        network.stabilize()
        network.isolate(3)
        network.nodes[1]!.reportConnectionClosed(from: 3)
        Self.tickRound(&network, skipping: [3])
        #expect(network.status(1).role == .preCandidate, "node 2 still counts node 3's lease and ignores the pre-vote")
        network.nodes[2]!.reportConnectionClosed(from: 3)
        var rounds = 1
        while network.status(1).role != .leader && rounds < 20 {
            Self.tickRound(&network, skipping: [3])
            rounds += 1
        }
        #expect(network.status(1).role == .leader)
        #expect(rounds == 7, "the retry comes one stagger round (2 survivors x 3 ticks) after the first try, not after an election timeout")
        #expect(network.status(2).leader == 1)
        network.stabilize()
        #expect(network.appliedData(2) == ["only on 3 and 1"], "the committed entry survives")
    }

    @Test("a follower whose own connection broke while the leader lives disrupts nothing")
    func falseAlarm() {
        var network = Self.network()
        network.elect(1)
        let term = network.status(1).term
        network.nodes[3]!.reportConnectionClosed(from: 1)
        #expect(network.status(3).leader == 0)
        // Node 3 campaigns on its next ticks; node 2 still hears from the leader and ignores it.
        for _ in 0..<5 { Self.tickRound(&network, skipping: []) }
        #expect(network.status(1).role == .leader && network.status(1).term == term)
        #expect(network.status(3).term == term, "the pre-vote failed: no term was spent")
        #expect(network.status(3).leader == 1, "the leader's heartbeat made node 3 its follower again")
    }

    @Test("reports about nodes other than the leader, or on the leader itself, change nothing")
    func ignoredReports() {
        var network = Self.network()
        network.elect(1)
        network.nodes[2]!.reportConnectionClosed(from: 3)
        network.nodes[1]!.reportConnectionClosed(from: 2)
        network.nodes[3]!.reportConnectionClosed(from: 0)
        #expect(network.status(2).leader == 1 && network.status(3).leader == 1)
        #expect(network.status(1).role == .leader)
        for _ in 0..<5 { Self.tickRound(&network, skipping: []) }
        #expect(network.status(2).role == .follower && network.status(3).role == .follower)
        #expect(network.status(1).role == .leader)
    }
}
