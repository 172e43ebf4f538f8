import HeliosProto

extension Helios_V1_Event {
    /// A one-line description for people (`log dump`, traces).
    public var summary: String {
        switch kind {
        case .jobRegistered(let e):
            let version = e.hasExpectedVersion ? " (expects version \(e.expectedVersion))" : ""
            return "JobRegistered \(e.spec.id): \(e.spec.groups.count) groups, \(e.spec.groups.reduce(0) { $0 + Int($1.count) }) allocations wanted\(version)"
        case .jobStopped(let e): return "JobStopped \(e.jobID)"
        case .jobPurged(let e): return "JobPurged \(e.jobID)"
        case .nodeRegistered(let e):
            return "NodeRegistered \(e.node.id) (\(e.node.name)) cpu \(e.node.resources.cpuMhz) MHz, memory \(e.node.resources.memoryMb) MB"
        case .nodeStatusChanged(let e):
            var parts: [String] = []
            if e.status != .unspecified { parts.append("status \(e.status)") }
            if e.hasEligible { parts.append(e.eligible ? "eligible" : "ineligible") }
            if e.hasDraining { parts.append(e.draining ? "draining" : "not draining") }
            return "NodeStatusChanged \(e.nodeID): \(parts.joined(separator: ", "))"
        case .evaluationCreated(let e): return "EvaluationCreated \(e.evaluations.map { "\($0.id) (job \($0.jobID))" }.joined(separator: ", "))"
        case .evaluationCompleted(let e): return "EvaluationCompleted \(e.evaluationID): \(e.status)"
        case .evaluationsCompleted(let e):
            let shown = e.completions.prefix(8).map { "\($0.evaluationID): \($0.status)" }.joined(separator: ", ")
            return "EvaluationsCompleted \(e.completions.count): \(shown)" + (e.completions.count > 8 ? ", ..." : "")
        case .allocationsPlanned(let e):
            return "AllocationsPlanned for evaluation \(e.evaluationID): \(e.placed.count) placed, \(e.stopped.count) stopped"
        case .allocationDesiredChanged(let e): return "AllocationDesiredChanged \(e.changes.map(\.allocationID).joined(separator: ", "))"
        case .allocationClientUpdated(let e):
            return "AllocationClientUpdated " + e.updates.map { "\($0.allocationID)=\($0.clientStatus.name)" }.joined(separator: ", ")
        case .allocationRestartRequested(let e):
            return "AllocationRestartRequested \(e.allocationID)" + (e.task.isEmpty ? "" : " task \(e.task)")
        case .clusterConfigurationChanged(let e): return "ClusterConfigurationChanged \(e.members.map { "\($0.id)@\($0.address)" }.joined(separator: ", "))"
        case nil: return "Event (unknown kind)"
        }
    }
}
