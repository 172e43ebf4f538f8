import HeliosLog
import HeliosProto
import HeliosRaft
import HeliosState
import Logging
import SwiftProtobuf

/// Rebuilds the projection of a data directory: the newest valid snapshot at or below the target
/// index, then every log entry after it up to the target.
public enum StateLoader {
    public struct Loaded: Sendable {
        public var state: ClusterState
        /// Index, term and Raft membership of the rebuilt state.
        public var position: SnapshotPosition
        /// The snapshot it started from (0: none).
        public var snapshotIndex: UInt64
        public var replayedEvents: Int
        public var rejectedEvents: Int
    }

    /// Decodes the event in a normal entry's payload (an empty payload is a leader's no-op).
    public static func event(in payload: [UInt8]) throws -> Event? {
        payload.isEmpty ? nil : try Event(serializedBytes: payload)
    }

    /// Loads the state of `log` (opened by the caller) through `index` (default: the log's end).
    public static func load(
        log: SegmentedLog, snapshots: SnapshotDirectory, through index: UInt64? = nil,
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> Loaded {
        let target = min(index ?? log.lastIndex, log.lastIndex)
        var snapshot = try snapshots.newestValid(atOrBelow: target)
        // Take the state out of the snapshot: a second reference would make the first replayed event
        // copy every table (hundreds of thousands of entries) on write.
        var state = ClusterState()
        if snapshot != nil { swap(&state, &snapshot!.state) }
        var configuration = ConfigurationState(
            voters: Set(snapshot?.position.voters ?? []), learners: Set(snapshot?.position.learners ?? []))
        var term = snapshot?.position.term ?? 0
        let start = (snapshot?.position.index ?? 0) + 1
        if start < log.firstIndex && start <= target {
            throw SnapshotError(
                "log \(log.directory) starts at \(log.firstIndex), but the newest usable snapshot ends at \(start - 1): "
                    + "entries \(start)...\(log.firstIndex - 1) are missing")
        }
        var replayed = 0
        var rejected = 0
        var cursor = log.cursor(from: start)
        while let entry = try cursor.next(), entry.index <= target {
            term = entry.term
            switch EntryKind(rawValue: entry.type) {
            case .configuration:
                if let change = ConfigurationChange.decode(entry.payload) { configuration = change.applied(to: configuration) }
                state.advance(to: entry.index)
            default:
                if let event = try event(in: entry.payload) {
                    if case .failure = state.apply(event, at: entry.index) { rejected += 1 }
                    replayed += 1
                } else {
                    state.advance(to: entry.index)
                }
            }
            if entry.index % 4096 == 0 { progress?(entry.index, target) }
        }
        progress?(target, target)
        let position = SnapshotPosition(
            index: state.appliedIndex, term: term, voters: Array(configuration.voters), learners: Array(configuration.learners))
        return Loaded(
            state: state, position: position, snapshotIndex: snapshot?.position.index ?? 0, replayedEvents: replayed,
            rejectedEvents: rejected)
    }
}
