import HeliosClient
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
