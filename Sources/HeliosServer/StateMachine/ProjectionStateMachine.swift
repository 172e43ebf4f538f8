import Foundation
import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosSnapshot
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// The cluster state as Raft's state machine: committed entries are decoded and applied to the
/// projection; each entry's outcome (an ``AppliedChange``) goes back to its proposer through the
/// Raft driver and is published to subscribers.
final class ProjectionStateMachine: RaftStateMachine, Sendable {
    private let state = Mutex(ClusterState())
    private let digestQueue = DispatchQueue(label: "helios.state.digest")
    private let lastDigest = Mutex<(appliedIndex: UInt64, digest: UInt32)?>(nil)
    let changes = StateChanges()
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Reads the state under the lock, which apply waits for: for reads of a few records. A read
    /// that walks the state (a list, a digest, a snapshot) takes a ``view()`` instead.
    func read<R>(_ body: (ClusterState) throws -> R) rethrows -> R {
        try state.withLock { try body($0) }
    }

    /// The state as of now, taken in O(1): the lock is held to copy the state's table references,
    /// and the view never changes after. Apply goes on meanwhile; its next change to a table the
    /// view shares copies one shard of it (``RecordTable``), so a view held while a million-record
    /// state is serialized never stalls apply or the Raft loop behind it.
    func view() -> ClusterState {
        state.withLock { $0 }
    }

    /// The applied index and the state digest (``ClusterState/digest()``, which serializes the whole
    /// state: a second or more for a large one), computed on a ``view()`` so that apply goes on
    /// meanwhile, on a thread of its own so that it never holds one of Swift's cooperative threads
    /// (two on a 2-core machine, which the Raft loop needs), one at a time, and shared: callers that
    /// ask again for the same index (a client that timed out and retries) get the last result
    /// instead of starting another.
    func digest() async -> (appliedIndex: UInt64, digest: UInt32) {
        let state = view()
        return await withCheckedContinuation { continuation in
            digestQueue.async {
                if let last = self.lastDigest.withLock({ $0 }), last.appliedIndex == state.appliedIndex {
                    return continuation.resume(returning: last)
                }
                let computed = (appliedIndex: state.appliedIndex, digest: state.digest())
                self.lastDigest.withLock { $0 = computed }
                continuation.resume(returning: computed)
            }
        }
    }

    /// Applies `entry` and returns its ``AppliedChange`` (the proposer's answer).
    @discardableResult
    func apply(_ entry: Entry) -> (any Sendable)? {
        var change = AppliedChange(index: entry.index)
        if entry.kind == .normal && !entry.data.isEmpty {
            do {
                change.event = try Event(serializedBytes: entry.data)
            } catch {
                // Every node refuses the same undecodable bytes the same way.
                change.refused = EventRejection("entry \(entry.index)", "payload is not a Helios event: \(error)")
            }
        }
        change = state.withLock { state in
            if let event = change.event {
                switch state.apply(event, at: entry.index) {
                case .success(let applied): change.applied = applied
                case .failure(let refusal): change.refused = refusal
                }
            } else {
                state.advance(to: entry.index)
            }
            return change
        }
        changes.publish(change)
        return change
    }

    func restore(_ snapshot: Snapshot) {
        do {
            let loaded = try SnapshotReader.read(bytes: snapshot.data, name: "snapshot \(snapshot.metadata.index)")
            state.withLock { $0 = loaded.state }
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
        let state = view()
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
