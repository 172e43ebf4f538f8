/// A proposal that committed and applied: its entry's index and what the state machine's
/// ``RaftStateMachine/apply(_:)`` returned for that entry (nil when it returned nothing).
public struct Committed: Sendable {
    public var index: UInt64
    public var result: (any Sendable)?

    public init(index: UInt64, result: (any Sendable)?) {
        self.index = index
        self.result = result
    }
}
