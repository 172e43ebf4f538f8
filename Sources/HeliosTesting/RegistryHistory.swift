/// A recorded history of operations on a job registry (register, get, stop of job ids) with the times
/// each was invoked and completed, as a client saw them; checked by ``RegistryLinearizability``.
public struct RegistryOperation: Sendable, Equatable {
    /// What the client asked.
    public enum Kind: Sendable, Equatable {
        case register
        case stop
        case get
    }

    /// What the client learned.
    public enum Outcome: Sendable, Equatable {
        /// The write was acknowledged.
        case ok
        /// The server said the job does not exist (a definite answer).
        case notFound
        /// A read's answer: the job exists and is (not) stopped.
        case found(stopped: Bool)
        /// Definitely not applied (refused as invalid or conflicting).
        case refused
        /// No answer (timeout, connection lost, no leader): it may or may not have taken effect.
        case unknown
    }

    public var client: Int
    public var key: String
    public var kind: Kind
    /// Nanoseconds on one monotonic clock.
    public var invokedAt: UInt64
    public var completedAt: UInt64
    public var outcome: Outcome

    public init(client: Int, key: String, kind: Kind, invokedAt: UInt64, completedAt: UInt64, outcome: Outcome) {
        self.client = client
        self.key = key
        self.kind = kind
        self.invokedAt = invokedAt
        self.completedAt = completedAt
        self.outcome = outcome
    }
}

/// Checks that a registry history is linearizable (Wing & Gong's search, per key, as porcupine
/// partitions it): there is one order of the operations, consistent with real time (an operation that
/// completed before another was invoked comes first), in which each outcome is what a single copy
/// of the registry would answer. Operations without an answer may or may not have taken effect.
///
/// The model per job id: absent -> (register) live -> (stop) stopped. Register answers ok (and keeps a
/// live job live: an unchanged re-registration); stop answers ok on a live or stopped job, notFound on
/// an absent one; get answers found(stopped:) or notFound.
public enum RegistryLinearizability {
    enum State: Hashable { case absent, live, stopped }

    /// The keys whose operations admit no linearization (empty: the history is linearizable).
    public static func violations(in history: [RegistryOperation]) -> [String] {
        var byKey: [String: [RegistryOperation]] = [:]
        for operation in history where !(operation.kind == .get && operation.outcome == .unknown) && operation.outcome != .refused {
            byKey[operation.key, default: []].append(operation)
        }
        return byKey.keys.sorted().filter { !isLinearizable(byKey[$0]!) }
    }

    /// Whether one key's operations are linearizable (at most 62 operations per key).
    static func isLinearizable(_ operations: [RegistryOperation]) -> Bool {
        precondition(operations.count <= 62, "too many operations on one key for the search")
        let all: UInt64 = operations.count == 64 ? .max : (1 << UInt64(operations.count)) - 1
        var failed = Set<Pair>()
        struct Pair: Hashable { var done: UInt64; var state: State }

        func search(_ done: UInt64, _ state: State) -> Bool {
            if done == all { return true }
            // Everything left may be an unanswered write that never happened: stop here.
            if operations.indices.allSatisfy({ done & (1 << UInt64($0)) != 0 || operations[$0].outcome == .unknown }) { return true }
            if failed.contains(Pair(done: done, state: state)) { return false }
            // Candidates: pending operations invoked before every pending answered one completed.
            let earliestCompletion = operations.indices
                .filter { done & (1 << UInt64($0)) == 0 && operations[$0].outcome != .unknown }
                .map { operations[$0].completedAt }.min() ?? .max
            for index in operations.indices where done & (1 << UInt64(index)) == 0 {
                let operation = operations[index]
                guard operation.invokedAt <= earliestCompletion else { continue }
                guard let next = apply(operation, to: state) else { continue }
                if search(done | (1 << UInt64(index)), next) { return true }
            }
            failed.insert(Pair(done: done, state: state))
            return false
        }
        return search(0, .absent)
    }

    /// The state after `operation`, or nil when its outcome contradicts the model.
    static func apply(_ operation: RegistryOperation, to state: State) -> State? {
        switch (operation.kind, operation.outcome) {
        case (.register, .ok), (.register, .unknown):
            return state == .stopped ? .live : .live
        case (.stop, .ok):
            return state == .absent ? nil : .stopped
        case (.stop, .unknown):
            return state == .absent ? .absent : .stopped
        case (.stop, .notFound):
            return state == .absent ? .absent : nil
        case (.get, .notFound):
            return state == .absent ? .absent : nil
        case (.get, .found(let stopped)):
            switch state {
            case .absent: return nil
            case .live: return stopped ? nil : .live
            case .stopped: return stopped ? .stopped : nil
            }
        default:
            return nil
        }
    }
}
