import HeliosProto

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
