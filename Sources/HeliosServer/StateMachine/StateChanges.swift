import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// One applied log entry, as stream subscribers see it.
struct AppliedChange: Sendable {
    var index: UInt64
    /// The event (nil for entries without one, and for a snapshot restore).
    var event: Event?
    /// Set when the whole event was refused.
    var refused: EventRejection?
    var applied: AppliedEvent?
    /// True when the state was replaced by a snapshot: subscribers must resynchronise.
    var reset = false
}

/// Fans applied changes out to subscribers (event streams, allocation watches).
final class StateChanges: Sendable {
    /// The subscribers, or nil once ``finish()`` ran (later subscribers get an ended stream, so a
    /// handler that subscribes during shutdown cannot wait forever and hold the server's drain up).
    private let subscribers = Mutex<[Int: AsyncStream<AppliedChange>.Continuation]?>([:])
    private let nextID = Atomic<Int>(0)

    /// A stream of changes from now on; ends when the subscriber stops iterating.
    func subscribe() -> AsyncStream<AppliedChange> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream.makeStream(of: AppliedChange.self, bufferingPolicy: .bufferingNewest(100_000))
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0?.removeValue(forKey: id) } }
        let added = subscribers.withLock { subscribers -> Bool in
            guard subscribers != nil else { return false }
            subscribers?[id] = continuation
            return true
        }
        if !added { continuation.finish() }
        return stream
    }

    func publish(_ change: AppliedChange) {
        for continuation in subscribers.withLock({ Array(($0 ?? [:]).values) }) { continuation.yield(change) }
    }

    func finish() {
        let ended = subscribers.withLock { subscribers -> [AsyncStream<AppliedChange>.Continuation] in
            defer { subscribers = nil }
            return Array((subscribers ?? [:]).values)
        }
        for continuation in ended { continuation.finish() }
    }
}
