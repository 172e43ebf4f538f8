import HeliosProto
import SwiftProtobuf

extension ClusterState {
    /// Applies the event at log index `index`. Returns what it did, or why it was refused; a refused
    /// event changes nothing but the applied index. Batched events (client updates, plans) apply item by
    /// item and report the refused items in ``AppliedEvent/rejected``.
    @discardableResult
    public mutating func apply(_ event: Event, at index: UInt64) -> Result<AppliedEvent, EventRejection> {
        guard index > appliedIndex else {
            return .failure(EventRejection("event \(index)", "already applied (applied index is \(appliedIndex))"))
        }
        // Invariant: every refusal is decided before the first mutation, so a refused event leaves no
        // trace (no copy of the state is needed).
        let result = applyChecked(event, at: index)
        appliedIndex = index
        return result
    }

    private mutating func applyChecked(_ event: Event, at index: UInt64) -> Result<AppliedEvent, EventRejection> {
        let time = event.timeMs
        switch event.kind {
        case .jobRegistered(let registered): return registerJob(registered, time: time, index: index)
        case .jobStopped(let stopped): return stopJob(stopped, time: time, index: index)
        case .jobPurged(let purged): return purgeJob(purged.jobID)
        case .nodeRegistered(let registered): return registerNode(registered.node, time: time, index: index)
        case .nodeStatusChanged(let change): return changeNode(change, time: time, index: index)
        case .evaluationCreated(let created): return createEvaluations(created.evaluations, time: time, index: index)
        case .evaluationCompleted(let completed): return completeEvaluation(completed, time: time, index: index)
        case .evaluationsCompleted(let batch): return completeEvaluations(batch.completions, time: time, index: index)
        case .allocationsPlanned(let plan): return applyPlan(plan, time: time, index: index)
        case .allocationDesiredChanged(let change): return changeDesired(change, time: time, index: index)
        case .allocationClientUpdated(let update): return updateClients(update, time: time, index: index)
        case .allocationRestartRequested(let request): return requestRestart(request, time: time, index: index)
        case .clusterConfigurationChanged(let change):
            members = [:]
            for member in change.members { members[member.id] = member }
            return .success(AppliedEvent())
        case nil:
            return .failure(EventRejection("event \(index)", "has no kind (written by a newer Helios?)"))
        }
    }

    // MARK: Jobs

    private mutating func registerJob(_ registered: Helios_V1_JobRegistered, time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        let spec = registered.spec
        if let problem = JobSpecValidator.problem(in: spec) { return .failure(EventRejection("job \(spec.id)", problem)) }
        let existing = jobs.load(spec.id)
        let current = existing?.versions.last?.version ?? 0
        if registered.hasExpectedVersion && registered.expectedVersion != current {
            return .failure(EventRejection(
                "job \(spec.id)", "expected version \(registered.expectedVersion), but the current version is \(current)"))
        }
        let newEvaluations = registered.hasEvaluation ? [registered.evaluation] : []
        if let rejection = evaluationsProblem(newEvaluations, newJob: spec.id) { return .failure(rejection) }
        var record = existing ?? JobRecord.with {
            $0.id = spec.id
            $0.createIndex = index
        }
        record.versions.append(JobVersion.with {
            $0.version = current + 1
            $0.spec = spec
            $0.submittedAtMs = time
            $0.index = index
        })
        record.stopped = false
        record.modifyIndex = index
        jobs[spec.id] = record
        var applied = AppliedEvent()
        applied.jobVersion = current + 1
        addEvaluations(newEvaluations, time: time, index: index, into: &applied)
        refreshJobStatus(spec.id)
        return .success(applied)
    }

    private mutating func stopJob(_ stopped: Helios_V1_JobStopped, time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        guard var record = jobs.load(stopped.jobID) else {
            return .failure(EventRejection("job \(stopped.jobID)", "no such job"))
        }
        let newEvaluations = stopped.hasEvaluation ? [stopped.evaluation] : []
        if let rejection = evaluationsProblem(newEvaluations) { return .failure(rejection) }
        record.stopped = true
        record.modifyIndex = index
        jobs[stopped.jobID] = record
        var applied = AppliedEvent()
        addEvaluations(newEvaluations, time: time, index: index, into: &applied)
        refreshJobStatus(stopped.jobID)
        return .success(applied)
    }

    private mutating func purgeJob(_ id: String) -> Result<AppliedEvent, EventRejection> {
        guard let record = jobs.load(id) else { return .failure(EventRejection("job \(id)", "no such job")) }
        guard record.stopped else {
            return .failure(EventRejection("job \(id)", "is not stopped; stop it before purging"))
        }
        for allocation in allocationsByJob[id]?.sorted() ?? [] { removeAllocation(allocation) }
        for evaluation in evaluationsByJob[id]?.sorted() ?? [] { removeEvaluation(evaluation) }
        jobs[id] = nil
        return .success(AppliedEvent())
    }

    /// Recomputes a job's status from its allocations: running if any runs, dead once stopped (or a
    /// finished batch job) with nothing left running, pending otherwise.
    mutating func refreshJobStatus(_ id: String) {
        guard var record = jobs.load(id) else { return }
        // Kept decoded: the job's next event is likely to read them again.
        let ids = allocationsByJob[id].map { Array($0) } ?? []
        let allocations = ids.map { self.allocations.load($0)! }
        let live = allocations.filter { !$0.clientStatus.isTerminal && $0.desiredStatus == .run }
        let status: Helios_V1_JobStatus
        if live.contains(where: { $0.clientStatus == .running }) {
            status = .running
        } else if record.stopped && live.isEmpty {
            status = .dead
        } else if record.versions.last?.spec.type == .batch && !allocations.isEmpty && live.isEmpty
            && allocations.allSatisfy({ $0.clientStatus == .complete || $0.desiredStatus != .run })
        {
            status = .dead
        } else {
            status = .pending
        }
        if record.status != status {
            record.status = status
            jobs[id] = record
        }
    }

    // MARK: Nodes

    private mutating func registerNode(_ node: NodeInfo, time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        guard !node.id.isEmpty else { return .failure(EventRejection("node", "registration without an id")) }
        var stored = node
        stored.attributes.sort { $0.key < $1.key }
        stored.meta.sort { $0.key < $1.key }
        if let existing = nodes[node.id] {
            stored.createIndex = existing.createIndex
            stored.registeredAtMs = existing.registeredAtMs
            // Eligibility and drain are the operator's: a re-registering agent does not reset them.
            stored.eligible = existing.eligible
            stored.draining = existing.draining
            stored.drainDeadlineMs = existing.drainDeadlineMs
        } else {
            stored.createIndex = index
            stored.registeredAtMs = time
        }
        if stored.status == .unspecified { stored.status = .ready }
        stored.statusUpdatedAtMs = time
        stored.modifyIndex = index
        putNode(stored)
        return .success(AppliedEvent())
    }

    private mutating func changeNode(_ change: Helios_V1_NodeStatusChanged, time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        guard var node = nodes[change.nodeID] else {
            return .failure(EventRejection("node \(change.nodeID)", "no such node"))
        }
        if let rejection = evaluationsProblem(change.evaluations) { return .failure(rejection) }
        if change.status != .unspecified && change.status != node.status {
            node.status = change.status
            node.statusUpdatedAtMs = time
            node.statusDescription = change.description_p
        }
        if change.hasEligible { node.eligible = change.eligible }
        if change.hasDraining {
            node.draining = change.draining
            node.drainDeadlineMs = change.draining ? change.drainDeadlineMs : 0
            if change.draining { node.eligible = false }
        }
        node.modifyIndex = index
        putNode(node)
        if change.status == .down {
            // Everything still running there is lost; the scheduler places replacements.
            for id in (allocationsByNode[change.nodeID] ?? []).sorted() {
                var allocation = allocations[id]!
                guard !allocation.clientStatus.isTerminal else { continue }
                allocation.clientStatus = .lost
                allocation.clientDescription = "node \(change.nodeID) is down"
                allocation.modifiedAtMs = time
                allocation.modifyIndex = index
                putAllocation(allocation)
                refreshJobStatus(allocation.jobID)
            }
        }
        var applied = AppliedEvent()
        addEvaluations(change.evaluations, time: time, index: index, into: &applied)
        return .success(applied)
    }

    // MARK: Evaluations

    private mutating func createEvaluations(_ evaluations: [Evaluation], time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        if let rejection = evaluationsProblem(evaluations) { return .failure(rejection) }
        var applied = AppliedEvent()
        addEvaluations(evaluations, time: time, index: index, into: &applied)
        return .success(applied)
    }

    /// Why new evaluations cannot be added (checked before any mutation), or nil.
    func evaluationsProblem(_ new: [Evaluation], newJob: String? = nil) -> EventRejection? {
        var seen: Set<String> = []
        for evaluation in new {
            guard !evaluation.id.isEmpty else { return EventRejection("evaluation", "has no id") }
            guard !evaluations.contains(evaluation.id), seen.insert(evaluation.id).inserted else {
                return EventRejection("evaluation \(evaluation.id)", "already exists")
            }
            guard jobs.contains(evaluation.jobID) || evaluation.jobID == newJob else {
                return EventRejection("evaluation \(evaluation.id)", "names unknown job \(evaluation.jobID)")
            }
        }
        return nil
    }

    /// Adds evaluations that passed ``evaluationsProblem(_:newJob:)``.
    mutating func addEvaluations(_ new: [Evaluation], time: UInt64, index: UInt64, into applied: inout AppliedEvent) {
        for evaluation in new {
            var stored = evaluation
            if stored.status == .unspecified { stored.status = .pending }
            stored.createdAtMs = time
            stored.modifiedAtMs = time
            stored.createIndex = index
            stored.modifyIndex = index
            putEvaluation(stored)
            applied.evaluations.append(stored.id)
        }
    }

    private mutating func completeEvaluation(_ completed: Helios_V1_EvaluationCompleted, time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        guard var evaluation = evaluations[completed.evaluationID] else {
            return .failure(EventRejection("evaluation \(completed.evaluationID)", "no such evaluation"))
        }
        guard evaluation.status == .pending || evaluation.status == .blocked else {
            return .failure(EventRejection("evaluation \(completed.evaluationID)", "is already \(evaluation.status.name)"))
        }
        guard completed.status != .pending && completed.status != .unspecified else {
            return .failure(EventRejection("evaluation \(completed.evaluationID)", "cannot complete with status \(completed.status.name)"))
        }
        if let rejection = evaluationsProblem(completed.followUps) { return .failure(rejection) }
        evaluation.status = completed.status
        evaluation.statusDescription = completed.description_p
        evaluation.modifiedAtMs = time
        evaluation.modifyIndex = index
        putEvaluation(evaluation)
        var applied = AppliedEvent()
        addEvaluations(completed.followUps, time: time, index: index, into: &applied)
        return .success(applied)
    }

    /// Completes each evaluation in order as ``completeEvaluation(_:time:index:)`` would; a refused
    /// completion is reported and changes nothing, the others apply.
    private mutating func completeEvaluations(_ completions: [Helios_V1_EvaluationCompleted], time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        guard !completions.isEmpty else { return .failure(EventRejection("evaluations", "none to complete")) }
        var applied = AppliedEvent()
        for completed in completions {
            switch completeEvaluation(completed, time: time, index: index) {
            case .success(let one): applied.evaluations += one.evaluations
            case .failure(let rejection): applied.rejected.append(rejection)
            }
        }
        return .success(applied)
    }
}
