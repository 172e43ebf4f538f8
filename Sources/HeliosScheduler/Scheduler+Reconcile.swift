import HeliosProto
import HeliosState
import SwiftProtobuf

extension Scheduler {
    /// Decides what one task group needs: keep what runs, stop extras and outdated allocations,
    /// replace lost ones, reschedule failed ones per policy, place what is missing.
    func reconcile(
        _ group: Helios_V1_TaskGroup, version: JobVersion, job: JobRecord, allocations: [Allocation],
        state: ClusterState, selector: inout NodeSelector, plan: inout SchedulerPlan
    ) {
        let spec = version.spec
        let isBatch = spec.type == .batch
        let replaced = Set(allocations.map(\.previousAllocation).filter { !$0.isEmpty })
        // Only a change to what runs (tasks, constraints, policies) replaces allocations; a new count
        // alone is handled by scaling.
        var current = group
        current.count = 0
        let groupChanged: (Allocation) -> Bool = { allocation in
            guard allocation.jobVersion != version.version else { return false }
            guard var old = job.versions.first(where: { $0.version == allocation.jobVersion })?.spec.groups.first(where: { $0.name == group.name })
            else { return true }
            old.count = 0
            return old != current
        }
        var keep: [Allocation] = []
        var replacements: [(previous: Allocation, reason: String, reschedule: Helios_V1_RescheduleEvent?)] = []
        // Slots held by failed allocations that wait for a delayed reschedule or have used up their attempts.
        var heldSlots = 0
        var completed = 0
        for allocation in allocations where allocation.desiredStatus == .run {
            let node = state.nodes[allocation.nodeID]
            switch allocation.clientStatus {
            case .pending, .running:
                if node == nil || node?.status == .down {
                    stop(allocation, "node \(allocation.nodeID) is gone", into: &plan)
                    replacements.append((allocation, "node gone", nil))
                } else if node!.draining {
                    stop(allocation, "node \(allocation.nodeID) is draining", into: &plan, evict: true)
                    replacements.append((allocation, "migrated off draining node", nil))
                } else if groupChanged(allocation) {
                    stop(allocation, "replaced by job version \(version.version)", into: &plan)
                    replacements.append((allocation, "job updated", nil))
                } else {
                    keep.append(allocation)
                }
            case .complete:
                if isBatch { completed += 1 }
            case .lost:
                if !replaced.contains(allocation.id) { replacements.append((allocation, "lost", nil)) }
            case .failed:
                guard !replaced.contains(allocation.id) else { continue }
                switch rescheduleDecision(for: allocation, group: group, type: spec.type) {
                case .now(let event): replacements.append((allocation, "failed", event))
                case .later(let at):
                    heldSlots += 1
                    scheduleFollowUp(job: job.id, at: at, state: state, plan: &plan)
                case .never:
                    heldSlots += 1  // attempts exhausted: the failed allocation keeps its slot, nothing replaces it
                }
            default:
                break
            }
        }
        let desired = Int(group.count)
        // Too many running: stop the ones with the highest indexes.
        if keep.count > desired {
            let extras = keep.sorted { Self.nameIndex($0.name) > Self.nameIndex($1.name) }.prefix(keep.count - desired)
            for allocation in extras { stop(allocation, "group \(group.name) was scaled down to \(desired)", into: &plan) }
            keep.removeAll { allocation in extras.contains { $0.id == allocation.id } }
        }
        var usedIndexes = Set(keep.map { Self.nameIndex($0.name) })
        var free = desired - keep.count - (isBatch ? completed : 0) - heldSlots
        var failedPlacements = 0
        var failureReasons: [String] = []
        for replacement in replacements where free > 0 {
            let index = Self.nameIndex(replacement.previous.name)
            if place(group: group, version: version, name: index >= 0 && !usedIndexes.contains(index) ? replacement.previous.name : nil,
                     previous: replacement.previous, reschedule: replacement.reschedule, usedIndexes: &usedIndexes,
                     selector: &selector, plan: &plan, failure: &failureReasons)
            {
                free -= 1
            } else {
                failedPlacements += 1
                free -= 1
            }
        }
        while free > 0 {
            if !place(group: group, version: version, name: nil, previous: nil, reschedule: nil, usedIndexes: &usedIndexes,
                      selector: &selector, plan: &plan, failure: &failureReasons)
            {
                failedPlacements += free
                break
            }
            free -= 1
        }
        if failedPlacements > 0 {
            plan.failures.append(PlacementFailure(group: group.name, missing: failedPlacements, reason: failureReasons.last ?? "no feasible node"))
        }
    }

    private func stop(_ allocation: Allocation, _ reason: String, into plan: inout SchedulerPlan, evict: Bool = false) {
        plan.stopped.append(.with {
            $0.allocationID = allocation.id
            $0.desiredStatus = evict ? .evict : .stop
            $0.description_p = reason
        })
    }

    /// Places one allocation; returns false (and a reason) if no node can take it.
    private func place(
        group: Helios_V1_TaskGroup, version: JobVersion, name: String?, previous: Allocation?,
        reschedule: Helios_V1_RescheduleEvent?, usedIndexes: inout Set<Int>, selector: inout NodeSelector,
        plan: inout SchedulerPlan, failure: inout [String]
    ) -> Bool {
        let ask = Self.resources(of: group)
        switch selector.select(group: group, ask: ask, avoid: previous?.nodeID) {
        case .failure(let reason):
            failure.append(reason.description)
            return false
        case .success(let node):
            var index = 0
            let finalName: String
            if let name {
                finalName = name
                usedIndexes.insert(Self.nameIndex(name))
            } else {
                while usedIndexes.contains(index) { index += 1 }
                usedIndexes.insert(index)
                finalName = "\(version.spec.id).\(group.name)[\(index)]"
            }
            let allocation = Allocation.with {
                $0.id = makeID()
                $0.jobID = version.spec.id
                $0.jobVersion = version.version
                $0.taskGroup = group.name
                $0.nodeID = node
                $0.name = finalName
                $0.resources = ask
                if let previous {
                    $0.previousAllocation = previous.id
                    $0.rescheduleEvents = previous.rescheduleEvents + (reschedule.map { [$0] } ?? [])
                }
            }
            selector.commit(allocation)
            plan.placed.append(allocation)
            return true
        }
    }

    /// The sum of a group's task resources.
    static func resources(of group: Helios_V1_TaskGroup) -> Resources {
        .with {
            $0.cpuMhz = group.tasks.reduce(0) { $0 + $1.resources.cpuMhz }
            $0.memoryMb = group.tasks.reduce(0) { $0 + $1.resources.memoryMb }
        }
    }

    /// The `n` of a name like `job.group[n]`, or -1.
    static func nameIndex(_ name: String) -> Int {
        guard name.hasSuffix("]"), let open = name.lastIndex(of: "[") else { return -1 }
        return Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) ?? -1
    }

    enum RescheduleDecision {
        case now(Helios_V1_RescheduleEvent)
        case later(UInt64)
        case never
    }

    /// Whether a failed allocation may be replaced, and when (the group's reschedule policy).
    func rescheduleDecision(for allocation: Allocation, group: Helios_V1_TaskGroup, type: Helios_V1_JobType) -> RescheduleDecision {
        let policy = group.reschedule.isEmpty ? .defaults(for: type) : group.reschedule
        let recent = allocation.rescheduleEvents.filter { policy.intervalMs == 0 || $0.timeMs + policy.intervalMs >= now }
        if !policy.unlimited && recent.count >= Int(policy.attempts) { return .never }
        let delay = policy.nextDelay(previous: allocation.rescheduleEvents.map(\.delayMs))
        let eligibleAt = allocation.modifiedAtMs + delay
        if eligibleAt > now { return .later(eligibleAt) }
        return .now(.with {
            $0.timeMs = now
            $0.previousAllocation = allocation.id
            $0.previousNode = allocation.nodeID
            $0.delayMs = delay
        })
    }

    /// Asks for another evaluation of the job at `time`, unless one is already waiting for then.
    private func scheduleFollowUp(job: String, at time: UInt64, state: ClusterState, plan: inout SchedulerPlan) {
        let waiting = state.evaluations(ofJob: job).contains {
            ($0.status == .pending || $0.status == .blocked) && $0.waitUntilMs > 0 && $0.waitUntilMs <= time
        }
        if waiting || plan.followUps.contains(where: { $0.jobID == job }) { return }
        plan.followUps.append(.with {
            $0.id = makeID()
            $0.jobID = job
            $0.trigger = .reschedule
            $0.status = .pending
            $0.waitUntilMs = time
            $0.previousEvaluation = plan.evaluationID
        })
    }
}
