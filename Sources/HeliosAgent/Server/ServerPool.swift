import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosClient
import Logging

/// The servers an agent talks to (``ServerConnections``, as the client's): a call goes to the server
/// that answered last and moves to the next on a connection-level failure, each server once per call.
final class ServerPool: Sendable {
    private let servers: ServerConnections
    private let logger: Logger

    init(addresses: [String], logger: Logger) throws {
        do {
            servers = try ServerConnections(addresses: try ServerAddress.parseList(addresses))
        } catch {
            throw AgentError(error.message)
        }
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

    var addresses: [String] { servers.addresses.map(\.description) }

    /// Runs `body` against the current server; on a connection-level failure tries the next ones
    /// (each server once) before giving up with the last error.
    func call<R: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R) async throws -> R {
        var lastError: (any Error)?
        let answer = try await servers.firstAnswer({ client, _ in try await body(client) }) { error, address in
            guard let rpcError = error as? RPCError, [.unavailable, .deadlineExceeded, .cancelled].contains(rpcError.code) else { throw error }
            logger.debug("server unreachable, trying the next", metadata: ["server": "\(address)", "error": "\(error)"])
            lastError = error
        }
        if let answer { return answer }
        throw lastError ?? AgentError("no server answered")
    }

    /// Options for agent calls: bounded, failing fast when a server is down.
    static var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(10)
        options.waitForReady = false
        return options
    }

    func shutdown() { servers.close() }
}

/// An agent problem a person can act on.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
