/// Short names for the generated messages and enums that the projection, the scheduler, the
/// agent and the client share.

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

extension AllocationClientStatus {
    /// The status as people read it: `running`; `unspecified` for the zero value, `unknown (N)` for
    /// a value a newer Helios wrote.
    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .pending: "pending"
        case .running: "running"
        case .complete: "complete"
        case .failed: "failed"
        case .lost: "lost"
        case .UNRECOGNIZED(let value): "unknown (\(value))"
        }
    }
}

extension EvaluationStatus {
    /// The status as people read it (see ``AllocationClientStatus/name``).
    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .pending: "pending"
        case .complete: "complete"
        case .failed: "failed"
        case .canceled: "canceled"
        case .blocked: "blocked"
        case .UNRECOGNIZED(let value): "unknown (\(value))"
        }
    }
}
