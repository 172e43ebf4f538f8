import HeliosProto
import SwiftProtobuf

extension ClusterState {
    /// Applies a scheduler plan, re-checking every placement against the current state (the plan may
    /// be stale): placements that no longer fit are refused and reported, the rest is applied.
    mutating func applyPlan(_ plan: Helios_V1_AllocationsPlanned, time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        guard evaluations.contains(plan.evaluationID) else {
            return .failure(EventRejection("plan of evaluation \(plan.evaluationID)", "no such evaluation"))
        }
        // Placements within one plan must not overlap either.
        var seen: Set<String> = []
        var applied = AppliedEvent()
        for stop in plan.stopped {
            if let rejection = setDesired(stop, time: time, index: index) { applied.rejected.append(rejection) }
        }
        for allocation in plan.placed {
            if let problem = placementProblem(allocation) ?? (seen.insert(allocation.id).inserted ? nil : "appears twice in the plan") {
                applied.rejected.append(EventRejection("allocation \(allocation.id)", problem))
                continue
            }
            var stored = allocation
            stored.desiredStatus = .run
            stored.clientStatus = .pending
            stored.evaluationID = plan.evaluationID
            stored.createdAtMs = time
            stored.modifiedAtMs = time
            stored.createIndex = index
            stored.modifyIndex = index
            putAllocation(stored)
            applied.placed.append(stored.id)
            refreshJobStatus(stored.jobID)
        }
        return .success(applied)
    }

    /// Why `allocation` cannot be placed now, or nil.
    func placementProblem(_ allocation: Allocation) -> String? {
        if allocation.id.isEmpty { return "has no id" }
        if allocations.contains(allocation.id) { return "already exists" }
        guard let job = jobs[allocation.jobID] else { return "names unknown job \(allocation.jobID)" }
        if job.stopped { return "job \(allocation.jobID) is stopped" }
        guard let version = job.versions.first(where: { $0.version == allocation.jobVersion }) else {
            return "job \(allocation.jobID) has no version \(allocation.jobVersion)"
        }
        guard version.spec.groups.contains(where: { $0.name == allocation.taskGroup }) else {
            return "job \(allocation.jobID) version \(allocation.jobVersion) has no group \(allocation.taskGroup)"
        }
        guard let node = nodes[allocation.nodeID] else { return "names unknown node \(allocation.nodeID)" }
        if node.status != .ready { return "node \(allocation.nodeID) is not ready" }
        if !node.eligible { return "node \(allocation.nodeID) is not eligible for placements" }
        if node.draining { return "node \(allocation.nodeID) is draining" }
        let used = usedResources(onNode: allocation.nodeID)
        if used.cpu + UInt64(allocation.resources.cpuMhz) > UInt64(node.resources.cpuMhz) {
            return "node \(allocation.nodeID) has \(UInt64(node.resources.cpuMhz) - min(used.cpu, UInt64(node.resources.cpuMhz))) MHz of CPU left, the allocation needs \(allocation.resources.cpuMhz)"
        }
        if used.memory + UInt64(allocation.resources.memoryMb) > UInt64(node.resources.memoryMb) {
            return "node \(allocation.nodeID) has \(UInt64(node.resources.memoryMb) - min(used.memory, UInt64(node.resources.memoryMb))) MB of memory left, the allocation needs \(allocation.resources.memoryMb)"
        }
        return nil
    }

    private mutating func setDesired(_ stop: Helios_V1_AllocationStop, time: UInt64, index: UInt64) -> EventRejection? {
        guard var allocation = allocations[stop.allocationID] else {
            return EventRejection("allocation \(stop.allocationID)", "no such allocation")
        }
        guard stop.desiredStatus != .unspecified else {
            return EventRejection("allocation \(stop.allocationID)", "desired status is unspecified")
        }
        if allocation.desiredStatus != .run && stop.desiredStatus == .run {
            return EventRejection("allocation \(stop.allocationID)", "a stopped allocation cannot be started again; place a new one")
        }
        allocation.desiredStatus = stop.desiredStatus
        allocation.desiredDescription = stop.description_p
        allocation.modifiedAtMs = time
        allocation.modifyIndex = index
        putAllocation(allocation)
        refreshJobStatus(allocation.jobID)
        return nil
    }

    mutating func changeDesired(_ change: Helios_V1_AllocationDesiredChanged, time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        if let rejection = evaluationsProblem(change.evaluations) { return .failure(rejection) }
        var applied = AppliedEvent()
        for stop in change.changes {
            if let rejection = setDesired(stop, time: time, index: index) { applied.rejected.append(rejection) }
        }
        addEvaluations(change.evaluations, time: time, index: index, into: &applied)
        return .success(applied)
    }

    /// Records a restart request: the agent restarts the tasks when it sees the new generation.
    mutating func requestRestart(_ request: Helios_V1_AllocationRestartRequested, time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        guard var allocation = allocations[request.allocationID] else {
            return .failure(EventRejection("allocation \(request.allocationID)", "no such allocation"))
        }
        guard allocation.desiredStatus == .run, !allocation.clientStatus.isTerminal else {
            return .failure(EventRejection(
                "allocation \(request.allocationID)", "is \(allocation.clientStatus.name) and not meant to run; only live allocations restart"))
        }
        if !request.task.isEmpty {
            let version = jobs[allocation.jobID]?.versions.first { $0.version == allocation.jobVersion }
            let group = version?.spec.groups.first { $0.name == allocation.taskGroup }
            let tasks: [String] = group?.tasks.map(\.name) ?? []
            guard tasks.contains(request.task) else {
                return .failure(EventRejection(
                    "allocation \(request.allocationID)", "has no task '\(request.task)' (tasks: \(tasks.joined(separator: ", ")))"))
            }
        }
        allocation.restartGeneration &+= 1
        allocation.restartTask = request.task
        allocation.modifiedAtMs = time
        allocation.modifyIndex = index
        putAllocation(allocation)
        return .success(AppliedEvent())
    }

    /// Whether an allocation's client status may go from `from` to `to`.
    public static func transitionAllowed(from: AllocationClientStatus, to: AllocationClientStatus) -> Bool {
        if from == to { return true }
        switch (from, to) {
        case (.pending, .running), (.pending, .complete), (.pending, .failed), (.pending, .lost):
            return true
        case (.running, .complete), (.running, .failed), (.running, .lost):
            return true
        default:
            return false  // terminal states are final; nothing goes back to pending
        }
    }

    mutating func updateClients(_ update: Helios_V1_AllocationClientUpdated, time: UInt64, index: UInt64) -> Result<AppliedEvent, EventRejection> {
        if let rejection = evaluationsProblem(update.evaluations) { return .failure(rejection) }
        var applied = AppliedEvent()
        for item in update.updates {
            guard var allocation = allocations[item.allocationID] else {
                applied.rejected.append(EventRejection("allocation \(item.allocationID)", "no such allocation"))
                continue
            }
            guard item.clientStatus != .unspecified else {
                applied.rejected.append(EventRejection("allocation \(item.allocationID)", "client status is unspecified"))
                continue
            }
            guard Self.transitionAllowed(from: allocation.clientStatus, to: item.clientStatus) else {
                applied.rejected.append(EventRejection(
                    "allocation \(item.allocationID)",
                    "cannot go from \(allocation.clientStatus.name) to \(item.clientStatus.name)"))
                continue
            }
            allocation.clientStatus = item.clientStatus
            allocation.clientDescription = item.description_p
            if !item.taskStates.isEmpty {
                allocation.taskStates = item.taskStates.sorted { $0.task < $1.task }
            }
            allocation.modifiedAtMs = time
            allocation.modifyIndex = index
            putAllocation(allocation)
            refreshJobStatus(allocation.jobID)
        }
        addEvaluations(update.evaluations, time: time, index: index, into: &applied)
        return .success(applied)
    }
}
