import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosScheduler
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// The leader's work: node liveness, running evaluations through the scheduler, and giving blocked
/// evaluations another chance when capacity appears. Every decision is committed through Raft; a
/// server that loses leadership simply stops, and the next leader finds the pending work in the state.
extension HeliosServerNode {
    /// How many evaluations (of different jobs) are processed at once. Most need no placement change
    /// (nothing to do, or blocked for capacity) and only wait for their completion's batch to commit,
    /// so many can be in flight: an evaluation stays in flight for up to two commit rounds (its batch
    /// waits for the one before), and with fewer in flight than the registrations committed in two
    /// rounds, evaluations fall behind the registrations.
    static let concurrentEvaluations = 1024

    /// How many plans that place or stop allocations are committed at once. Plans made concurrently
    /// may collide on a node's capacity (bin-packing picks the same node for all of them); the plan
    /// applier refuses what no longer fits and a retry follows, so these stay few.
    static let concurrentPlans = 16

    /// Runs until the node stops; does work only while this server leads.
    func runLeaderDuties() async {
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                self.wakeLeader()
            }
        }
        defer { ticker.cancel() }
        for await _ in wakeups.stream {
            if isStopping || Task.isCancelled { break }
            syncPeerConnections()
            await leaderPass()
        }
    }

    /// Asks the leader loop for a pass (new evaluations, capacity, time).
    func wakeLeader() { wakeups.continuation.yield() }

    private func leaderPass() async {
        guard let status = driver.status, status.role == .leader else {
            leaderState.withLock { if $0.term != 0 { $0 = LeaderState() } }
            return
        }
        let caughtUp = leaderState.withLock { state -> Bool in
            if state.term != status.term { state.begin(term: status.term, at: .now) }
            return state.caughtUp
        }
        if !caughtUp {
            // Entries of earlier terms may be committed but not yet applied here: wait for them before
            // judging liveness or planning against the state.
            do {
                _ = try await driver.readBarrier(timeout: .seconds(5))
            } catch {
                return
            }
            leaderState.withLock { if $0.term == status.term { $0.caughtUp = true } }
            logger.info("leading; scheduling and liveness checks active", metadata: ["term": "\(status.term)"])
            await recordInitialMembership()
        }
        await checkLiveness()
        await unblockEvaluations()
        startDueEvaluations()
    }

    // MARK: Liveness

    /// The heartbeat interval told to an agent, with up to 20 % jitter so agents spread out.
    func heartbeatIntervalWithJitterMs() -> UInt64 {
        let base = UInt64(heartbeatInterval.components.seconds) * 1000 + UInt64(heartbeatInterval.components.attoseconds / 1_000_000_000_000_000)
        return base + UInt64.random(in: 0...(base / 5))
    }

    /// Records an agent's heartbeat (leader only).
    func recordHeartbeat(_ nodeID: String) {
        leaderState.withLock { $0.lastHeartbeat[nodeID] = .now }
    }

    /// Declares nodes that have been silent for longer than the TTL down. A fresh leader has not
    /// heard from anyone yet, so every node gets one more TTL of grace from the start of the term.
    private func checkLiveness() async {
        let now = ContinuousClock.now
        let (since, beats, inFlight) = leaderState.withLock { ($0.since, $0.lastHeartbeat, $0.nodesInFlight) }
        let overdue = stateMachine.read { state -> [(String, Duration)] in
            state.nodes.values.compactMap { node in
                guard node.status == .ready || node.status == .initializing, !inFlight.contains(node.id) else { return nil }
                if let last = beats[node.id] {
                    return now - last > heartbeatTTL ? (node.id, now - last) : nil
                }
                return now - since > heartbeatTTL * 2 ? (node.id, now - since) : nil
            }
        }
        for (nodeID, silence) in overdue {
            let claimed = leaderState.withLock { $0.nodesInFlight.insert(nodeID).inserted }
            guard claimed else { continue }
            defer { leaderState.withLock { _ = $0.nodesInFlight.remove(nodeID) } }
            let seconds = Double(silence.components.seconds) + Double(silence.components.attoseconds) / 1e18
            let description = "no heartbeat for \(Int(seconds.rounded())) s (TTL \(heartbeatTTL))"
            logger.warning("node missed its heartbeat TTL; marking it down", metadata: ["node": "\(nodeID)", "why": "\(description)"])
            await markNode(nodeID, status: .down, description: description)
        }
    }

    /// Commits a node status change with an evaluation for every job that has work on the node.
    func markNode(_ nodeID: String, status: NodeStatus, description: String) async {
        let now = Self.nowMilliseconds()
        let evaluations = stateMachine.read { state in
            Self.evaluationsForJobs(on: nodeID, in: state, trigger: .nodeUpdate, now: now)
        }
        let event = Event.with {
            $0.timeMs = now
            $0.nodeStatusChanged = .with {
                $0.nodeID = nodeID
                $0.status = status
                $0.description_p = description
                $0.evaluations = evaluations
            }
        }
        do {
            let outcome = try await propose(event)
            if let refused = outcome.refused {
                logger.warning("node status change refused", metadata: ["node": "\(nodeID)", "reason": "\(refused)"])
            }
        } catch {
            logger.warning("node status change did not commit", metadata: ["node": "\(nodeID)", "error": "\(error)"])
        }
    }

    /// One new evaluation per job with allocations on `nodeID` that still run there.
    static func evaluationsForJobs(
        on nodeID: String, in state: ClusterState, trigger: Helios_V1_EvaluationTrigger, now: UInt64
    ) -> [Evaluation] {
        let jobs = Set(state.allocations(onNode: nodeID).filter { $0.desiredStatus == .run }.map(\.jobID))
        return jobs.sorted().compactMap { job in
            guard state.job(job) != nil else { return nil }
            return Evaluation.with {
                $0.id = newID()
                $0.jobID = job
                $0.trigger = trigger
                $0.status = .pending
                $0.nodeID = nodeID
            }
        }
    }

    // MARK: Evaluations

    /// Starts planning pending evaluations that are due, one per job at a time, from the queue the
    /// applied changes feed (no scan of the state per pass; a full scan runs at the start of the term
    /// and every 5 seconds).
    private func startDueEvaluations() {
        let now = Self.nowMilliseconds()
        let rescan = leaderState.withLock { state -> Bool in
            guard let last = state.lastScan else { return true }
            return ContinuousClock.now - last > .seconds(5)
        }
        if rescan {
            let pending = stateMachine.read { state in state.evaluationIDs(withStatus: .pending) }
            leaderState.withLock { state in
                state.lastScan = .now
                state.enqueue(pending)
            }
        }
        var started: [Evaluation] = []
        // Look at a bounded number of candidates per pass (a few per free slot): a long queue is not
        // rescanned on every wake-up.
        let candidates = leaderState.withLock { state -> [String] in
            let free = Self.concurrentEvaluations - state.evaluationsInFlight.count
            guard free > 0 else { return [] }
            var due = state.delayed.filter { $0.value <= now }.map(\.key)
            for id in due { state.delayed[id] = nil }
            due += state.dequeue(free * 4)
            return due
        }
        guard !candidates.isEmpty else { return }
        let found = stateMachine.read { state in candidates.map { state.evaluations[$0] } }
        leaderState.withLock { state in
            var requeue: [String] = []
            for (id, evaluation) in zip(candidates, found) {
                guard let evaluation, evaluation.status == .pending else { continue }  // done or gone
                if evaluation.waitUntilMs > now {
                    state.delayed[id] = evaluation.waitUntilMs
                } else if state.evaluationsInFlight.count >= Self.concurrentEvaluations || state.jobsInFlight.contains(evaluation.jobID) {
                    requeue.append(id)
                } else {
                    state.evaluationsInFlight.insert(id)
                    state.jobsInFlight.insert(evaluation.jobID)
                    started.append(evaluation)
                }
            }
            state.enqueue(requeue)
        }
        for evaluation in started {
            Task {
                await self.process(evaluation)
                self.leaderState.withLock {
                    _ = $0.evaluationsInFlight.remove(evaluation.id)
                    _ = $0.jobsInFlight.remove(evaluation.jobID)
                }
                self.wakeLeader()
            }
        }
    }

    /// Plans one evaluation, commits the plan (one entry, re-checked when applied), then completes
    /// the evaluation with its follow-ups: a retry when the plan was partly refused, a blocked
    /// evaluation when allocations could not be placed, delayed reschedules.
    func process(_ evaluation: Evaluation) async {
        let now = Self.nowMilliseconds()
        guard var (plan, appliedIndex, alreadyBlocked) = self.plan(evaluation, now: now) else { return }
        var refused: [String] = []
        var placedCount = 0
        if !plan.isEmpty {
            let waited = await planSlots.acquire()
            defer { planSlots.release() }
            if waited {
                // Other plans committed while this one waited for its turn: plan again on their result.
                guard let again = self.plan(evaluation, now: now) else { return }
                (plan, appliedIndex, alreadyBlocked) = again
            }
            if !plan.isEmpty {
                let event = Event.with {
                    $0.timeMs = now
                    $0.allocationsPlanned = plan.event(plannedAtIndex: appliedIndex)
                }
                do {
                    let outcome = try await propose(event, background: true)
                    if let whole = outcome.refused {
                        refused = [whole]
                    } else {
                        refused = outcome.rejectedItems
                        placedCount = outcome.placed.count
                    }
                } catch {
                    logger.info("plan did not commit; the evaluation stays pending", metadata: ["evaluation": "\(evaluation.id)", "error": "\(error)"])
                    return
                }
            }
        }
        var followUps = plan.followUps
        var summary = "placed \(placedCount), stopped \(plan.stopped.count)"
        if !refused.isEmpty {
            summary += "; the plan was stale, \(refused.count) item(s) refused (\(refused.prefix(3).joined(separator: "; "))); retrying"
            followUps.append(Evaluation.with {
                $0.id = Self.newID()
                $0.jobID = evaluation.jobID
                $0.trigger = .planRetry
                $0.status = .pending
                $0.previousEvaluation = evaluation.id
                $0.waitUntilMs = now + 50
            })
        } else if !plan.failures.isEmpty {
            summary += "; " + plan.failures.map(\.description).joined(separator: "; ")
            if !alreadyBlocked {
                followUps.append(Evaluation.with {
                    $0.id = Self.newID()
                    $0.jobID = evaluation.jobID
                    $0.trigger = evaluation.trigger
                    $0.status = .blocked
                    $0.statusDescription = "waiting for capacity: " + plan.failures.map(\.description).joined(separator: "; ")
                    $0.previousEvaluation = evaluation.id
                })
            }
        }
        let completion = Helios_V1_EvaluationCompleted.with {
            $0.evaluationID = evaluation.id
            $0.status = .complete
            $0.description_p = summary
            $0.followUps = followUps
        }
        await completions.complete(completion) { batch in await self.commitCompletions(batch) }
    }

    /// Commits evaluation completions as one entry (``CompletionBatcher``): `EvaluationCompleted` for
    /// one, `EvaluationsCompleted` for several.
    func commitCompletions(_ batch: [Helios_V1_EvaluationCompleted]) async {
        guard !batch.isEmpty else { return }
        let event = Event.with {
            $0.timeMs = Self.nowMilliseconds()
            if batch.count == 1 {
                $0.evaluationCompleted = batch[0]
            } else {
                $0.evaluationsCompleted = .with { $0.completions = batch }
            }
        }
        do {
            let outcome = try await propose(event, background: true)
            if let refused = outcome.refused {
                logger.debug("evaluation completion refused", metadata: ["evaluations": "\(batch.count)", "reason": "\(refused)"])
            }
            for refused in outcome.rejectedItems {
                logger.debug("evaluation completion refused", metadata: ["reason": "\(refused)"])
            }
        } catch {
            logger.info("evaluation completions did not commit; the evaluations stay pending", metadata: [
                "evaluations": "\(batch.prefix(3).map(\.evaluationID).joined(separator: ", "))\(batch.count > 3 ? ", ..." : "")",
                "count": "\(batch.count)", "error": "\(error)",
            ])
        }
    }

    /// Plans `evaluation` under the state's lock: holding a copy of the state across awaits would make
    /// the next apply copy every table (copy-on-write), which costs O(state) per evaluation. Nil when
    /// the evaluation is no longer pending.
    private func plan(_ evaluation: Evaluation, now: UInt64) -> (plan: SchedulerPlan, appliedIndex: UInt64, alreadyBlocked: Bool)? {
        stateMachine.read { state -> (plan: SchedulerPlan, appliedIndex: UInt64, alreadyBlocked: Bool)? in
            guard state.evaluations[evaluation.id]?.status == .pending else { return nil }
            let plan = Scheduler(now: now, makeID: Self.newID).plan(for: evaluation, in: state)
            let blocked = !plan.failures.isEmpty && state.evaluations(ofJob: evaluation.jobID).contains { $0.status == .blocked }
            return (plan, state.appliedIndex, blocked)
        }
    }

    /// Gives blocked evaluations another chance after capacity may have appeared: each is completed
    /// and replaced by a pending one.
    private func unblockEvaluations() async {
        let changed = leaderState.withLock { state -> Bool in
            defer { state.capacityChanged = false }
            return state.capacityChanged
        }
        guard changed else { return }
        // With no node that could take a placement, retrying would only block again (and write two
        // entries per blocked evaluation); a node becoming usable sets the flag again.
        let usable = stateMachine.read { state in state.nodes.values.contains { $0.status == .ready && $0.eligible && !$0.draining } }
        guard usable else { return }
        let blocked = stateMachine.read { $0.evaluations(withStatus: .blocked) }
        let unblocked = blocked.map { evaluation in
            Helios_V1_EvaluationCompleted.with {
                $0.evaluationID = evaluation.id
                $0.status = .complete
                $0.description_p = "unblocked: cluster capacity changed"
                $0.followUps = [Evaluation.with {
                    $0.id = Self.newID()
                    $0.jobID = evaluation.jobID
                    $0.trigger = evaluation.trigger
                    $0.status = .pending
                    $0.previousEvaluation = evaluation.id
                }]
            }
        }
        // Many at a time: a cluster that waited for capacity may hold thousands of blocked evaluations.
        for start in stride(from: 0, to: unblocked.count, by: CompletionBatcher.maxBatch) {
            await commitCompletions(Array(unblocked[start..<min(start + CompletionBatcher.maxBatch, unblocked.count)]))
        }
    }

    /// Watches applied changes: wakes the leader for new evaluations and notes when capacity may
    /// have appeared (so blocked evaluations are retried).
    func watchForBlockedEvaluations() async {
        for await change in stateMachine.changes.subscribe() {
            if isStopping { break }
            // Only a leader acts on them (a new one rescans the state when its term begins), so a
            // follower does not wake its leader loop for every applied entry.
            guard leaderState.withLock({ $0.term != 0 }) else { continue }
            guard let event = change.event, change.refused == nil else {
                if change.reset { noteCapacityChanged() }
                continue
            }
            if let applied = change.applied, !applied.evaluations.isEmpty {
                leaderState.withLock { state in state.enqueue(applied.evaluations) }
                wakeLeader()
            }
            switch event.kind {
            case .nodeRegistered(let registered):
                // A (re)registration counts as a heartbeat, so the TTL starts now.
                recordHeartbeat(registered.node.id)
                noteCapacityChanged()
            case .nodeStatusChanged(let status):
                if status.status == .ready { recordHeartbeat(status.nodeID) }
                if status.status == .ready || (status.hasEligible && status.eligible) || (status.hasDraining && !status.draining) {
                    noteCapacityChanged()
                }
            case .allocationClientUpdated(let update):
                if update.updates.contains(where: { $0.clientStatus.isTerminal }) { noteCapacityChanged() }
            case .allocationDesiredChanged, .jobPurged:
                noteCapacityChanged()
            // A stopped job frees capacity when its allocations end (client updates above), not before.
            case .allocationsPlanned(let plan):
                if !plan.stopped.isEmpty { noteCapacityChanged() }
            default:
                break
            }
        }
    }

    private func noteCapacityChanged() {
        leaderState.withLock { $0.capacityChanged = true }
        wakeLeader()
    }
}
