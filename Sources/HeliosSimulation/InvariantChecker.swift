import HeliosRaft

/// A broken Raft property: which, and the evidence.
public struct InvariantViolation: Error, Sendable, CustomStringConvertible {
    public var invariant: String
    public var detail: String
    public var description: String { "\(invariant): \(detail)" }
}

/// Checks the Raft safety properties as the simulation runs (Raft paper, Figure 3).
struct InvariantChecker {
    /// Election safety: the leader of each term.
    private var leaders: [UInt64: NodeID] = [:]
    /// Log matching: for each (index, term) ever written, the previous entry's term and the content.
    private var records: [Pair: (previousTerm: UInt64, content: UInt64)] = [:]
    /// State machine safety: the one applied sequence (index → term, content, chain hash after it).
    private(set) var applied: [(term: UInt64, content: UInt64, chain: UInt64)] = [(0, 0, SimulatedStateMachine().hash)]

    struct Pair: Hashable {
        var index: UInt64
        var term: UInt64
    }

    var maxApplied: UInt64 { UInt64(applied.count - 1) }

    mutating func leaderElected(_ node: NodeID, term: UInt64, raft: RawNode) throws(InvariantViolation) {
        if let other = leaders[term], other != node {
            throw InvariantViolation(invariant: "election safety", detail: "nodes \(other) and \(node) both lead term \(term)")
        }
        leaders[term] = node
        // Leader completeness: every applied (hence committed) entry is in the new leader's log.
        let start = max(raft.firstIndex, 1)
        if start <= maxApplied {
            for index in start...maxApplied {
                guard let term = raft.term(at: index) else {
                    throw InvariantViolation(
                        invariant: "leader completeness",
                        detail: "node \(node) leads term \(term) without committed entry \(index) (its log ends at \(raft.status.lastIndex))")
                }
                if term != applied[Int(index)].term {
                    throw InvariantViolation(
                        invariant: "leader completeness",
                        detail: "node \(node) leads term \(term) with entry \(index)@\(term), but \(index)@\(applied[Int(index)].term) was committed")
                }
            }
        }
    }

    mutating func appended(_ entries: [Entry], previousTerm: UInt64, node: NodeID) throws(InvariantViolation) {
        var previous = previousTerm
        for entry in entries {
            let key = Pair(index: entry.index, term: entry.term)
            let record = (previous, contentHash(entry))
            if let existing = records[key] {
                if existing.previousTerm != record.0 || existing.content != record.1 {
                    throw InvariantViolation(
                        invariant: "log matching",
                        detail: "node \(node) holds \(entry.index)@\(entry.term) with previous term \(previous), another node with previous term \(existing.previousTerm) (or different content)")
                }
            } else {
                records[key] = record
            }
            previous = entry.term
        }
    }

    mutating func applying(_ entry: Entry, node: NodeID, chainAfter: UInt64) throws(InvariantViolation) {
        let index = Int(entry.index)
        if index < applied.count {
            let expected = applied[index]
            if expected.term != entry.term || expected.content != contentHash(entry) || expected.chain != chainAfter {
                throw InvariantViolation(
                    invariant: "state machine safety",
                    detail: "node \(node) applied \(entry.index)@\(entry.term), but \(entry.index)@\(expected.term) was applied elsewhere (or the sequence before it differs)")
            }
        } else if index == applied.count {
            applied.append((entry.term, contentHash(entry), chainAfter))
        } else {
            throw InvariantViolation(
                invariant: "state machine safety", detail: "node \(node) applied \(entry.index) before anyone applied \(applied.count)")
        }
    }

    func restored(_ machine: SimulatedStateMachine, node: NodeID) throws(InvariantViolation) {
        let index = Int(machine.index)
        guard index < applied.count, applied[index].chain == machine.hash else {
            throw InvariantViolation(
                invariant: "state machine safety", detail: "node \(node) restored a snapshot at \(machine.index) that matches no applied sequence")
        }
    }
}
