import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosAPI
import HeliosEdge
import NIOCore
import Synchronization
import Testing

/// The edge layer through real sockets, called by a stock gRPC client (grpc-swift-2 over
/// grpc-swift-nio-transport, an implementation independent of the layer).
@Suite("GRPCServerEndpoint (real sockets)")
struct GRPCServerEndpointTests {
    /// Bytes in, bytes out: the methods the tests call.
    struct Raw: MessageSerializer, MessageDeserializer {
        func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
        func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
            serializedMessageBytes.withUnsafeBytes { Array($0) }
        }
    }

    static func method(_ name: String) -> MethodDescriptor { MethodDescriptor(fullyQualifiedService: "test.Edge", method: name) }

    /// A router of test methods: `Echo` answers at once, `Later` from another thread, `Never` never
    /// (it records its cancellation), `Count` streams N messages of 1 KiB, `Fail` answers NOT_FOUND.
    static func router(cancelled: Counter? = nil) -> GRPCRouter {
        var router = GRPCRouter()
        router.register("/test.Edge/Echo", .unary { bytes, call in call.respond(Array(buffer: bytes)) })
        router.register("/test.Edge/Later", .unary { bytes, call in
            let message = Array(buffer: bytes)
            Task { call.respond(message.reversed()) }
        })
        router.register("/test.Edge/Never", .unary { _, call in call.onCancel { cancelled?.add() } })
        router.register("/test.Edge/Fail", .unary { _, call in call.finish(GRPCStatus(.notFound, "job nope: no such job; list them with 'helios job list'")) })
        router.register("/test.Edge/Count", .serverStreaming { bytes, call in
            let count = Int(bytes.getInteger(at: bytes.readerIndex, endianness: .little, as: UInt32.self) ?? 0)
            Task {
                do {
                    for i in 0..<count { try await call.send([UInt8](repeating: UInt8(i % 251), count: 1024)).get() }
                    call.finish(.ok)
                } catch {}
            }
        })
        router.register("/test.Edge/Sum", .clientStreaming { call in Summer(call: call) })
        return router
    }

    final class Counter: Sendable {
        private let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    /// Adds the first byte of every message; answers the sum at the end.
    final class Summer: GRPCRequestReceiver, @unchecked Sendable {
        // Touched only on the connection's event loop.
        let call: GRPCCall
        var sum = 0
        init(call: GRPCCall) { self.call = call }
        func receive(_ message: ByteBuffer) { sum += Int(message.getInteger(at: message.readerIndex, as: UInt8.self) ?? 0) }
        func end() { call.respond(withUnsafeBytes(of: UInt32(sum).littleEndian) { Array($0) }) }
    }

    /// Runs `body` with an endpoint on a free port and a client connected to it.
    static func withServer(
        limits: GRPCServerEndpoint.Limits = .init(), router: GRPCRouter = router(),
        _ body: (GRPCClient<HTTP2ClientTransport.Posix>, GRPCServerEndpoint) async throws -> Void
    ) async throws {
        let endpoint = GRPCServerEndpoint(router: router, limits: limits)
        let address = try await endpoint.bind(host: "127.0.0.1", port: 0)
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.http2.maxFrameSize = 1 << 20
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: address.port!), transportSecurity: .plaintext, config: config)
        try await withGRPCClient(transport: transport) { client in
            try await body(client, endpoint)
        }
        await endpoint.shutdownGracefully(timeout: .seconds(1))
    }

    static func call(_ client: GRPCClient<HTTP2ClientTransport.Posix>, _ name: String, _ message: [UInt8], timeout: Duration = .seconds(10)) async throws -> [UInt8] {
        var options = CallOptions.defaults
        options.timeout = timeout
        options.maxResponseMessageBytes = 128 << 20
        options.maxRequestMessageBytes = 128 << 20  // grpc-swift-nio-transport bounds decoded responses by it too
        return try await client.unary(
            request: ClientRequest(message: message), descriptor: method(name), serializer: Raw(), deserializer: Raw(), options: options
        ) { try $0.message }
    }

    @Test("unary calls answered on the event loop and from another thread; a status with its message; 300 calls in flight on one connection")
    func unary() async throws {
        try await Self.withServer { client, _ in
            #expect(try await Self.call(client, "Echo", [1, 2, 3]) == [1, 2, 3])
            #expect(try await Self.call(client, "Echo", []) == [])
            #expect(try await Self.call(client, "Later", [1, 2, 3]) == [3, 2, 1])
            let error = await #expect(throws: RPCError.self) { try await Self.call(client, "Fail", []) }
            #expect(error?.code == .notFound)
            #expect(error?.message == "job nope: no such job; list them with 'helios job list'")
            // More than the 100 streams a default HTTP/2 peer assumes.
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<300 { group.addTask { try await Self.call(client, i % 2 == 0 ? "Echo" : "Later", [UInt8(i % 256)]).count == 1 } }
                var answered = 0
                for try await ok in group where ok { answered += 1 }
                #expect(answered == 300)
            }
        }
    }

    @Test("an unknown method is UNIMPLEMENTED naming it; a message over the limit is RESOURCE_EXHAUSTED naming the limit; the connection keeps serving")
    func refusals() async throws {
        var limits = GRPCServerEndpoint.Limits()
        limits.maximumMessageBytes = 1 << 20
        try await Self.withServer(limits: limits) { client, _ in
            let unknown = await #expect(throws: RPCError.self) { try await Self.call(client, "Nope", []) }
            #expect(unknown?.code == .unimplemented)
            #expect(unknown?.message.contains("/test.Edge/Nope") == true)
            let large = await #expect(throws: RPCError.self) { try await Self.call(client, "Echo", [UInt8](repeating: 7, count: 8 << 20)) }
            #expect(large?.code == .resourceExhausted)
            #expect(large?.message.contains("1048576") == true, "\(large?.message ?? "")")
            // A message just under the limit, across many DATA frames, still works.
            let big = [UInt8](repeating: 9, count: (1 << 20) - 16)
            let echoed = try await Self.call(client, "Echo", big)
            #expect(echoed == big)
        }
    }

    @Test("a 96 MiB request arrives in 6,144 DATA frames and is answered whole (each frame appended in place, not by copying what came before)")
    func largeRequest() async throws {
        // Copying the partial message on every frame (what a Raft catch-up append met) makes this
        // ~300 GB of copying: the call then misses its deadline instead of answering.
        var limits = GRPCServerEndpoint.Limits()
        limits.maximumMessageBytes = 128 << 20
        let big = (0..<(96 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await Self.withServer(limits: limits) { client, _ in
            let echoed = try await Self.call(client, "Echo", big, timeout: .seconds(60))
            #expect(echoed == big)
        }
    }

    @Test("a call past its deadline ends, and the handler learns it was cancelled")
    func deadline() async throws {
        let cancelled = Counter()
        try await Self.withServer(router: Self.router(cancelled: cancelled)) { client, _ in
            let error = await #expect(throws: RPCError.self) { try await Self.call(client, "Never", [], timeout: .seconds(1)) }
            #expect(error?.code == .deadlineExceeded)
            let deadline = ContinuousClock.now + .seconds(30)
            while cancelled.count == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(cancelled.count == 1)
            #expect(try await Self.call(client, "Echo", [4]) == [4])
        }
    }

    @Test("a server stream of 20 MiB reaches the client whole, through flow control; a client stream is summed")
    func streams() async throws {
        try await Self.withServer { client, _ in
            var options = CallOptions.defaults
            options.timeout = .seconds(60)
            let count = 20 * 1024
            let received = try await client.serverStreaming(
                request: ClientRequest(message: withUnsafeBytes(of: UInt32(count).littleEndian) { Array($0) }), descriptor: Self.method("Count"),
                serializer: Raw(), deserializer: Raw(), options: options
            ) { response in
                var messages = 0
                var bytes = 0
                for try await message in response.messages {
                    #expect(message.first == UInt8(messages % 251))
                    messages += 1
                    bytes += message.count
                }
                return (messages, bytes)
            }
            #expect(received.0 == count && received.1 == count * 1024)

            let sum = try await client.clientStreaming(
                request: StreamingClientRequest(of: [UInt8].self) { writer in
                    // 100 messages of 200 KiB: 20 MiB through the server's flow-control windows.
                    for i in 1...100 { try await writer.write([UInt8(i)] + [UInt8](repeating: 0, count: 200 << 10)) }
                }, descriptor: Self.method("Sum"), serializer: Raw(), deserializer: Raw(), options: options
            ) { try $0.message }
            #expect(sum == withUnsafeBytes(of: UInt32(5050).littleEndian) { Array($0) })
        }
    }

    @Test("graceful shutdown: a call in progress is answered, then the connection closes")
    func gracefulShutdown() async throws {
        var router = Self.router()
        let started = Counter()
        router.register("/test.Edge/Slow", .unary { bytes, call in
            started.add()
            let message = Array(buffer: bytes)
            Task {
                try? await Task.sleep(for: .milliseconds(300))
                call.respond(message)
            }
        })
        try await Self.withServer(router: router) { client, endpoint in
            #expect(try await Self.call(client, "Echo", [1]) == [1])
            async let slow = Self.call(client, "Slow", [5])
            let deadline = ContinuousClock.now + .seconds(10)
            while started.count == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            await endpoint.shutdownGracefully(timeout: .seconds(5))
            #expect(try await slow == [5])
            #expect(endpoint.connectionCount == 0)
        }
    }
}
