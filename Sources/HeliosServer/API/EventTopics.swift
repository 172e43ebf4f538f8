import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// The topic and keys of an event, for filtering the event stream.
enum EventTopics {
    static let all: Set<String> = ["job", "node", "evaluation", "allocation", "cluster"]

    static func classify(_ event: Event) -> (topic: String, keys: [String]) {
        switch event.kind {
        case .jobRegistered(let e): return ("job", [e.spec.id] + (e.hasEvaluation ? [e.evaluation.id] : []))
        case .jobStopped(let e): return ("job", [e.jobID] + (e.hasEvaluation ? [e.evaluation.id] : []))
        case .jobPurged(let e): return ("job", [e.jobID])
        case .nodeRegistered(let e): return ("node", [e.node.id])
        case .nodeStatusChanged(let e): return ("node", [e.nodeID] + e.evaluations.flatMap { [$0.id, $0.jobID] })
        case .evaluationCreated(let e): return ("evaluation", e.evaluations.flatMap { [$0.id, $0.jobID] })
        case .evaluationCompleted(let e): return ("evaluation", [e.evaluationID] + e.followUps.flatMap { [$0.id, $0.jobID] })
        case .evaluationsCompleted(let e):
            return ("evaluation", e.completions.flatMap { [$0.evaluationID] + $0.followUps.flatMap { [$0.id, $0.jobID] } })
        case .allocationsPlanned(let e):
            return ("allocation", [e.evaluationID] + e.placed.flatMap { [$0.id, $0.jobID, $0.nodeID] } + e.stopped.map(\.allocationID))
        case .allocationDesiredChanged(let e): return ("allocation", e.changes.map(\.allocationID) + e.evaluations.flatMap { [$0.id, $0.jobID] })
        case .allocationClientUpdated(let e): return ("allocation", e.updates.map(\.allocationID) + e.evaluations.flatMap { [$0.id, $0.jobID] })
        case .allocationRestartRequested(let e): return ("allocation", [e.allocationID])
        case .clusterConfigurationChanged(let e): return ("cluster", e.members.map { String($0.id) })
        case nil: return ("unknown", [])
        }
    }

    /// Keys without duplicates, in first-seen order.
    static func unique(_ keys: [String]) -> [String] {
        var seen: Set<String> = []
        return keys.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}
