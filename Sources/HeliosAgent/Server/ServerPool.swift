import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosClient
import Logging
import Synchronization

/// The servers an agent talks to: one gRPC client each, calls go to the current one and move to the
/// next on connection-level failures (the agent fails over between servers).
final class ServerPool: Sendable {
    struct Server: Sendable {
        var address: String
        var client: GRPCClient<HTTP2ClientTransport.Posix>
        var run: Task<Void, Never>
    }

    private let servers: [Server]
    private let current = Atomic<Int>(0)
    private let logger: Logger

    init(addresses: [String], logger: Logger) throws {
        var servers: [Server] = []
        for address in addresses {
            let parsed: ServerAddress
            do {
                parsed = try ServerAddress(parsing: address)
            } catch {
                throw AgentError(error.message)
            }
            let client = GRPCClient(transport: try parsed.makeTransport())
            servers.append(Server(address: parsed.description, client: client, run: Task { _ = try? await client.runConnections() }))
        }
        guard !servers.isEmpty else { throw AgentError("no server address given; pass --server-addr host:port") }
        self.servers = servers
        self.logger = logger
    }

    /// Parses `host:port` or `http://host:port`.
    static func parse(_ text: String) throws -> (String, Int) {
        do {
            let address = try ServerAddress(parsing: text)
            return (address.host, address.port)
        } catch {
            throw AgentError(error.message)
        }
    }

    var addresses: [String] { servers.map(\.address) }

    /// Runs `body` against the current server; on a connection-level failure tries the next ones
    /// (each server once) before giving up with the last error.
    func call<R: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R) async throws -> R {
        var lastError: (any Error)?
        let start = current.load(ordering: .relaxed)
        for offset in 0..<servers.count {
            let index = (start + offset) % servers.count
            do {
                let result = try await body(servers[index].client)
                if index != start { current.store(index, ordering: .relaxed) }
                return result
            } catch let error as RPCError where [.unavailable, .deadlineExceeded, .cancelled].contains(error.code) {
                logger.debug("server unreachable, trying the next", metadata: ["server": "\(servers[index].address)", "error": "\(error)"])
                lastError = error
            }
        }
        throw lastError ?? AgentError("no server answered")
    }

    /// Options for agent calls: bounded, failing fast when a server is down.
    static var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(10)
        options.waitForReady = false
        return options
    }

    func shutdown() {
        for server in servers {
            server.client.beginGracefulShutdown()
            server.run.cancel()
        }
    }
}

/// An agent problem a person can act on.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
