import GRPCCore
import HeliosAPI
import HeliosProto
import SwiftProtobuf
import Synchronization

extension HeliosClient {
    /// The Raft members as the answering server sees them.
    public func raftPeers() async throws(HeliosClientError) -> Helios_V1_RaftPeersResponse {
        try await withRetries("list raft peers") { client, _ in
            try await Helios_V1_Operator.Client(wrapping: client).raftPeers(.init(), options: unaryOptions)
        }
    }

    /// Adds a server to the Raft configuration.
    @discardableResult
    public func addPeer(id: UInt64, address: String, voter: Bool = true) async throws(HeliosClientError) -> UInt64 {
        try await withRetries("add peer \(id)") { client, _ in
            try await Helios_V1_Operator.Client(wrapping: client).addPeer(
                .with {
                    $0.id = id
                    $0.address = address
                    $0.voter = voter
                }, options: unaryOptions
            ).index
        }
    }

    /// Removes a server from the Raft configuration.
    @discardableResult
    public func removePeer(id: UInt64) async throws(HeliosClientError) -> UInt64 {
        try await withRetries("remove peer \(id)") { client, _ in
            try await Helios_V1_Operator.Client(wrapping: client).removePeer(.with { $0.id = id }, options: unaryOptions).index
        }
    }

    /// Hands leadership to `to` (0: any up-to-date voter).
    @discardableResult
    public func transferLeadership(to: UInt64 = 0) async throws(HeliosClientError) -> UInt64 {
        try await withRetries("transfer leadership") { client, _ in
            try await Helios_V1_Operator.Client(wrapping: client).transferLeadership(.with { $0.to = to }, options: unaryOptions).index
        }
    }

    /// Streams a snapshot of the cluster state (the snapshot file format of Formats/snapshot.md) into
    /// `onChunk`.
    public func saveSnapshot(onChunk: @escaping @Sendable ([UInt8]) async throws -> Void) async throws(HeliosClientError) {
        var options = CallOptions.defaults
        options.waitForReady = false
        options.timeout = .seconds(600)
        try await withRetries("snapshot save") { client, _ in
            try await Helios_V1_Operator.Client(wrapping: client).snapshotSave(.init(), options: options) { response in
                for try await chunk in response.messages { try await onChunk(Array(chunk.data)) }
            }
        }
    }

    /// Takes a snapshot now and purges the log below it.
    public func compact() async throws(HeliosClientError) -> Helios_V1_CompactResponse {
        try await withRetries("compact") { client, _ in
            try await Helios_V1_Operator.Client(wrapping: client).compact(.init(), options: unaryOptions)
        }
    }

    /// The answering server's view: its id, the leader, term, commit and applied index, and (when
    /// asked: it serializes the whole state) the state digest.
    public func clusterInfo(withStateDigest: Bool = false) async throws(HeliosClientError) -> Helios_V1_ClusterInfoResponse {
        try await withRetries("cluster info") { client, _ in
            try await Helios_V1_Operator.Client(wrapping: client).clusterInfo(.with { $0.withStateDigest = withStateDigest }, options: unaryOptions)
        }
    }

    /// Streams committed events after `afterIndex` (0: from the oldest retained) into `onEvent`, for
    /// `topics` (empty: all) and `key` (empty: any). Without `follow` the stream ends after the events
    /// already committed; with it the stream stays open for new ones and reconnects after a server
    /// failure, resuming after the last index received, until the caller cancels.
    public func events(
        afterIndex: UInt64 = 0, topics: [String] = [], key: String = "", follow: Bool = true,
        onEvent: @escaping @Sendable (Helios_V1_EventStreamResponse) async throws -> Void
    ) async throws(HeliosClientError) {
        let resume = ResumePoint(afterIndex)
        var options = CallOptions.defaults
        options.waitForReady = false
        repeat {
            try await withRetries("event stream") { client, _ in
                try await Helios_V1_Events.Client(wrapping: client).stream(
                    .with {
                        $0.afterIndex = resume.index
                        $0.topics = topics
                        $0.key = key
                        $0.backlogOnly = !follow
                    }, options: options
                ) { response in
                    for try await event in response.messages {
                        try await onEvent(event)
                        resume.index = event.index
                    }
                }
            }
        } while follow && !Task.isCancelled
    }
}

/// The last event index a stream delivered (so a reconnect resumes after it).
final class ResumePoint: Sendable {
    private let value: Mutex<UInt64>
    var index: UInt64 {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
    init(_ index: UInt64) { value = Mutex(index) }
}
