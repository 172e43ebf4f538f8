import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// How a `helios server` runs.
public struct ServerConfiguration: Sendable {
    /// This server's Raft id.
    public var nodeID: NodeID
    /// host:port this server serves gRPC on (public API, agents and Raft).
    public var rpcAddress: String
    /// Every server of the cluster, this one included: id -> host:port.
    public var peers: [NodeID: String]
    /// Write the initial cluster configuration (exactly one server, on a new cluster).
    public var bootstrap: Bool
    public var dataDirectory: String
    /// When to snapshot the state and purge the log: like etcd's default (--snapshot-count 100000,
    /// 5000 entries kept for followers that lag a little).
    public var compaction = RaftDriver.CompactionPolicy(everyEntries: 100_000, retainEntries: 5_000)
    /// Size at which log segments roll (each is preallocated to it); 64 MiB like etcd's WAL files.
    public var segmentSize = 64 << 20
    /// What serves the gRPC port.
    public var rpcStack = RPCStack.edge

    /// The gRPC server implementation a server uses.
    public enum RPCStack: String, Sendable, CaseIterable {
        /// grpc-swift-2's server: kept to measure the edge layer against (`helios-bench cluster
        /// --rpc-stack grpc-swift`).
        case grpcSwift = "grpc-swift"
        /// Helios' own framing layer (`HeliosEdge`, `docs/grpc-edge.md`), the default.
        case edge
    }

    public init(nodeID: NodeID, rpcAddress: String, peers: [NodeID: String], bootstrap: Bool, dataDirectory: String) {
        self.nodeID = nodeID
        self.rpcAddress = rpcAddress
        self.peers = peers
        self.bootstrap = bootstrap
        self.dataDirectory = dataDirectory
    }
}
