import HeliosRaft
import Synchronization

/// Carries Raft messages between nodes. Sending is best effort and must not block: Raft retries.
public protocol RaftTransport: Sendable {
    /// Sends messages to their `to` nodes.
    func send(_ messages: [Message])
}

/// The application whose state Raft replicates.
public protocol RaftStateMachine: Sendable {
    /// Applies a committed entry (all of them, in index order; empty and configuration entries too)
    /// and returns what applying it produced, which the entry's proposer receives from
    /// ``RaftDriver/propose(_:timeout:background:)`` (nil: nothing to report).
    func apply(_ entry: Entry) -> (any Sendable)?
    /// Replaces the state with a snapshot's.
    func restore(_ snapshot: Snapshot)
    /// The state as of the last applied entry, which is `position.index`, as a snapshot's bytes.
    func snapshotData(position: SnapshotMetadata) -> [UInt8]
    /// Captures the state as of the last applied entry (`position.index`) cheaply and returns the work
    /// that serializes it, which the driver runs off its loop. The default serializes at once.
    func snapshotBuilder(position: SnapshotMetadata) -> @Sendable () -> [UInt8]
}

extension RaftStateMachine {
    public func snapshotBuilder(position: SnapshotMetadata) -> @Sendable () -> [UInt8] {
        let bytes = snapshotData(position: position)
        return { bytes }
    }
}

/// A transport inside one process, for tests: drivers register, messages are delivered by direct
/// call, links can be cut.
public final class InMemoryRaftNetwork: Sendable {
    private let state = Mutex<(drivers: [NodeID: RaftDriver], cut: Set<[NodeID]>)>(([:], []))

    public init() {}

    public func register(_ driver: RaftDriver) { state.withLock { $0.drivers[driver.id] = driver } }
    public func unregister(_ id: NodeID) { _ = state.withLock { $0.drivers.removeValue(forKey: id) } }

    /// Cuts (or restores) both directions between `node` and every other node.
    public func isolate(_ node: NodeID, _ isolated: Bool = true) {
        state.withLock { state in
            for other in 1...NodeID(64) where other != node {
                if isolated {
                    state.cut.insert([node, other])
                    state.cut.insert([other, node])
                } else {
                    state.cut.remove([node, other])
                    state.cut.remove([other, node])
                }
            }
        }
    }

    /// The transport a node uses to send.
    public func transport(for node: NodeID) -> any RaftTransport { Endpoint(network: self) }

    func deliver(_ messages: [Message]) {
        for message in messages {
            let target = state.withLock { state -> RaftDriver? in
                state.cut.contains([message.from, message.to]) ? nil : state.drivers[message.to]
            }
            target?.receive(message)
        }
    }

    struct Endpoint: RaftTransport {
        let network: InMemoryRaftNetwork
        func send(_ messages: [Message]) { network.deliver(messages) }
    }
}
