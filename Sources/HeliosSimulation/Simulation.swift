import HeliosRaft
import HeliosReplication
import HeliosTesting

/// A simulation run that broke an invariant: the seed that reproduces it and the events before it.
public struct SimulationFailure: Error, Sendable, CustomStringConvertible {
    public var options: SimulationOptions
    public var violation: InvariantViolation
    public var time: UInt64
    /// One line per event, up to the failure (only when the run was traced).
    public var trace: [String]

    public var description: String {
        "simulation failed at t=\(time)µs, \(options)\n  \(violation)\n  replay: tools/simulate --seed \(options.seed) --trace"
    }
}

/// What a successful run did.
public struct SimulationReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var events = 0
    public var acknowledgedWrites = 0
    public var applied: UInt64 = 0
    public var leaders = 0
    public var crashes = 0
    public var partitions = 0
    public var snapshotsInstalled = 0
    public var membershipChanges = 0
    public var transfers = 0
    public var reads = 0
    /// Readies whose committed entries were applied while their new entries persisted.
    public var appliedBeforePersisting = 0
    /// Simulated µs from the end of faults to the first write committed after it.
    public var recoveryMicroseconds: UInt64 = 0

    public var description: String {
        "seed \(seed): \(events) events, \(acknowledgedWrites) writes acknowledged, applied to \(applied), "
            + "\(leaders) leaderships, \(crashes) crashes, \(partitions) partitions, \(snapshotsInstalled) snapshots installed, "
            + "\(membershipChanges) membership changes, \(transfers) transfers, \(reads) linearizable reads, "
            + "\(appliedBeforePersisting) Readies applied while persisting, recovered in \(recoveryMicroseconds / 1000) ms"
    }
}

/// Runs a Raft cluster (the real core and ``ReplicationCore``) in one thread with a seeded
/// scheduler that chooses message delays, losses, duplicates, partitions, crashes that lose every
/// unsynced write, slow disks and clock rates; checks the Raft invariants after every event.
public final class Simulation {
    enum Event {
        case tick(NodeID, generation: Int)
        case deliver(Message)
        case persisted(NodeID, generation: Int)
        case propose
        case fault
        case snapshot
        case read
        case endFaults
    }

    struct Node {
        let id: NodeID
        var durable: MemoryRaftStorage
        var core: ReplicationCore?
        var generation = 0
        var inFlight: Ready?
        var machine = SimulatedStateMachine()
        var tickInterval: UInt64
        var slowDisk = false
        var decommissioned = false
        /// The term this node last reported, to check terms never go backwards.
        var lastTerm: UInt64 = 0
        var isUp: Bool { core != nil }
    }

    public let options: SimulationOptions
    private var random: SeededRandom
    private var queue = EventQueue<Event>()
    private var now: UInt64 = 0
    private var nodes: [NodeID: Node] = [:]
    private var checker = InvariantChecker()
    private var report: SimulationReport
    private var blocked: Set<[NodeID]> = []
    private var faultsActive = true
    private var dropRate: Double
    private var duplicateRate: Double
    private var nextNodeID: NodeID
    private var nextProposal: UInt64 = 0
    private var leaderGuess: NodeID = 1
    private var acknowledged: [UInt64: UInt64] = [:]  // proposal id -> index
    private var maxAcknowledgedIndex: UInt64 = 0
    private var reads: [[UInt8]: UInt64] = [:]  // context -> smallest acceptable read index
    private var nextRead: UInt64 = 0
    private var faultsEndedAt: UInt64?
    private var firstProposalAfterFaults: UInt64?
    private var recoveredAt: UInt64?
    private var tracing: Bool
    /// Nodes that have been in the leader's applied configuration.
    private var everMember: Set<NodeID> = []
    private(set) var trace: [String] = []

    public init(options: SimulationOptions, trace: Bool = false) {
        self.options = options
        random = SeededRandom(seed: options.seed)
        report = SimulationReport(seed: options.seed)
        dropRate = options.dropRate
        duplicateRate = options.duplicateRate
        nextNodeID = NodeID(options.nodes + 1)
        tracing = trace
        let voters = Set((1...options.nodes).map { NodeID($0) })
        for id in voters.sorted() {
            addNode(id, storage: MemoryRaftStorage(bootstrap: ConfigurationState(voters: voters)))
        }
    }

    /// Runs the faulty phase, then the liveness phase; throws at the first broken invariant.
    public func run() throws(SimulationFailure) -> SimulationReport {
        queue.schedule(.propose, at: 1)
        queue.schedule(.fault, at: options.faultInterval)
        queue.schedule(.snapshot, at: 50_000)
        queue.schedule(.read, at: 20_000)
        queue.schedule(.endFaults, at: options.faultyDuration)
        let deadline = options.faultyDuration + options.livenessBudget
        do throws(InvariantViolation) {
            while let (time, event) = queue.pop() {
                now = time
                report.events += 1
                if now > deadline {
                    throw InvariantViolation(
                        invariant: "liveness",
                        detail: "no write committed within \(options.livenessBudget / 1000) ms after faults stopped")
                }
                try handle(event)
                if let recoveredAt, now > recoveredAt + 300_000 { break }
            }
            try finalChecks()
        } catch {
            throw SimulationFailure(options: options, violation: error, time: now, trace: trace)
        }
        report.applied = checker.maxApplied
        report.acknowledgedWrites = acknowledged.count
        if let recoveredAt, let faultsEndedAt { report.recoveryMicroseconds = recoveredAt - faultsEndedAt }
        return report
    }

    private func log(_ line: @autoclosure () -> String) {
        if tracing { trace.append("t=\(now) \(line())") }
    }

    // MARK: Nodes

    private func addNode(_ id: NodeID, storage: MemoryRaftStorage) {
        let skew = options.tickSkew
        let factor = 1 + (Double(random.below(2001)) / 1000 - 1) * skew
        var node = Node(id: id, durable: storage, tickInterval: max(1, UInt64(Double(options.tickInterval) * factor)))
        node.core = makeCore(id, storage: storage)
        nodes[id] = node
        queue.schedule(.tick(id, generation: 0), at: now + random.inRange(1...node.tickInterval))
    }

    private func makeCore(_ id: NodeID, storage: MemoryRaftStorage) -> ReplicationCore {
        var config = RaftConfiguration(id: id, randomSeed: random.next())
        config.applied = storage.currentSnapshot.metadata.index
        config.snapshotChunkBytes = options.snapshotChunkBytes
        config.maxMessageBytes = 4096
        config.maxInflightMessages = 16
        return ReplicationCore(node: try! RawNode(configuration: config, storage: storage))
    }

    private func crash(_ id: NodeID) {
        guard var node = nodes[id], node.isUp else { return }
        // The write in progress may be partly durable: a prefix of its entries (the log's torn-tail
        // recovery keeps a prefix), the snapshot or not; the hard state (written last) is lost.
        if let ready = node.inFlight, random.chance(0.5) {
            if let snapshot = ready.snapshot, random.chance(0.5) { try? node.durable.applySnapshot(snapshot) }
            let kept = Int(random.below(UInt64(ready.entries.count + 1)))
            if kept > 0 { node.durable.append(Array(ready.entries.prefix(kept))) }
        }
        node.core = nil
        node.inFlight = nil
        node.generation += 1
        nodes[id] = node
        report.crashes += 1
        log("crash n\(id)")
    }

    private func restart(_ id: NodeID) throws(InvariantViolation) {
        guard var node = nodes[id], !node.isUp, !node.decommissioned else { return }
        node.core = makeCore(id, storage: node.durable)
        let snapshot = node.durable.currentSnapshot
        node.machine = SimulatedStateMachine.decode(snapshot.data) ?? SimulatedStateMachine()
        if snapshot.metadata.index > 0 { try checker.restored(node.machine, node: id) }
        node.generation += 1
        node.lastTerm = 0
        nodes[id] = node
        queue.schedule(.tick(id, generation: node.generation), at: now + node.tickInterval)
        log("restart n\(id) from snapshot \(snapshot.metadata.index), log to \(try! node.durable.lastIndex())")
    }

    // MARK: Events

    private func handle(_ event: Event) throws(InvariantViolation) {
        switch event {
        case .tick(let id, let generation):
            guard let node = nodes[id], node.isUp, node.generation == generation else { return }
            nodes[id]!.core!.withNode { $0.tick() }
            try pump(id)
            queue.schedule(.tick(id, generation: generation), at: now + node.tickInterval)
        case .deliver(let message):
            guard nodes[message.to]?.isUp == true, !blocked.contains([message.from, message.to]) else {
                log("lost \(message)")
                return
            }
            log("recv \(message)")
            nodes[message.to]!.core!.withNode { $0.step(message) }
            try pump(message.to)
        case .persisted(let id, let generation):
            guard let node = nodes[id], node.isUp, node.generation == generation else { return }
            try finishPersist(id)
        case .propose:
            try propose()
            queue.schedule(.propose, at: now + random.inRange(1...(2 * options.proposalInterval)))
        case .fault:
            guard faultsActive else { return }
            try injectFault()
            queue.schedule(.fault, at: now + random.inRange(1...(2 * options.faultInterval)))
        case .snapshot:
            if options.snapshots { takeSnapshot() }
            queue.schedule(.snapshot, at: now + random.inRange(20_000...200_000))
        case .read:
            if options.reads { startRead() }
            queue.schedule(.read, at: now + random.inRange(10_000...60_000))
        case .endFaults:
            try endFaults()
        }
    }

    /// Starts persisting the node's next Ready, if any.
    private func pump(_ id: NodeID) throws(InvariantViolation) {
        guard var node = nodes[id], var core = node.core, node.inFlight == nil else { return }
        guard let ready = core.startReady() else { return }
        if let soft = ready.softState {
            log("n\(id) \(soft.role) leader \(soft.leader) term \(core.node.status.term)")
            if soft.role == .leader {
                report.leaders += 1
                leaderGuess = id
                try checker.leaderElected(id, term: core.node.status.term, raft: core.node)
            }
        }
        let term = core.node.status.term
        if term < node.lastTerm {
            throw InvariantViolation(invariant: "monotonic term", detail: "node \(id) went from term \(node.lastTerm) to \(term)")
        }
        node.lastTerm = term
        if let first = ready.entries.first {
            let previous = core.node.term(at: first.index - 1) ?? 0
            try checker.appended(ready.entries, previousTerm: previous, node: id)
        }
        for message in ready.messages { send(message) }
        if options.applyBeforePersisting, core.canApplyBeforePersisting(durableIndex: (try? node.durable.lastIndex()) ?? 0) {
            let applied = try applying(id, &node.machine) { restore, apply in core.applyReady(restore: restore, apply: apply) }
            acknowledge(applied.outcomes)
            if !ready.entries.isEmpty { report.appliedBeforePersisting += 1 }
        }
        if options.unsafeAcknowledgeBeforePersist {
            for message in ready.messagesAfterPersist { send(message) }
        }
        node.core = core
        node.inFlight = ready
        nodes[id] = node
        var latency = random.inRange(options.minFsync...options.maxFsync)
        if node.slowDisk { latency *= options.slowDiskFactor }
        queue.schedule(.persisted(id, generation: node.generation), at: now + latency)
    }

    private func finishPersist(_ id: NodeID) throws(InvariantViolation) {
        var node = nodes[id]!
        let ready = node.inFlight!
        if let snapshot = ready.snapshot {
            try? node.durable.applySnapshot(snapshot)
            report.snapshotsInstalled += 1
        }
        node.durable.append(ready.entries)
        if let hard = ready.hardState { node.durable.setHardState(hard) }
        var machine = node.machine
        var core = node.core!
        let completion = try applying(id, &machine) { restore, apply in core.finishReady(restore: restore, apply: apply) }
        node.machine = machine
        node.core = core
        node.inFlight = nil
        nodes[id] = node
        if !options.unsafeAcknowledgeBeforePersist {
            for message in completion.messages { send(message) }
        }
        acknowledge(completion.outcomes)
        for read in completion.readStates {
            guard let minimum = reads.removeValue(forKey: read.context) else { continue }
            if read.index < minimum {
                throw InvariantViolation(
                    invariant: "linearizable read",
                    detail: "node \(id) served a read at index \(read.index), but a write at \(minimum) was acknowledged before the read began")
            }
            report.reads += 1
        }
        try retireRemovedMembers(id)
        try pump(id)
    }

    /// Runs `body` with the callbacks that restore and apply on `machine`, checking each step.
    private func applying<T>(
        _ id: NodeID, _ machine: inout SimulatedStateMachine,
        _ body: (_ restore: (Snapshot) -> Void, _ apply: (Entry) -> Void) -> T
    ) throws(InvariantViolation) -> T {
        var state = machine
        var violation: InvariantViolation?
        var checker = self.checker
        let result = body(
            { snapshot in
                self.log("n\(id) restore \(snapshot.metadata.index)@\(snapshot.metadata.term)")
                state = SimulatedStateMachine.decode(snapshot.data) ?? SimulatedStateMachine()
                do throws(InvariantViolation) { try checker.restored(state, node: id) } catch { violation = violation ?? error }
            },
            { entry in
                self.log("n\(id) apply \(entry.index)@\(entry.term)")
                state.apply(entry)
                do throws(InvariantViolation) { try checker.applying(entry, node: id, chainAfter: state.hash) } catch {
                    violation = violation ?? error
                }
            })
        self.checker = checker
        if let violation { throw violation }
        machine = state
        return result
    }

    /// Records the writes whose proposals were applied (the client was answered).
    private func acknowledge(_ outcomes: [(id: UInt64, outcome: ReplicationCore.ProposalOutcome)]) {
        for (proposal, outcome) in outcomes {
            if case .applied(let index) = outcome {
                acknowledged[proposal] = index
                maxAcknowledgedIndex = max(maxAcknowledgedIndex, index)
                if let first = firstProposalAfterFaults, proposal >= first, recoveredAt == nil {
                    recoveredAt = now
                    log("recovered: write \(proposal) committed at \(index)")
                }
            }
        }
    }

    private func send(_ message: Message) {
        log("send \(message)")
        if faultsActive && random.chance(dropRate) {
            log("drop \(message)")
            return
        }
        let copies = faultsActive && random.chance(duplicateRate) ? 2 : 1
        for _ in 0..<copies {
            queue.schedule(.deliver(message), at: now + random.inRange(options.minDelay...options.maxDelay))
        }
    }

    // MARK: Clients

    private func propose() throws(InvariantViolation) {
        let up = nodes.values.filter { $0.isUp }.map(\.id).sorted()
        guard !up.isEmpty else { return }
        let target = nodes[leaderGuess]?.isUp == true ? leaderGuess : up[Int(random.below(UInt64(up.count)))]
        nextProposal += 1
        let id = nextProposal
        let data = Array("w\(id)".utf8)
        do {
            let index = try nodes[target]!.core!.propose(data, id: id)
            log("propose w\(id) at n\(target) index \(index)")
        } catch {
            if case .notLeader(let leader) = error, leader != 0 {
                leaderGuess = leader
            } else {
                leaderGuess = up[Int(random.below(UInt64(up.count)))]
            }
        }
        try pump(target)
    }

    private func startRead() {
        let up = nodes.values.filter { $0.isUp }.map(\.id).sorted()
        guard !up.isEmpty else { return }
        let target = up[Int(random.below(UInt64(up.count)))]
        nextRead += 1
        let context = Array("r\(nextRead)".utf8)
        // Every write acknowledged before the read starts must be visible to it.
        reads[context] = maxAcknowledgedIndex
        nodes[target]!.core!.withNode { $0.readIndex(context: context) }
        log("read r\(nextRead) at n\(target), must see \(maxAcknowledgedIndex)")
        try? pump(target)
    }

    // MARK: Faults

    private func injectFault() throws(InvariantViolation) {
        let members = nodes.values.filter { !$0.decommissioned }.map(\.id).sorted()
        let up = members.filter { nodes[$0]!.isUp }
        let down = members.filter { !nodes[$0]!.isUp }
        var kind = random.below(10)
        if !options.partitions && (kind == 4 || kind == 5) { kind = kind == 4 ? 0 : 2 }
        switch kind {
        case 0, 1:
            if up.count > 1 { crash(up[Int(random.below(UInt64(up.count)))]) }
        case 2, 3:
            if !down.isEmpty { try restart(down[Int(random.below(UInt64(down.count)))]) }
        case 4:
            // Symmetric partition: a random minority is cut off.
            let isolated = members.filter { _ in random.chance(0.4) }
            for a in isolated {
                for b in members where !isolated.contains(b) {
                    blocked.insert([a, b])
                    blocked.insert([b, a])
                }
            }
            report.partitions += 1
            log("partition \(isolated) | rest")
        case 5:
            // Asymmetric: one direction of some links fails.
            for a in members {
                for b in members where a != b && random.chance(0.15) { blocked.insert([a, b]) }
            }
            report.partitions += 1
            log("asymmetric partition \(blocked.map { "\($0[0])->\($0[1])" }.sorted())")
        case 6:
            blocked = []
            log("heal")
        case 7:
            if let id = up.randomElement(using: &random) {
                nodes[id]!.slowDisk.toggle()
                log("n\(id) slow disk \(nodes[id]!.slowDisk)")
            }
        case 8:
            if options.transfers, let leader = currentLeader() {
                let voters = nodes[leader]!.core!.node.status.configuration.voters.filter { $0 != leader }.sorted()
                if let target = voters.randomElement(using: &random) {
                    nodes[leader]!.core!.withNode { $0.transferLeadership(to: target) }
                    report.transfers += 1
                    log("transfer leadership n\(leader) -> n\(target)")
                    try pump(leader)
                }
            }
        default:
            if options.membershipChanges { try changeMembership() }
        }
    }

    private func currentLeader() -> NodeID? {
        nodes.values.filter { $0.core?.node.status.role == .leader }.max { $0.core!.node.status.term < $1.core!.node.status.term }?.id
    }

    private func changeMembership() throws(InvariantViolation) {
        guard let leader = currentLeader() else { return }
        let configuration = nodes[leader]!.core!.node.status.configuration
        let change: ConfigurationChange
        if let learner = configuration.learners.sorted().first {
            change = ConfigurationChange(.addVoter, node: learner)
        } else if configuration.voters.count < 5 && random.chance(0.6) {
            let id = nextNodeID
            nextNodeID += 1
            addNode(id, storage: MemoryRaftStorage())
            change = ConfigurationChange(.addLearner, node: id)
        } else if configuration.voters.count > 3 {
            let candidates = configuration.voters.filter { $0 != leader }.sorted()
            guard let victim = candidates.randomElement(using: &random) else { return }
            change = ConfigurationChange(.remove, node: victim)
        } else {
            return
        }
        nextProposal += 1
        if (try? nodes[leader]!.core!.proposeConfigurationChange(change, id: nextProposal)) != nil {
            report.membershipChanges += 1
            log("propose \(change) at n\(leader)")
        }
        try pump(leader)
    }

    /// Shuts down nodes whose removal the leader has applied (an operator would decommission them).
    private func retireRemovedMembers(_ id: NodeID) throws(InvariantViolation) {
        guard let core = nodes[id]?.core, core.node.status.role == .leader else { return }
        let members = core.node.status.configuration.members
        everMember.formUnion(members)
        for other in everMember.subtracting(members).sorted() where nodes[other]?.decommissioned == false {
            crash(other)
            nodes[other]!.decommissioned = true
            log("decommission n\(other)")
        }
    }

    private func takeSnapshot() {
        let up = nodes.values.filter { $0.isUp && $0.machine.index > 0 }.map(\.id).sorted()
        guard let id = up.randomElement(using: &random) else { return }
        let node = nodes[id]!
        let index = node.machine.index
        guard index > node.durable.currentSnapshot.metadata.index + 5 else { return }
        let configuration = node.core!.node.status.configuration
        do {
            try node.durable.createSnapshot(index: index, configuration: configuration, data: node.machine.encoded())
            let retain = random.below(8)
            let through = index > retain ? index - retain : index
            try node.durable.compact(through: through)
            log("n\(id) snapshot at \(index), compacted through \(through)")
        } catch {
            log("n\(id) snapshot at \(index) not taken: \(error)")
        }
    }

    private func endFaults() throws(InvariantViolation) {
        faultsActive = false
        blocked = []
        dropRate = 0
        duplicateRate = 0
        for id in nodes.keys.sorted() {
            nodes[id]!.slowDisk = false
            if !nodes[id]!.isUp && !nodes[id]!.decommissioned { try restart(id) }
        }
        faultsEndedAt = now
        firstProposalAfterFaults = nextProposal + 1
        log("faults end; liveness phase")
    }

    private func finalChecks() throws(InvariantViolation) {
        guard recoveredAt != nil else {
            throw InvariantViolation(invariant: "liveness", detail: "the run ended before a write committed after the faults")
        }
        // Durability: every acknowledged write is in the applied sequence at its index.
        if let missing = acknowledged.values.first(where: { $0 > checker.maxApplied }) {
            throw InvariantViolation(invariant: "durability", detail: "acknowledged write at \(missing) is past the applied sequence")
        }
    }
}

extension Array {
    fileprivate func randomElement(using random: inout SeededRandom) -> Element? {
        isEmpty ? nil : self[Int(random.below(UInt64(count)))]
    }
}
