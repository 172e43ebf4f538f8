import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

/// The servers a client or an agent talks to: one gRPC connection each (opened on first use,
/// reconnecting with backoff), the server that answered last tried first.
///
/// ``HeliosClient`` and the agent's server pool differ only in what they make of a failure (the
/// client retries rounds with backoff and follows leader hints; the agent tries each server once per
/// call), so that policy is the caller's: ``firstAnswer(_:onFailure:)`` runs one round and asks the
/// caller, for each failure, whether to go on to the next server.
public final class ServerConnections: Sendable {
    /// One server and its connection.
    public struct Endpoint: Sendable {
        public let address: ServerAddress
        public let client: GRPCClient<HTTP2ClientTransport.Posix>
        let run: Task<Void, Never>

        func close() {
            client.beginGracefulShutdown()
            run.cancel()
        }
    }

    private let endpoints: Mutex<[Endpoint]>
    /// The index of the server that answered last.
    private let current = Atomic<Int>(0)

    /// Connects (lazily) to every address; at least one is needed.
    public init(addresses: [ServerAddress]) throws(HeliosClientError) {
        guard !addresses.isEmpty else {
            throw HeliosClientError(.invalidArgument, "no server address given; pass --server-addr host:port or set HELIOS_ADDR")
        }
        var endpoints: [Endpoint] = []
        for address in addresses { endpoints.append(try Self.connect(address)) }
        self.endpoints = Mutex(endpoints)
    }

    private static func connect(_ address: ServerAddress) throws(HeliosClientError) -> Endpoint {
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try address.makeTransport()
        } catch {
            throw HeliosClientError(.invalidArgument, "server address \(address): \(error)")
        }
        let client = GRPCClient(transport: transport)
        return Endpoint(address: address, client: client, run: Task { try? await client.runConnections() })
    }

    /// Every server, in the order they were given or learned.
    public var all: [Endpoint] { endpoints.withLock { $0 } }

    /// The addresses of ``all``.
    public var addresses: [ServerAddress] { all.map(\.address) }

    /// Runs `body` against each server once, the one that answered last first, until one succeeds
    /// (it becomes the first to try next time). Each failure goes to `onFailure` with the server's
    /// address: it throws to end the round with that error, or returns to try the next server.
    /// Returns nil when every server failed and `onFailure` let each failure go.
    public func firstAnswer<R: Sendable, Failure: Error>(
        _ body: (GRPCClient<HTTP2ClientTransport.Posix>, ServerAddress) async throws -> R,
        onFailure: (any Error, ServerAddress) throws(Failure) -> Void
    ) async throws(Failure) -> R? {
        let servers = all
        let start = current.load(ordering: .relaxed) % servers.count
        for offset in 0..<servers.count {
            let index = (start + offset) % servers.count
            do {
                let result = try await body(servers[index].client, servers[index].address)
                if index != start { current.store(index, ordering: .relaxed) }
                return result
            } catch {
                try onFailure(error, servers[index].address)
            }
        }
        return nil
    }

    /// Adds a server learned while running (a leader that servers named) and makes it the first to
    /// try. Returns false, changing nothing, when it is known already.
    @discardableResult
    public func add(_ address: ServerAddress) throws(HeliosClientError) -> Bool {
        guard !addresses.contains(address) else { return false }
        let added = try Self.connect(address)
        let kept = endpoints.withLock { endpoints -> Bool in
            guard !endpoints.contains(where: { $0.address == address }) else { return false }
            endpoints.append(added)
            current.store(endpoints.count - 1, ordering: .relaxed)
            return true
        }
        if !kept { added.close() }
        return kept
    }

    /// Closes every connection; calls in flight fail.
    public func close() {
        for endpoint in all { endpoint.close() }
    }
}
