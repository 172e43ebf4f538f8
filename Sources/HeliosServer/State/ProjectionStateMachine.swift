import Foundation
import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// The cluster state as Raft's state machine: committed entries are decoded and applied to the
/// projection; outcomes are kept for the proposers; changes are published to subscribers.
final class ProjectionStateMachine: RaftStateMachine, Sendable {
    struct Inner {
        var state = ClusterState()
        /// Recent outcomes by index (for the proposer to report refusals).
        var outcomes: [UInt64: AppliedChange] = [:]
        var oldestOutcome: UInt64 = 0
    }

    private let inner = Mutex(Inner())
    let changes = StateChanges()
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Reads the state under the lock.
    func read<R>(_ body: (ClusterState) throws -> R) rethrows -> R {
        try inner.withLock { try body($0.state) }
    }

    /// The outcome of the entry at `index`, if still remembered.
    func outcome(at index: UInt64) -> AppliedChange? {
        inner.withLock { $0.outcomes[index] }
    }

    func apply(_ entry: Entry) {
        var change = AppliedChange(index: entry.index)
        if entry.kind == .normal && !entry.data.isEmpty {
            do {
                let event = try Event(serializedBytes: entry.data)
                change.event = event
                let result = inner.withLock { $0.state.apply(event, at: entry.index) }
                switch result {
                case .success(let applied): change.applied = applied
                case .failure(let refusal): change.refused = refusal
                }
            } catch {
                // Every node refuses the same undecodable bytes the same way.
                change.refused = EventRejection("entry \(entry.index)", "payload is not a Helios event: \(error)")
                inner.withLock { $0.state.advance(to: entry.index) }
            }
        } else {
            inner.withLock { $0.state.advance(to: entry.index) }
        }
        inner.withLock { inner in
            inner.outcomes[entry.index] = change
            if inner.outcomes.count > 20_000 {
                let cutoff = entry.index - 10_000
                inner.outcomes = inner.outcomes.filter { $0.key > cutoff }
            }
        }
        changes.publish(change)
    }

    func restore(_ snapshot: Snapshot) {
        do {
            let loaded = try SnapshotReader.read(bytes: snapshot.data, name: "snapshot \(snapshot.metadata.index)")
            inner.withLock {
                $0.state = loaded.state
                $0.outcomes = [:]
            }
            changes.publish(AppliedChange(index: snapshot.metadata.index, reset: true))
            logger.info("state restored from a snapshot", metadata: ["index": "\(snapshot.metadata.index)"])
        } catch {
            // The snapshot was checked before it was stored; failing here means memory or disk went bad.
            logger.critical("cannot read a snapshot that passed its checks; stopping", metadata: ["error": "\(error)"])
            fatalError("snapshot \(snapshot.metadata.index) is unreadable: \(error)")
        }
    }

    func snapshotData(position: SnapshotMetadata) -> [UInt8] {
        snapshotBuilder(position: position)()
    }

    /// Takes the state (a copy-on-write reference, O(1)) now; serializing it is the returned work.
    func snapshotBuilder(position: SnapshotMetadata) -> @Sendable () -> [UInt8] {
        let state = inner.withLock { $0.state }
        let logger = self.logger
        return {
            let snapshotPosition = SnapshotPosition(
                index: position.index, term: position.term, voters: position.configuration.voters.sorted(),
                learners: position.configuration.learners.sorted())
            do {
                return try SnapshotWriter.bytes(state, position: snapshotPosition, createdAtMs: UInt64(Date().timeIntervalSince1970 * 1000))
            } catch {
                logger.error("snapshot serialization failed", metadata: ["error": "\(error)"])
                return []
            }
        }
    }
}
