import HeliosProto

public typealias Event = Helios_V1_Event
public typealias JobSpec = Helios_V1_JobSpec
public typealias JobRecord = Helios_V1_JobRecord
public typealias JobVersion = Helios_V1_JobVersion
public typealias NodeInfo = Helios_V1_NodeInfo
public typealias Allocation = Helios_V1_Allocation
public typealias Evaluation = Helios_V1_Evaluation
public typealias ClusterMember = Helios_V1_ClusterMember
public typealias Resources = Helios_V1_Resources
public typealias TaskState = Helios_V1_TaskState
public typealias AllocationClientStatus = Helios_V1_AllocationClientStatus
public typealias AllocationDesiredStatus = Helios_V1_AllocationDesiredStatus
public typealias EvaluationStatus = Helios_V1_EvaluationStatus
public typealias NodeStatus = Helios_V1_NodeStatus
public typealias KeyValue = Helios_V1_KeyValue

extension AllocationClientStatus {
    /// Whether the allocation will never run again.
    public var isTerminal: Bool {
        switch self {
        case .complete, .failed, .lost: true
        default: false
        }
    }
}

/// Why an event (or one item of a batched event) was not applied. Deterministic: every node rejects
/// the same events with the same reason.
public struct EventRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// The object involved (e.g. `job web`, `allocation 1234abcd`).
    public var object: String
    public var reason: String

    public init(_ object: String, _ reason: String) {
        self.object = object
        self.reason = reason
    }

    public var description: String { "\(object): \(reason)" }
}

/// What applying one event did.
public struct AppliedEvent: Sendable, Equatable {
    /// Items of a batched event that were refused (the rest was applied).
    public var rejected: [EventRejection] = []
    /// Allocations a plan placed.
    public var placed: [String] = []
    /// Evaluations created.
    public var evaluations: [String] = []
    /// The job version a registration created.
    public var jobVersion: UInt64?

    public init() {}
}
