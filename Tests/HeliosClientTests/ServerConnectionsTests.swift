import HeliosClient
import HeliosEdge
import NIOCore
import HeliosProto
import SwiftProtobuf
import Testing

/// `ServerConnections`' round over the servers (no server needs to run: the bodies below decide).
@Suite("ServerConnections")
struct ServerConnectionsTests {
    struct Down: Error {}
    struct Refused: Error {}

    static func connections(_ ports: [Int]) throws -> ServerConnections {
        try ServerConnections(addresses: ports.map { ServerAddress(host: "127.0.0.1", port: $0) })
    }

    @Test("a round tries each server once from the last that answered; the one that answers is tried first next time")
    func rotation() async throws {
        let servers = try Self.connections([1, 2, 3])
        defer { servers.close() }
        var tried: [Int] = []
        var failed: [Int] = []
        let first = await servers.firstAnswer({ _, address in
            tried.append(address.port)
            guard address.port == 2 else { throw Down() }
            return address.port
        }, onFailure: { _, address in failed.append(address.port) })
        #expect(first == 2)
        #expect(tried == [1, 2])
        #expect(failed == [1])

        tried = []
        let second = await servers.firstAnswer({ _, address in
            tried.append(address.port)
            guard address.port != 2 else { throw Down() }
            return address.port
        }, onFailure: { _, _ in })
        #expect(tried == [2, 3], "starts at the server that answered last")
        #expect(second == 3)
    }

    @Test("every server failing gives nil; a failure the caller rethrows ends the round with it")
    func failures() async throws {
        let servers = try Self.connections([1, 2])
        defer { servers.close() }
        let none: Int? = await servers.firstAnswer({ _, _ in throw Down() }, onFailure: { _, _ in })
        #expect(none == nil)
        var tried = 0
        await #expect(throws: Refused.self) {
            _ = try await servers.firstAnswer({ _, _ -> Int in
                tried += 1
                throw Down()
            }, onFailure: { (_, _) throws(Refused) in throw Refused() })
        }
        #expect(tried == 1)
    }

    @Test("a server learned at run time is added once and tried first")
    func learned() async throws {
        let servers = try Self.connections([1])
        defer { servers.close() }
        let leader = ServerAddress(host: "127.0.0.1", port: 9)
        #expect(try servers.add(leader))
        #expect(try !servers.add(leader))
        #expect(servers.addresses == [ServerAddress(host: "127.0.0.1", port: 1), leader])
        let first = await servers.firstAnswer({ _, address in address.port }, onFailure: { _, _ in })
        #expect(first == 9)
        #expect(throws: HeliosClientError.self) { try ServerConnections(addresses: []) }
    }
}

/// A response over grpc-swift's 4 MiB default reaches the client (the transport bounds what a
/// stream decodes by the *request* limit; `HeliosClient` raises both).
@Suite("HeliosClient large responses")
struct LargeResponseTests {
    @Test("a job list of ~6 MiB is read whole")
    func largeList() async throws {
        let response = Helios_V1_ListJobsResponse.with { list in
            list.jobs = (0..<60_000).map { i in .with { $0.id = "job-\(i)-" + String(repeating: "x", count: 80) } }
        }
        let bytes: [UInt8] = try response.serializedBytes()
        #expect(bytes.count > 5 << 20)
        var router = GRPCRouter()
        router.register("/helios.v1.Jobs/List", .unary { _, call in call.respond(bytes) })
        let endpoint = GRPCServerEndpoint(router: router)
        let address = try await endpoint.bind(host: "127.0.0.1", port: 0)
        let client = try HeliosClient(addresses: ["127.0.0.1:\(address.port!)"])
        let jobs = try await client.jobs(stale: true)
        client.close()
        await endpoint.shutdownGracefully(timeout: .seconds(1))
        #expect(jobs.count == 60_000)
    }
}
