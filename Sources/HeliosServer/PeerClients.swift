import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// gRPC clients to the other servers, for forwarding writes and agent calls to the leader.
final class PeerClients: Sendable {
    private struct Connection: Sendable {
        var address: PeerAddress
        var client: GRPCClient<HTTP2ClientTransport.Posix>
        var run: Task<Void, Never>
    }

    private let connections = Mutex<[NodeID: Connection]>([:])

    init(addresses: [NodeID: PeerAddress]) throws {
        try update(addresses: addresses)
    }

    private static func connect(_ address: PeerAddress) throws -> Connection {
        let transport = try address.clientTransport()
        let client = GRPCClient(transport: transport)
        return Connection(address: address, client: client, run: Task { try? await client.runConnections() })
    }

    /// Replaces the set of servers (membership changed).
    func update(addresses: [NodeID: PeerAddress]) throws {
        let retired = try connections.withLock { connections -> [Connection] in
            var retired: [Connection] = []
            for (id, connection) in connections where addresses[id] != connection.address {
                retired.append(connection)
                connections[id] = nil
            }
            for (id, address) in addresses where connections[id] == nil {
                connections[id] = try Self.connect(address)
            }
            return retired
        }
        for connection in retired {
            connection.client.beginGracefulShutdown()
            connection.run.cancel()
        }
    }

    func client(for id: NodeID) -> GRPCClient<HTTP2ClientTransport.Posix>? { connections.withLock { $0[id]?.client } }

    func shutdown() {
        for connection in connections.withLock({ Array($0.values) }) {
            connection.client.beginGracefulShutdown()
            connection.run.cancel()
        }
    }
}
