import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosEdge
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import Synchronization
import Testing

/// The peer link through real sockets, on the same port as gRPC.
@Suite("Peer link (real sockets)")
struct PeerLinkTests {
    /// Server 1's side: records raft frames, answers requests with the bytes reversed (a request of
    /// one 0 byte is refused), and records closed links.
    final class Acceptor: PeerLinkAcceptor {
        let raft = Mutex<[[UInt8]]>([])
        let closedLinks = Mutex(0)

        func accept(_ hello: PeerLinkHello, link: PeerLinkInbound) throws(PeerLinkError) -> any PeerLinkReceiver {
            guard hello.receiver == 1 else { throw PeerLinkError("this is server 1, not server \(hello.receiver)") }
            return Receiver(acceptor: self, link: link)
        }

        struct Receiver: PeerLinkReceiver {
            let acceptor: Acceptor
            let link: PeerLinkInbound

            func received(_ frame: PeerLinkFrame) throws(PeerLinkError) {
                if frame.kind == .raft {
                    acceptor.raft.withLock { $0.append(Array(buffer: frame.payload)) }
                    return
                }
                let (id, body) = try frame.splitRequestID()
                let bytes = Array(buffer: body)
                if bytes == [0] { return link.fail(id, code: 9, "request \(id): zero refused") }
                // Answered from another thread, as a proposal's outcome is.
                Task { link.respond(to: id, bytes.reversed()) }
            }

            func closed() { acceptor.closedLinks.withLock { $0 += 1 } }
        }
    }

    static func until(_ timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }

    static func endpoint(_ acceptor: Acceptor, port: Int = 0) async throws -> (GRPCServerEndpoint, Int) {
        let endpoint = GRPCServerEndpoint(router: GRPCServerEndpointTests.router(), peerLink: acceptor)
        let address = try await endpoint.bind(host: "127.0.0.1", port: port)
        return (endpoint, address.port!)
    }

    @Test("raft frames arrive in order, requests are answered or refused by id, and gRPC is served on the same port")
    func roundTrip() async throws {
        let acceptor = Acceptor()
        let (endpoint, port) = try await Self.endpoint(acceptor)
        let client = PeerLinkClient(hello: PeerLinkHello(sender: 2, receiver: 1), host: "127.0.0.1", port: port, logger: Logger(label: "test"))
        for i in 0..<100 { client.send(PeerLinkFrame(kind: .raft, payload: ByteBuffer(bytes: [UInt8(i)]))) }
        try await Self.until { acceptor.raft.withLock { $0.count } == 100 }
        #expect(acceptor.raft.withLock { $0 } == (0..<100).map { [UInt8($0)] })

        let answers = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 1...200 { group.addTask { try await client.request([UInt8(i % 256), 1, 2], timeout: .seconds(10)) == ByteBuffer(bytes: [2, 1, UInt8(i % 256)]) } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(answers == 200)
        do {
            _ = try await client.request([0], timeout: .seconds(10))
            Issue.record("a refused request must throw")
        } catch PeerLinkClient.RequestError.refused(let code, let message) {
            #expect(code == 9 && message.contains("zero refused"))
        }

        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff = .init(initial: .milliseconds(50), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext, config: config)
        try await withGRPCClient(transport: transport) { grpc in
            let echoed = try await GRPCServerEndpointTests.call(grpc, "Echo", [4, 5])
            #expect(echoed == [4, 5])
        }
        client.close()
        try await Self.until { acceptor.closedLinks.withLock { $0 } == 1 }
        #expect(acceptor.closedLinks.withLock { $0 } == 1)
        await endpoint.shutdownGracefully(timeout: .seconds(1))
    }

    @Test("frames of every size from 4 threads at once arrive whole and in each thread's order (none dropped under a large enough write buffer)")
    func concurrentFrames() async throws {
        let acceptor = Acceptor()
        let (endpoint, port) = try await Self.endpoint(acceptor)
        var limits = PeerLinkClient.Limits()
        limits.writeBufferBytes = 1 << 30
        let client = PeerLinkClient(hello: PeerLinkHello(sender: 2, receiver: 1), host: "127.0.0.1", port: port, limits: limits, logger: Logger(label: "test"))
        let perThread = 80
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<4 {
                group.addTask {
                    for i in 0..<perThread {
                        // Sizes from 2 bytes to 1 MiB; the first two bytes name the thread and the frame.
                        let size = 2 + (i * 7_919 * (thread + 1)) % (1 << 20)
                        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: i &* 13 &+ thread), count: size)
                        bytes[0] = UInt8(thread)
                        bytes[1] = UInt8(i)
                        while !client.isConnected && i == 0 { try? await Task.sleep(for: .milliseconds(5)); client.send(PeerLinkFrame(kind: .raft, payload: ByteBuffer(bytes: [0xFF]))) }
                        client.send(PeerLinkFrame(kind: .raft, payload: ByteBuffer(bytes: bytes)))
                        if i % 10 == 0 { try? await Task.sleep(for: .milliseconds(20)) }
                    }
                }
            }
        }
        try await Self.until(.seconds(60)) { acceptor.raft.withLock { $0.filter { $0 != [0xFF] }.count } == 4 * perThread }
        let frames = acceptor.raft.withLock { $0 }.filter { $0 != [0xFF] }
        #expect(frames.count == 4 * perThread)
        for thread in 0..<4 {
            let mine = frames.filter { $0[0] == UInt8(thread) }
            #expect(mine.map { Int($0[1]) } == Array(0..<perThread), "thread \(thread)")
            for frame in mine {
                let i = Int(frame[1])
                let size = 2 + (i * 7_919 * (thread + 1)) % (1 << 20)
                #expect(frame.count == size && frame.dropFirst(2).allSatisfy { $0 == UInt8(truncatingIfNeeded: i &* 13 &+ thread) }, "thread \(thread) frame \(i)")
            }
        }
        client.close()
        await endpoint.shutdownGracefully(timeout: .seconds(1))
    }

    @Test("frames queued before the listener is up go out with the hello in one burst and arrive whole")
    func queuedBurst() async throws {
        let port = try await { () async throws -> Int in
            let (probe, port) = try await Self.endpoint(Acceptor())
            await probe.shutdownGracefully(timeout: .seconds(1))
            return port
        }()
        var limits = PeerLinkClient.Limits()
        limits.writeBufferBytes = 1 << 30
        let client = PeerLinkClient(hello: PeerLinkHello(sender: 2, receiver: 1), host: "127.0.0.1", port: port, limits: limits, logger: Logger(label: "test"))
        let count = 120
        func frame(_ i: Int) -> [UInt8] { [UInt8(i)] + [UInt8](repeating: UInt8(truncatingIfNeeded: i &* 7), count: 30 + (i * 9_973) % 200_000) }
        for i in 0..<count { client.send(PeerLinkFrame(kind: .raft, payload: ByteBuffer(bytes: frame(i)))) }
        let acceptor = Acceptor()
        let (endpoint, _) = try await Self.endpoint(acceptor, port: port)
        try await Self.until(.seconds(30)) { acceptor.raft.withLock { $0.count } >= count }
        let received = acceptor.raft.withLock { $0 }
        #expect(received.count == count)
        for (i, bytes) in received.enumerated() { #expect(bytes == frame(i), "frame \(i)") }
        client.close()
        await endpoint.shutdownGracefully(timeout: .seconds(1))
    }

    @Test("a listener that stops reading makes the dialer drop frames beyond its write buffer, however fast they are sent")
    func boundedWhileStalled() async throws {
        // Accepts connections and never reads them (a stopped or partitioned server).
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.so_rcvbuf), value: 4096)
            .bind(host: "127.0.0.1", port: 0).get()
        var limits = PeerLinkClient.Limits()
        limits.writeBufferBytes = 4 << 20
        let client = PeerLinkClient(
            hello: PeerLinkHello(sender: 2, receiver: 1), host: "127.0.0.1", port: listener.localAddress!.port!, limits: limits, logger: Logger(label: "test"))
        client.send(PeerLinkFrame(kind: .raft, payload: ByteBuffer(bytes: [1])))
        try await Self.until { client.isConnected }
        var peak = 0
        for _ in 0..<200 {
            client.send(PeerLinkFrame(kind: .raft, payload: ByteBuffer(repeating: 7, count: 1 << 20)))
            peak = max(peak, client.unwrittenBytes)
        }
        try await Task.sleep(for: .milliseconds(500))
        peak = max(peak, client.unwrittenBytes)
        #expect(peak <= (4 << 20) + (1 << 20) + 64, "\(peak) bytes held for a peer that does not read")
        client.close()
        try await listener.close()
    }

    @Test("a hello for another server is refused: the dialer's requests fail as unavailable, the listener keeps serving")
    func wrongReceiver() async throws {
        let acceptor = Acceptor()
        let (endpoint, port) = try await Self.endpoint(acceptor)
        let crossed = PeerLinkClient(hello: PeerLinkHello(sender: 2, receiver: 5), host: "127.0.0.1", port: port, logger: Logger(label: "test"))
        await #expect(throws: PeerLinkClient.RequestError.self) { _ = try await crossed.request([1], timeout: .seconds(10)) }
        crossed.close()
        let right = PeerLinkClient(hello: PeerLinkHello(sender: 2, receiver: 1), host: "127.0.0.1", port: port, logger: Logger(label: "test"))
        #expect(try await right.request([1, 2], timeout: .seconds(10)) == ByteBuffer(bytes: [2, 1]))
        right.close()
        await endpoint.shutdownGracefully(timeout: .seconds(1))
    }

    @Test("the dialer reconnects once the listener is back on its port; meanwhile requests fail fast instead of waiting")
    func reconnects() async throws {
        let acceptor = Acceptor()
        var (endpoint, port) = try await Self.endpoint(acceptor)
        let client = PeerLinkClient(hello: PeerLinkHello(sender: 2, receiver: 1), host: "127.0.0.1", port: port, logger: Logger(label: "test"))
        #expect(try await client.request([1], timeout: .seconds(10)) == ByteBuffer(bytes: [1]))
        await endpoint.shutdownGracefully(timeout: .seconds(1))
        try await Self.until { !client.isConnected }
        await #expect(throws: PeerLinkClient.RequestError.self) { _ = try await client.request([1], timeout: .seconds(10)) }
        (endpoint, port) = try await Self.endpoint(acceptor, port: port)
        try await Self.until { client.isConnected }
        #expect(try await client.request([3, 4], timeout: .seconds(10)) == ByteBuffer(bytes: [4, 3]))
        client.close()
        await endpoint.shutdownGracefully(timeout: .seconds(1))
    }

    @Test("a listener answers a frame that breaks the format with an error frame naming it, then closes")
    func badFrames() throws {
        for (bytes, expected) in [
            (PeerLinkFrame(kind: .raft, payload: ByteBuffer()).encoded(), "first frame of a peer link must be hello"),
            (ByteBuffer(bytes: [0, 0, 0, 2, 7, 1]), "version 7"),
            (ByteBuffer(bytes: [0x7F, 0, 0, 0, 1, 1]), "frames are 2 to"),
        ] {
            let channel = EmbeddedChannel()
            var limits = GRPCServerEndpoint.Limits()
            limits.maximumPeerLinkFrameBytes = 4096
            try GRPCServerEndpoint.configurePeerLink(channel, acceptor: Acceptor(), limits: limits)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            _ = try? channel.writeInbound(bytes)
            channel.embeddedEventLoop.run()
            var answer = ByteBuffer()
            while var part = try channel.readOutbound(as: ByteBuffer.self) { answer.writeBuffer(&part) }
            var decoder = PeerLinkFrameDecoder(maximumFrameBytes: 4096)
            let frame = try #require(try decoder.decode(buffer: &answer), "no answer to \(expected)")
            let error = try frame.errorFields()
            #expect(frame.kind == .error && error.id == 0 && error.message.contains(expected), "\(error.message)")
            #expect(!channel.isActive, "the link closes after its error")
            _ = try? channel.finish()
        }
    }
}
