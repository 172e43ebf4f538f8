@testable import HeliosRaft
import Testing

@Suite("Raft: bad messages")
struct BadMessageTests {
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: UInt64) -> UInt64 { next() % n }
    }

    /// A random message: real types, plausible and implausible numbers, unknown senders.
    static func randomMessage(_ random: inout Random, to: NodeID, term: UInt64, lastIndex: UInt64) -> Message {
        let type = MessageType.allCases[Int(random.below(UInt64(MessageType.allCases.count)))]
        let from = [NodeID(1), 2, 3, 9, 77][Int(random.below(5))]
        let terms = [0, term &- 1, term, term + 1, random.next()]
        var message = Message(type: type, from: from, to: to, term: terms[Int(random.below(5))])
        let indexes = [0, lastIndex / 2, lastIndex, lastIndex + 1, lastIndex + 1000, random.next()]
        message.index = indexes[Int(random.below(6))]
        message.logTerm = terms[Int(random.below(5))]
        message.commit = indexes[Int(random.below(6))]
        message.reject = random.below(2) == 0
        message.rejectHint = indexes[Int(random.below(6))]
        if random.below(3) == 0 {
            let start = indexes[Int(random.below(4))] + random.below(3)
            message.entries = (0..<Int(random.below(4))).map {
                Entry(index: start + UInt64($0) + random.below(2), term: terms[Int(random.below(4))], data: [UInt8(random.below(256))])
            }
        }
        if random.below(4) == 0 {
            message.snapshot = SnapshotMetadata(index: indexes[Int(random.below(6))], term: terms[Int(random.below(5))],
                                                configuration: ConfigurationState(voters: [1, 2, 3]))
            message.data = [1, 2, 3]
            message.flag = random.below(2) == 0
        }
        return message
    }

    @Test("random, stale and out-of-range messages never crash a node, and the cluster keeps committing",
          arguments: [1, 2, 3, 4] as [UInt64])
    func fuzz(seed: UInt64) throws {
        var random = Random(state: seed)
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        for round in 0..<300 {
            for target: NodeID in [1, 2, 3] {
                let status = network.status(target)
                network.nodes[target]!.step(Self.randomMessage(&random, to: target, term: status.term, lastIndex: status.lastIndex))
            }
            network.tickAll()
            network.stabilize()
            if round % 10 == 0, let leader = network.leader() {
                try? network.propose(leader, "r\(round)")
            }
        }
        // Whatever happened, the cluster still agrees and commits.
        var leader: NodeID?
        for _ in 0..<200 {
            network.tickAll()
            network.stabilize()
            if let current = network.leader() { leader = current; break }
        }
        let elected = try #require(leader)
        try network.propose(elected, "final")
        network.stabilize()
        let sequences = [NodeID(1), 2, 3].map { network.applied[$0]!.map { "\($0.index)@\($0.term)" } }
        let shortest = sequences.map(\.count).min()!
        #expect(sequences.allSatisfy { Array($0.prefix(shortest)) == Array(sequences[0].prefix(shortest)) })
        #expect(network.appliedData(elected).last == "final")
    }
}
