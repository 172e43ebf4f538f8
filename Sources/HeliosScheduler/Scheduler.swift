import HeliosProto
import HeliosState
import SwiftProtobuf

/// A group's placements that could not be made, and why.
public struct PlacementFailure: Sendable, Equatable, CustomStringConvertible {
    public var group: String
    public var missing: Int
    public var reason: String

    public init(group: String, missing: Int, reason: String) {
        self.group = group
        self.missing = missing
        self.reason = reason
    }

    public var description: String { "group \(group): \(missing) allocation(s) not placed: \(reason)" }
}

/// The scheduler's answer to one evaluation: what to place and stop (committed as one
/// `AllocationsPlanned` event and re-checked when applied), what could not be placed, and delayed work.
public struct SchedulerPlan: Sendable {
    public var evaluationID: String
    public var jobID: String
    public var placed: [Allocation] = []
    public var stopped: [Helios_V1_AllocationStop] = []
    public var failures: [PlacementFailure] = []
    /// Evaluations to run later (delayed reschedules).
    public var followUps: [Evaluation] = []

    public var isEmpty: Bool { placed.isEmpty && stopped.isEmpty }

    /// The event that commits the plan.
    public func event(plannedAtIndex index: UInt64) -> Helios_V1_AllocationsPlanned {
        .with {
            $0.evaluationID = evaluationID
            $0.placed = placed
            $0.stopped = stopped
            $0.plannedAtIndex = index
        }
    }
}

/// Pure placement logic: given the state and an evaluation, decide allocations to place and stop.
///
/// Nothing here reads a clock or a random source: `now` and `makeID` come from the caller (the
/// leader), and the node order is shuffled from the evaluation id, so a plan is reproducible.
public struct Scheduler {
    /// Milliseconds since the epoch, as the leader decided.
    public var now: UInt64
    /// New allocation and evaluation ids.
    public var makeID: () -> String

    public init(now: UInt64, makeID: @escaping () -> String) {
        self.now = now
        self.makeID = makeID
    }

    /// Plans the work `evaluation` asks for.
    public func plan(for evaluation: Evaluation, in state: ClusterState) -> SchedulerPlan {
        var plan = SchedulerPlan(evaluationID: evaluation.id, jobID: evaluation.jobID)
        guard let job = state.job(evaluation.jobID), let version = job.versions.last else {
            return plan  // purged: nothing left to schedule
        }
        let allocations = state.allocations(ofJob: job.id)
        if job.stopped {
            for allocation in allocations where allocation.desiredStatus == .run && !allocation.clientStatus.isTerminal {
                plan.stopped.append(.with {
                    $0.allocationID = allocation.id
                    $0.desiredStatus = .stop
                    $0.description_p = "job \(job.id) was stopped"
                })
            }
            return plan
        }
        var selector = NodeSelector(state: state, job: version.spec, seed: Self.seed(evaluation.id))
        var groupsInSpec: Set<String> = []
        for group in version.spec.groups {
            groupsInSpec.insert(group.name)
            reconcile(group, version: version, job: job, allocations: allocations.filter { $0.taskGroup == group.name },
                      state: state, selector: &selector, plan: &plan)
        }
        // Groups removed from the spec: stop their allocations.
        for allocation in allocations where !groupsInSpec.contains(allocation.taskGroup)
            && allocation.desiredStatus == .run && !allocation.clientStatus.isTerminal
        {
            plan.stopped.append(.with {
                $0.allocationID = allocation.id
                $0.desiredStatus = .stop
                $0.description_p = "group \(allocation.taskGroup) is no longer in job \(job.id)"
            })
        }
        return plan
    }

    /// A stable 64-bit seed from a string (FNV-1a).
    static func seed(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
