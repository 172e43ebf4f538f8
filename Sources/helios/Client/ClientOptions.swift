import ArgumentParser
import Foundation
import HeliosClient

/// The options every command that talks to a cluster shares.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .customLong("server-addr"),
        help: ArgumentHelp(
            "A server to talk to (host:port or http://host:port); repeat or comma-separate to give several, tried in turn.",
            discussion: "Default: $HELIOS_ADDR, else http://127.0.0.1:50051."))
    var serverAddr: [String] = []

    @Option(help: "Seconds to keep retrying an unreachable or leaderless cluster before giving up.")
    var retryTimeout: Double = 15

    /// The addresses in effect: the flags, else `HELIOS_ADDR`, else the default.
    var addresses: [String] {
        if !serverAddr.isEmpty { return serverAddr }
        if let environment = ProcessInfo.processInfo.environment["HELIOS_ADDR"], !environment.isEmpty { return [environment] }
        return ["http://127.0.0.1:50051"]
    }

    /// Runs `body` with a connected client, closing it after; client errors become CLI errors.
    func withClient<T: Sendable>(_ body: (HeliosClient) async throws -> T) async throws -> T {
        let client: HeliosClient
        do {
            var configuration = HeliosClient.Configuration()
            configuration.retryTimeout = .milliseconds(Int64(max(0, retryTimeout) * 1000))
            client = try HeliosClient(addresses: addresses, configuration: configuration)
        } catch {
            throw CLIError(error.message)
        }
        defer { client.close() }
        do {
            return try await body(client)
        } catch let error as HeliosClientError {
            throw CLIError(error.message)
        }
    }
}

/// Output selection shared by the read commands.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON (protobuf JSON mapping) instead of tables, for scripts.")
    var json = false
}

/// A failure the CLI reports as `Error: <message>` with a non-zero exit code.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
