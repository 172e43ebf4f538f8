import Dispatch
import HeliosRaft
import Logging
import Synchronization

/// Why a proposal or read did not complete.
public enum ProposalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// This node does not lead; `leader` is the one it knows (0 if none).
    case notLeader(leader: NodeID)
    /// The entry lost its place (leadership changed before it committed); it was not applied.
    case dropped
    /// No outcome within the deadline; the entry may still commit later.
    case timeout
    /// The node is shutting down.
    case shuttingDown
    /// Raft refused it (a pending configuration change, a leadership transfer, too much uncommitted data).
    case refused(RaftError)
    /// This node could not persist to its disk (e.g. it is full) and stopped; the entry may still
    /// commit through the other servers.
    case storageFailed(String)

    public var description: String {
        switch self {
        case .notLeader(let leader): leader == 0 ? "no leader is known yet; retry shortly" : "not the leader; node \(leader) leads"
        case .dropped: "the proposal was dropped by a leadership change; retry"
        case .timeout: "no outcome within the deadline; the proposal may still commit"
        case .shuttingDown: "the node is shutting down"
        case .refused(let error): error.description
        case .storageFailed(let reason): "this server stopped: it could not write to its disk (\(reason)); the write may still commit on the others"
        }
    }
}

/// Runs one Raft node: a single loop owns the ``RawNode`` (through ``ReplicationCore``); ticks,
/// inbound messages and requests are queued to it. Each Ready is handled as: send the messages that
/// may go first → persist (one fdatasync for the entries) → send acknowledgements → apply → advance.
public final class RaftDriver: Sendable {
    public let id: NodeID
    let storage: SegmentedRaftStorage
    let transport: any RaftTransport
    let stateMachine: any RaftStateMachine
    let tickInterval: Duration
    let logger: Logger
    private let inputs = Mutex<Inbox>(Inbox())
    private let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation
    private let published = Mutex<RaftStatus?>(nil)
    private let configuration: RaftConfiguration
    let compaction: CompactionPolicy?

    /// When the driver snapshots the state machine and purges the log on its own.
    public struct CompactionPolicy: Sendable {
        /// Take a snapshot once this many entries were applied since the last one.
        public var everyEntries: UInt64
        /// Entries to keep below the snapshot for followers that lag a little (they get the snapshot otherwise).
        public var retainEntries: UInt64

        public init(everyEntries: UInt64 = 10_000, retainEntries: UInt64 = 5_000) {
            self.everyEntries = everyEntries
            self.retainEntries = retainEntries
        }
    }

    struct Inbox {
        var items: [Input] = []
        var closed = false
        /// A timer will send `.flushBackground` for the background proposals waiting in the loop.
        var flushScheduled = false
    }

    /// How long a background proposal may wait for an ordinary one to go out with (see
    /// ``propose(_:timeout:background:)``).
    let backgroundDelay: Duration

    enum Input {
        case tick
        case message(Message)
        case connectionClosed(NodeID)
        case propose([UInt8], ContinuousClock.Instant, CheckedContinuation<Committed, any Error>)
        /// Held by the loop until a client's proposal or `.flushBackground` comes.
        case proposeInBackground([UInt8], ContinuousClock.Instant, CheckedContinuation<Committed, any Error>)
        case flushBackground
        case configurationChange(ConfigurationChange, ContinuousClock.Instant, CheckedContinuation<Committed, any Error>)
        case read(ContinuousClock.Instant, CheckedContinuation<UInt64, any Error>)
        case transfer(NodeID)
        case campaign
        case compact(CheckedContinuation<UInt64, any Error>)
        /// A background compaction finished (nil error: the snapshot at `index` is stored).
        case compacted(index: UInt64, error: (any Error)?)
    }

    public init(
        configuration: RaftConfiguration, storage: SegmentedRaftStorage, transport: any RaftTransport,
        stateMachine: any RaftStateMachine, tickInterval: Duration = .milliseconds(100),
        compaction: CompactionPolicy? = CompactionPolicy(), backgroundDelay: Duration = .milliseconds(25),
        logger: Logger = Logger(label: "helios.raft")
    ) {
        id = configuration.id
        self.backgroundDelay = backgroundDelay
        self.compaction = compaction
        self.configuration = configuration
        self.storage = storage
        self.transport = transport
        self.stateMachine = stateMachine
        self.tickInterval = tickInterval
        self.logger = logger
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Inputs (any thread)

    /// A message from a peer (called by the transport).
    public func receive(_ message: Message) { enqueue(.message(message)) }

    /// The transport's connection carrying `node`'s messages closed (called by the transport); see
    /// ``RawNode/reportConnectionClosed(from:)``: a follower that loses its leader this way campaigns
    /// within a few ticks instead of waiting out the election timeout.
    public func connectionClosed(from node: NodeID) { enqueue(.connectionClosed(node)) }

    /// Proposes `data`; returns once it is committed and applied here, with its index and what the
    /// state machine's ``RaftStateMachine/apply(_:)`` returned for it.
    ///
    /// A `background` proposal (work the server starts itself, such as the scheduler's plans and
    /// evaluation updates) waits, at most `backgroundDelay` (25 ms by default), for the next
    /// ordinary proposal and goes into the same Ready, just before it: it then costs no fsync and
    /// no replication round of its own. Messages, ticks and reads do not release it.
    public func propose(_ data: [UInt8], timeout: Duration = .seconds(5), background: Bool = false) async throws -> Committed {
        let deadline = ContinuousClock.now + timeout
        return try await withCheckedThrowingContinuation {
            if background {
                enqueueInBackground(.proposeInBackground(data, deadline, $0))
            } else {
                enqueue(.propose(data, deadline, $0))
            }
        }
    }

    /// Proposes a membership change; returns once it is applied here.
    public func proposeConfigurationChange(_ change: ConfigurationChange, timeout: Duration = .seconds(5)) async throws -> UInt64 {
        let deadline = ContinuousClock.now + timeout
        return try await withCheckedThrowingContinuation { enqueue(.configurationChange(change, deadline, $0)) }.index
    }

    /// A linearizable read barrier: returns once this node has applied everything committed before
    /// the call (ReadIndex, confirmed by a quorum), with that index.
    public func readBarrier(timeout: Duration = .seconds(5)) async throws -> UInt64 {
        let deadline = ContinuousClock.now + timeout
        return try await withCheckedThrowingContinuation { enqueue(.read(deadline, $0)) }
    }

    /// Asks this node (if it leads) to hand leadership to `target`.
    public func transferLeadership(to target: NodeID) { enqueue(.transfer(target)) }

    /// Starts an election now.
    public func campaign() { enqueue(.campaign) }

    /// Takes a snapshot at the applied index now and purges the log below it; returns the index.
    public func compactNow() async throws -> UInt64 {
        try await withCheckedThrowingContinuation { enqueue(.compact($0)) }
    }

    /// The current membership (node ids), after the last loop iteration.
    public var membership: ConfigurationState? { published.withLock { $0?.configuration } }

    /// The node's state after its last loop iteration.
    public var status: RaftStatus? { published.withLock { $0 } }

    /// Stops the loop; pending requests fail with `.shuttingDown`.
    public func shutdown() {
        inputs.withLock { $0.closed = true }
        ring.finish()
    }

    private func enqueue(_ input: Input) {
        let accepted = inputs.withLock { inbox -> Bool in
            if inbox.closed { return false }
            inbox.items.append(input)
            return true
        }
        if accepted {
            ring.yield()
        } else {
            fail(input, .shuttingDown)
        }
    }

    /// Queues `input` without ringing; makes sure a `.flushBackground` follows within
    /// `backgroundDelay` (one timer at a time, however many proposals wait for it).
    private func enqueueInBackground(_ input: Input) {
        let (accepted, startTimer) = inputs.withLock { inbox -> (Bool, Bool) in
            if inbox.closed { return (false, false) }
            inbox.items.append(input)
            defer { inbox.flushScheduled = true }
            return (true, !inbox.flushScheduled)
        }
        guard accepted else { return fail(input, .shuttingDown) }
        guard startTimer else { return }
        Task {
            try? await Task.sleep(for: backgroundDelay)
            inputs.withLock { $0.flushScheduled = false }
            enqueue(.flushBackground)
        }
    }

    private func fail(_ input: Input, _ error: ProposalError) {
        switch input {
        case .propose(_, _, let continuation), .proposeInBackground(_, _, let continuation), .configurationChange(_, _, let continuation):
            continuation.resume(throwing: error)
        case .read(_, let continuation), .compact(let continuation):
            continuation.resume(throwing: error)
        default:
            break
        }
    }

    // MARK: The loop

    /// Runs the node until ``shutdown()``.
    public func run() async throws {
        var config = configuration
        config.applied = try storage.snapshot().metadata.index
        let snapshot = try storage.snapshot()
        if snapshot.metadata.index > 0 { stateMachine.restore(snapshot) }
        var loop = Loop(core: ReplicationCore(node: try RawNode(configuration: config, storage: storage)))
        loop.lastSnapshot = config.applied
        let ticker = Task { [tickInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: tickInterval)
                enqueue(.tick)
            }
        }
        defer { ticker.cancel() }
        publish(loop)
        var failure: (any Error)?
        for await _ in doorbell {
            let batch = inputs.withLock { inbox -> [Input] in
                let items = inbox.items
                inbox.items = []
                return items
            }
            handle(batch, &loop)
            do {
                try await processReadies(&loop)
            } catch {
                // The disk refused a write or an fdatasync (full, failing): this node can no longer
                // promise durability, and the log refuses writes until it is reopened. Stop (as etcd
                // does) rather than run on with state the disk may not hold; a restart recovers
                // from what is durable and catches up from the leader.
                failure = error
                break
            }
            if !loop.pendingCompactions.isEmpty && !loop.compacting {
                if !startCompaction(&loop) {
                    // Nothing new to snapshot: the latest snapshot already covers the applied state.
                    for continuation in loop.pendingCompactions { continuation.resume(returning: loop.lastSnapshot) }
                    loop.pendingCompactions = []
                }
            }
            publish(loop)
        }
        // Shut down: fail what is still waiting, save the final hard state.
        let leftovers = inputs.withLock { inbox -> [Input] in
            inbox.closed = true  // after a storage failure nobody called shutdown(): refuse what comes next
            let items = inbox.items
            inbox.items = []
            return items
        }
        let reason: ProposalError = failure.map { .storageFailed("\($0)") } ?? .shuttingDown
        for input in leftovers { fail(input, reason) }
        for (_, waiter) in loop.proposals { waiter.continuation.resume(throwing: reason) }
        for held in loop.heldBackground { held.continuation.resume(throwing: reason) }
        for waiter in loop.reads.values { waiter.continuation.resume(throwing: reason) }
        for waiter in loop.readsWaitingForApply { waiter.continuation.resume(throwing: reason) }
        // A background compaction must finish before the storage closes.
        if loop.compacting, let compaction = loop.compaction {
            let error = await compaction.value
            for continuation in loop.compactionWaiters {
                if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: loop.lastSnapshot) }
            }
        }
        for continuation in loop.pendingCompactions { continuation.resume(throwing: reason) }
        await storage.close()
        if let failure { throw failure }
    }

    /// State owned by the loop.
    struct Loop {
        var core: ReplicationCore
        var nextRequest: UInt64 = 0
        var proposals: [UInt64: Waiter<Committed>] = [:]
        var reads: [UInt64: Waiter<UInt64>] = [:]
        var readsWaitingForApply: [(index: UInt64, continuation: CheckedContinuation<UInt64, any Error>)] = []
        var applied: UInt64 = 0
        var lastSnapshot: UInt64 = 0
        var pendingCompactions: [CheckedContinuation<UInt64, any Error>] = []
        /// Background proposals waiting for a client's proposal (or their timer) to go out with.
        var heldBackground: [Proposal] = []
        /// Callers waiting for the compaction that is running in the background.
        var compactionWaiters: [CheckedContinuation<UInt64, any Error>] = []
        var compacting = false
        var compaction: Task<(any Error)?, Never>?

        typealias Proposal = (data: [UInt8], deadline: ContinuousClock.Instant, continuation: CheckedContinuation<Committed, any Error>)

        struct Waiter<Value> {
            var deadline: ContinuousClock.Instant
            var continuation: CheckedContinuation<Value, any Error>
        }
    }

    /// Handles a batch of inputs in order; consecutive proposals (after the held background ones)
    /// go to Raft as one batch: one append per follower for all of them instead of one each.
    private func handle(_ batch: [Input], _ loop: inout Loop) {
        var proposals: [Loop.Proposal] = []
        for input in batch {
            if case .propose(let data, let deadline, let continuation) = input {
                if proposals.isEmpty {
                    proposals = loop.heldBackground  // first: they were queued before this one
                    loop.heldBackground = []
                }
                proposals.append((data, deadline, continuation))
                continue
            }
            if !proposals.isEmpty {
                propose(proposals, &loop)
                proposals = []
            }
            handle(input, &loop)
        }
        if !proposals.isEmpty { propose(proposals, &loop) }
    }

    /// Proposes `proposals` as one batch. If Raft refuses the batch for its size, each is proposed
    /// alone, so as many go in as would have one by one.
    private func propose(_ proposals: [Loop.Proposal], _ loop: inout Loop) {
        let first = loop.nextRequest + 1
        loop.nextRequest += UInt64(proposals.count)
        do {
            _ = try loop.core.propose(batch: proposals.enumerated().map { ($1.data, first + UInt64($0)) })
            for (offset, proposal) in proposals.enumerated() {
                loop.proposals[first + UInt64(offset)] = Loop.Waiter(deadline: proposal.deadline, continuation: proposal.continuation)
            }
        } catch .tooManyUncommittedEntries where proposals.count > 1 {
            for proposal in proposals { propose([proposal], &loop) }
        } catch {
            for proposal in proposals { proposal.continuation.resume(throwing: Self.proposalError(error)) }
        }
    }

    private func handle(_ input: Input, _ loop: inout Loop) {
        switch input {
        case .tick:
            loop.core.withNode { $0.tick() }
            expire(&loop)
        case .message(let message):
            loop.core.withNode { $0.step(message) }
        case .connectionClosed(let node):
            loop.core.withNode { $0.reportConnectionClosed(from: node) }
        case .campaign:
            loop.core.withNode { $0.campaign() }
        case .transfer(let target):
            loop.core.withNode { $0.transferLeadership(to: target) }
        case .compact(let continuation):
            loop.pendingCompactions.append(continuation)
        case .compacted(let index, let error):
            loop.compacting = false
            let waiters = loop.compactionWaiters
            loop.compactionWaiters = []
            if let error {
                logger.error("compaction failed; the log keeps growing until the next attempt", metadata: ["error": "\(error)"])
                for continuation in waiters { continuation.resume(throwing: error) }
            } else {
                loop.lastSnapshot = max(loop.lastSnapshot, index)
                for continuation in waiters { continuation.resume(returning: loop.lastSnapshot) }
            }
        case .proposeInBackground(let data, let deadline, let continuation):
            loop.heldBackground.append((data, deadline, continuation))
        case .flushBackground:
            proposeHeld(&loop)
        case .propose:
            break  // gathered into batches by handle(_:_:) for a whole batch of inputs
        case .configurationChange(let change, let deadline, let continuation):
            loop.nextRequest += 1
            do {
                _ = try loop.core.proposeConfigurationChange(change, id: loop.nextRequest)
                loop.proposals[loop.nextRequest] = Loop.Waiter(deadline: deadline, continuation: continuation)
            } catch {
                continuation.resume(throwing: Self.proposalError(error))
            }
        case .read(let deadline, let continuation):
            loop.nextRequest += 1
            let status = loop.core.node.status
            guard status.leader != 0 else {
                continuation.resume(throwing: ProposalError.notLeader(leader: 0))
                return
            }
            loop.reads[loop.nextRequest] = Loop.Waiter(deadline: deadline, continuation: continuation)
            // The leader keys pending reads by context, so it must be unique across the cluster: this
            // node's id, then its request number.
            let context = withUnsafeBytes(of: id.littleEndian) { Array($0) } + withUnsafeBytes(of: loop.nextRequest.littleEndian) { Array($0) }
            loop.core.withNode { $0.readIndex(context: context) }
        }
    }

    /// Proposes the held background proposals (into the Ready that is being gathered).
    private func proposeHeld(_ loop: inout Loop) {
        guard !loop.heldBackground.isEmpty else { return }
        let held = loop.heldBackground
        loop.heldBackground = []
        propose(held, &loop)
    }

    private static func proposalError(_ error: RaftError) -> ProposalError {
        if case .notLeader(let leader) = error { return .notLeader(leader: leader) }
        return .refused(error)
    }

    private func expire(_ loop: inout Loop) {
        let now = ContinuousClock.now
        for (id, waiter) in loop.proposals where waiter.deadline < now {
            loop.proposals[id] = nil
            waiter.continuation.resume(throwing: ProposalError.timeout)
        }
        for (id, waiter) in loop.reads where waiter.deadline < now {
            loop.reads[id] = nil
            waiter.continuation.resume(throwing: ProposalError.timeout)
        }
    }

    private func processReadies(_ loop: inout Loop) async throws {
        while let ready = loop.core.startReady() {
            transport.send(ready.messages)
            // Nothing is being persisted between Readies, so the log's last index is durable.
            let durable = (try? storage.lastIndex()) ?? 0
            if loop.core.canApplyBeforePersisting(durableIndex: durable) {
                // The committed entries are durable here and on a quorum: apply them and answer their
                // proposers while this Ready's new entries are written, instead of after the fsync.
                async let persisting: Void = storage.persist(ready)
                var results: [UInt64: any Sendable] = [:]
                let applied = loop.core.applyReady(restore: { stateMachine.restore($0) }, apply: { Self.apply($0, stateMachine, into: &results) })
                resolve(applied.outcomes, applied.entries, results, &loop)
                try await persisting
            } else {
                try await storage.persist(ready)
            }
            var results: [UInt64: any Sendable] = [:]
            let completion = loop.core.finishReady(
                restore: { stateMachine.restore($0) },
                apply: { Self.apply($0, stateMachine, into: &results) })
            transport.send(completion.messages)
            resolve(completion.outcomes, completion.applied, results, &loop)
            if let snapshot = ready.snapshot { loop.applied = max(loop.applied, snapshot.metadata.index) }
            for state in completion.readStates {
                guard state.context.count == 16 else { continue }
                let (node, request) = state.context.withUnsafeBytes {
                    (UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)), UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
                }
                guard node == id, let waiter = loop.reads.removeValue(forKey: request) else { continue }
                loop.readsWaitingForApply.append((state.index, waiter.continuation))
            }
            // Reads are served once the state machine has applied their index.
            loop.readsWaitingForApply.removeAll { waiting in
                guard waiting.index <= loop.applied else { return false }
                waiting.continuation.resume(returning: waiting.index)
                return true
            }
            if let snapshot = ready.snapshot { loop.lastSnapshot = max(loop.lastSnapshot, snapshot.metadata.index) }
            try await compactIfDue(&loop)
            // Messages that arrived meanwhile (heartbeats, votes) come before the next Ready: a node
            // working through a long backlog of committed entries must keep answering its leader.
            // The doorbell has rung for them, so the loop comes back for the rest.
            if inputs.withLock({ !$0.items.isEmpty }) { break }
        }
    }

    /// Applies `entry`, keeping what the state machine returned for the entry's proposer.
    private static func apply(_ entry: Entry, _ stateMachine: any RaftStateMachine, into results: inout [UInt64: any Sendable]) {
        if let result = stateMachine.apply(entry) { results[entry.index] = result }
    }

    /// Records what was applied and answers the proposals whose fate is known, each with what
    /// applying its entry returned.
    private func resolve(
        _ outcomes: [(id: UInt64, outcome: ReplicationCore.ProposalOutcome)], _ applied: [Entry], _ results: [UInt64: any Sendable],
        _ loop: inout Loop
    ) {
        if let last = applied.last { loop.applied = last.index }
        for (id, outcome) in outcomes {
            guard let waiter = loop.proposals.removeValue(forKey: id) else { continue }
            switch outcome {
            case .applied(let index): waiter.continuation.resume(returning: Committed(index: index, result: results[index]))
            case .dropped: waiter.continuation.resume(throwing: ProposalError.dropped)
            }
        }
    }

    /// Snapshots the state machine (at exactly the applied index: nothing else applies meanwhile) and
    /// purges the log below it, once enough entries were applied since the last snapshot.
    private func compactIfDue(_ loop: inout Loop) async throws {
        guard let compaction, !loop.compacting, loop.applied >= loop.lastSnapshot + compaction.everyEntries else { return }
        _ = startCompaction(&loop)
    }

    /// Captures the applied state (cheap, on the loop) and serializes, stores and compacts in the
    /// background, so a large snapshot never stalls replication. Returns false if there is nothing new.
    private func startCompaction(_ loop: inout Loop) -> Bool {
        guard loop.applied > loop.lastSnapshot else { return false }
        let index = loop.applied
        let term: UInt64
        do {
            term = try storage.term(at: index)
        } catch {
            return false  // the entry was compacted by a received snapshot meanwhile
        }
        let metadata = SnapshotMetadata(index: index, term: term, configuration: loop.core.node.status.configuration)
        let build = stateMachine.snapshotBuilder(position: metadata)
        loop.compacting = true
        loop.compactionWaiters += loop.pendingCompactions
        loop.pendingCompactions = []
        let retain = compaction?.retainEntries ?? 0
        loop.compaction = Task.detached { [storage, logger] () -> (any Error)? in
            // Serializing a large state takes seconds of CPU: on a thread of its own, not one of the
            // few cooperative threads the Raft loop and the RPC handlers run on.
            let data = await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .utility).async { continuation.resume(returning: build()) }
            }
            let snapshot = Snapshot(metadata: metadata, data: data)
            do {
                try await storage.compact(snapshot: snapshot, retain: retain)
                logger.info("snapshot taken and log compacted", metadata: ["index": "\(index)", "term": "\(term)", "bytes": "\(snapshot.data.count)"])
                self.enqueue(.compacted(index: index, error: nil))
                return nil
            } catch {
                self.enqueue(.compacted(index: index, error: error))
                return error
            }
        }
        return true
    }

    private func publish(_ loop: Loop) {
        let status = loop.core.node.status
        let previous = published.withLock { published in
            defer { published = status }
            return published
        }
        // Elections are what an operator looks for first when writes stall: log every change of
        // term, role or known leader (as etcd does), with what this node had before.
        if previous?.term != status.term || previous?.role != status.role || previous?.leader != status.leader {
            logger.info(
                "raft: term \(status.term), \(status.role), leader \(status.leader == 0 ? "unknown" : String(status.leader))",
                metadata: [
                    "previous": "\(previous.map { "term \($0.term), \($0.role), leader \($0.leader)" } ?? "none")",
                    "last-index": "\(status.lastIndex)", "commit": "\(status.commit)",
                ])
        }
    }
}
