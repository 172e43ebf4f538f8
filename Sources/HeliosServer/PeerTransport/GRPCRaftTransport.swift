import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosReplication
import Logging
import SwiftProtobuf
import Synchronization

/// Carries Raft messages to peers over gRPC (`helios.v1.Raft/Stream`): per peer one connection and
/// one long-lived client stream; each `send` becomes one batch written to it. Best effort: while a
/// stream is being (re)opened, batches wait in a bounded buffer (the oldest are dropped first);
/// what a broken stream loses, Raft retries.
final class GRPCRaftTransport: RaftTransport, Sendable {
    private let peers: Mutex<[NodeID: Peer]>
    private let logger: Logger

    final class Peer: Sendable {
        let id: NodeID
        let address: PeerAddress
        let client: GRPCClient<HTTP2ClientTransport.Posix>
        /// The current stream's input, nil between streams.
        let outbox = Mutex<AsyncStream<Helios_V1_RaftBatch>.Continuation?>(nil)
        let tasks: Mutex<[Task<Void, Never>]> = Mutex([])

        init(id: NodeID, address: PeerAddress, logger: Logger) throws {
            self.id = id
            self.address = address
            let client = GRPCClient(transport: try address.clientTransport())
            self.client = client
            let connections = Task { _ = try? await client.runConnections() }
            let streams = Task { [weak self] in
                guard let self else { return }
                await self.keepStreaming(logger: logger)
            }
            tasks.withLock { $0 = [connections, streams] }
        }

        /// Opens a stream, feeds it until it breaks, and opens the next one (50 ms later).
        private func keepStreaming(logger: Logger) async {
            let raft = Helios_V1_Raft.Client(wrapping: client)
            while !Task.isCancelled {
                let (batches, continuation) = AsyncStream.makeStream(of: Helios_V1_RaftBatch.self, bufferingPolicy: .bufferingNewest(4096))
                outbox.withLock { $0 = continuation }
                do {
                    var options = CallOptions.defaults
                    options.maxRequestMessageBytes = 64 << 20
                    _ = try await raft.stream(options: options) { writer in
                        for await batch in batches { try await writer.write(batch) }
                    }
                } catch {
                    logger.debug("Raft stream ended", metadata: ["peer": "\(id)", "address": "\(address)", "error": "\(error)"])
                }
                outbox.withLock { $0 = nil }
                continuation.finish()
                try? await Task.sleep(for: .milliseconds(50))
            }
        }

        func enqueue(_ batch: Helios_V1_RaftBatch) {
            outbox.withLock { _ = $0?.yield(batch) }
        }

        func close() {
            outbox.withLock { $0?.finish() }
            for task in tasks.withLock({ $0 }) { task.cancel() }
            client.beginGracefulShutdown()
        }
    }

    init(peers: [NodeID: PeerAddress], logger: Logger) throws {
        var built: [NodeID: Peer] = [:]
        for (id, address) in peers { built[id] = try Peer(id: id, address: address, logger: logger) }
        self.peers = Mutex(built)
        self.logger = logger
    }

    /// Replaces the peer set (membership changed): new peers get a connection, removed ones lose theirs.
    func update(peers addresses: [NodeID: PeerAddress]) {
        let retired = peers.withLock { peers -> [Peer] in
            var retired: [Peer] = []
            for (id, peer) in peers where addresses[id] != peer.address {
                retired.append(peer)
                peers[id] = nil
            }
            for (id, address) in addresses where peers[id] == nil {
                do {
                    peers[id] = try Peer(id: id, address: address, logger: logger)
                } catch {
                    logger.error("cannot create a Raft connection", metadata: ["peer": "\(id)", "address": "\(address)", "error": "\(error)"])
                }
            }
            return retired
        }
        for peer in retired { peer.close() }
    }

    func send(_ messages: [HeliosRaft.Message]) {
        var byPeer: [NodeID: [HeliosRaft.Message]] = [:]
        for message in messages { byPeer[message.to, default: []].append(message) }
        for (id, batch) in byPeer {
            guard let peer = peers.withLock({ $0[id] }) else {
                logger.debug("dropping Raft messages to unknown peer", metadata: ["peer": "\(id)"])
                continue
            }
            peer.enqueue(.with { $0.messages = batch.map(RaftMessageCoding.encode) })
        }
    }

    func shutdown() {
        for peer in peers.withLock({ Array($0.values) }) { peer.close() }
    }
}
