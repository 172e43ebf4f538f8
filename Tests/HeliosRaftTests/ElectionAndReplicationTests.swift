@testable import HeliosRaft
import Testing

@Suite("Raft: election and replication")
struct ElectionAndReplicationTests {
    @Test("a node campaigns, wins with pre-vote and vote, and replicates proposals to all")
    func electAndReplicate() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        #expect(network.status(1).role == .leader)
        #expect(network.status(1).term == 2, "bootstrap entries are at term 1")
        #expect(network.status(2).leader == 1 && network.status(3).leader == 1)
        try network.propose(1, "a")
        try network.propose(1, "b")
        network.stabilize()
        for id: NodeID in [1, 2, 3] {
            #expect(network.appliedData(id) == ["a", "b"], "node \(id)")
            #expect(network.status(id).commit == 6)  // 3 bootstrap entries, the leader's empty entry, 2
        }
    }

    @Test("election timeouts elect exactly one leader without a manual campaign")
    func electionByTicks() {
        var network = TestNetwork(voters: [1, 2, 3])
        for _ in 0..<50 {
            network.tickAll()
            network.stabilize()
            if network.leader() != nil { break }
        }
        let leaders = network.nodes.values.filter { $0.status.role == .leader }
        #expect(leaders.count == 1)
    }

    @Test("a single-node cluster commits on its own")
    func singleNode() throws {
        var network = TestNetwork(voters: [1])
        network.elect(1)
        #expect(network.status(1).role == .leader)
        try network.propose(1, "solo")
        network.stabilize()
        #expect(network.appliedData(1) == ["solo"])
    }

    @Test("followers refuse proposals with the leader's id")
    func followerProposal() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        #expect(throws: RaftError.notLeader(leader: 1)) { try network.propose(2, "x") }
    }

    @Test("a lagging follower catches up, with conflict back-off, after a partition")
    func catchUp() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        network.isolate(3)
        for i in 0..<20 { try network.propose(1, "e\(i)") }
        network.stabilize()
        #expect(network.appliedData(3).isEmpty)
        network.heal()
        network.tickAll(times: 2)
        network.stabilize()
        #expect(network.appliedData(3) == (0..<20).map { "e\($0)" })
    }

    @Test("without broadcastCommit, followers learn a commit with the next entries or heartbeat, not from a message of its own")
    func lazyCommit() throws {
        for broadcast in [true, false] {
            var network = TestNetwork(voters: [1, 2, 3]) { $0.broadcastCommit = broadcast }
            network.elect(1)
            let messagesBefore = network.inFlight.count
            try network.propose(1, "a")
            network.stabilize()
            #expect(messagesBefore == 0)
            #expect(network.appliedData(1) == ["a"])
            if broadcast {
                #expect(network.appliedData(2) == ["a"] && network.appliedData(3) == ["a"])
                continue
            }
            #expect(network.appliedData(2).isEmpty && network.appliedData(3).isEmpty, "no message only to say 'commit'")
            try network.propose(1, "b")
            network.stabilize()
            #expect(network.appliedData(2) == ["a"] && network.appliedData(3) == ["a"], "the next entries carry the commit of 'a'")
            network.tick(1)  // a heartbeat carries the commit of "b"
            network.stabilize()
            #expect(network.appliedData(2) == ["a", "b"] && network.appliedData(3) == ["a", "b"])
            // A ReadIndex confirmation is a heartbeat: a follower's read sees everything committed.
            try network.propose(1, "c")
            network.stabilize()
            network.nodes[2]!.readIndex(context: [7])
            network.stabilize()
            #expect(network.appliedData(2) == ["a", "b", "c"])
        }
    }

    @Test("an acknowledgement from a follower whose entries are all in flight makes no empty append; a follower flow control held back gets what waited")
    func noEmptyAppendWhilePipelined() throws {
        for window in [256, 1] {
            var network = TestNetwork(voters: [1, 2, 3]) {
                $0.broadcastCommit = false
                $0.maxInflightMessages = window
            }
            network.elect(1)
            try network.propose(1, "a")
            network.processReady()  // the leader sends "a"
            network.deliver()
            network.processReady()  // the followers persist "a" and acknowledge it
            let acknowledgements = network.inFlight
            network.inFlight = []
            try network.propose(1, "b")
            network.processReady()  // "b" goes out behind "a" (or waits: the window holds one)
            let appendsOfB = network.inFlight.filter { $0.type == .appendEntries && !$0.entries.isEmpty }
            #expect(appendsOfB.count == (window == 1 ? 0 : 2))
            network.inFlight = acknowledgements
            network.deliver()
            network.processReady()
            let sent = network.inFlight.filter { $0.type == .appendEntries }
            #expect(!sent.contains { $0.entries.isEmpty }, "an empty append only costs a follower a round: \(sent)")
            #expect(sent.count == (window == 1 ? 2 : 0), "with a window of one, the acknowledgement releases \"b\"")
            network.inFlight += appendsOfB
            network.stabilize()
            network.tick(1)  // a heartbeat carries the last commit index
            network.stabilize()
            for node: NodeID in [1, 2, 3] { #expect(network.appliedData(node) == ["a", "b"]) }
        }
    }

    @Test("a burst of read confirmations from a follower whose window is full frees one slot per heartbeat interval, not one append per confirmation")
    func readBurstDoesNotFloodASlowFollower() throws {
        var network = TestNetwork(voters: [1, 2, 3]) {
            $0.broadcastCommit = false
            $0.maxInflightMessages = 4
        }
        network.elect(1)
        // Fill follower 2's window with appends it never acknowledges (it is slow, not gone).
        for i in 0..<8 {
            try network.propose(1, "e\(i)")
            network.processReady()
            network.inFlight.removeAll { $0.to == 2 && $0.type == .appendEntries }
            network.deliver()
            network.processReady()
        }
        network.inFlight.removeAll { $0.to == 2 }
        /// Runs `rounds` rounds of the network, dropping the appends to follower 2; returns how many there were.
        func appendsTo2(rounds: Int) -> Int {
            var count = 0
            for _ in 0..<rounds {
                network.processReady()
                count += network.inFlight.filter { $0.to == 2 && $0.type == .appendEntries }.count
                network.inFlight.removeAll { $0.to == 2 && $0.type == .appendEntries }
                network.deliver()
            }
            return count
        }
        // 50 reads: each is a heartbeat round, and follower 2 answers every heartbeat.
        for i in 0..<50 { network.nodes[1]!.readIndex(context: [UInt8(i)]) }
        let burst = appendsTo2(rounds: 10)
        #expect(burst <= 1, "\(burst) appends to a follower with a full window in one heartbeat interval")
        // Each periodic heartbeat still frees one slot (lost appends are found again).
        network.tick(1)
        let afterTick = appendsTo2(rounds: 5)
        #expect(afterTick == 1, "one append after the heartbeat round, got \(afterTick)")
    }
}
