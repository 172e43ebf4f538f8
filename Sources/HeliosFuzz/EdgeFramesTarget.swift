import HeliosEdge
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2

/// Feeds the input, after the HTTP/2 client preface, to a connection of the gRPC edge layer (an
/// embedded channel with the server's handlers and a router of echo, streaming and failing methods):
/// whatever the bytes, the connection answers or closes, never crashes, and holds no more than the
/// limits allow. Byte 0 picks how the rest is split into reads (1 to 256 bytes each).
enum EdgeFramesTarget: FuzzTarget {
    static let name = "edge"
    static let summary = "HTTP/2 frames into the gRPC edge layer: answered or closed, never a crash"

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func router() -> GRPCRouter {
        var router = GRPCRouter()
        router.register("/test.Edge/Echo", .unary { bytes, call in call.respond(Array(buffer: bytes)) })
        router.register("/test.Edge/Fail", .unary { _, call in call.finish(GRPCStatus(.notFound, "no such thing")) })
        router.register("/test.Edge/Stream", .serverStreaming { bytes, call in
            for _ in 0..<3 { call.send(Array(buffer: bytes)) }
            call.finish(.ok)
        })
        router.register("/test.Edge/Sum", .clientStreaming { call in Ignore(call: call) })
        return router
    }

    struct Ignore: GRPCRequestReceiver {
        let call: GRPCCall
        func receive(_ message: ByteBuffer) {}
        func end() { call.respond([1]) }
    }

    /// What a real client writes after its preface for a few calls: SETTINGS, HEADERS, DATA, a
    /// reset, a PING, a WINDOW_UPDATE.
    static func seeds() throws -> [[UInt8]] {
        let client = EmbeddedChannel()
        try client.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client))
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        func headers(_ path: String, timeout: String? = nil) -> HPACKHeaders {
            var headers: HPACKHeaders = [":method": "POST", ":scheme": "http", ":path": path, ":authority": "localhost", "content-type": "application/grpc", "te": "trailers"]
            if let timeout { headers.add(name: "grpc-timeout", value: timeout) }
            return headers
        }
        func message(_ bytes: [UInt8]) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(bytes.count), endianness: .big)
            buffer.writeBytes(bytes)
            return buffer
        }
        var output: [UInt8] = []
        func drain() throws {
            while let buffer = try client.readOutbound(as: ByteBuffer.self) { output += Array(buffer: buffer) }
        }
        let calls: [(HTTP2StreamID, String, [UInt8])] = [(1, "/test.Edge/Echo", [1, 2, 3]), (3, "/test.Edge/Stream", [9]), (5, "/test.Edge/Fail", []), (7, "/test.Edge/Sum", [4])]
        for (id, path, bytes) in calls {
            try client.writeOutbound(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers(path, timeout: id == 3 ? "100m" : nil)))))
            try client.writeOutbound(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(message(bytes)), endStream: true))))
        }
        try client.writeOutbound(HTTP2Frame(streamID: 9, payload: .headers(.init(headers: headers("/test.Edge/Echo")))))
        try client.writeOutbound(HTTP2Frame(streamID: 9, payload: .rstStream(.cancel)))
        try client.writeOutbound(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 7), ack: false)))
        try client.writeOutbound(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: 1000)))
        try drain()
        _ = try? client.finish()
        guard Array(output.prefix(preface.count)) == preface else { throw GRPCStatus(.internalError, "the client did not start with the preface") }
        let frames = Array(output.dropFirst(preface.count))
        // Whole, and as single calls: the mutator splices and mutates from there.
        return [[0] + frames, [200] + frames]
    }

    static func run(_ input: [UInt8]) -> String {
        guard let split = input.first else { return "empty" }
        guard input.count <= 1 << 20 else { return "too large" }
        var limits = GRPCServerEndpoint.Limits()
        limits.maximumMessageBytes = 4096
        limits.maximumConcurrentStreams = 16
        let channel = EmbeddedChannel()
        do {
            try GRPCServerEndpoint.configure(channel, router: router(), limits: limits)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        } catch {
            violated("the edge handlers could not be set up: \(error)")
        }
        let bytes = preface + input.dropFirst()
        // A refused read is a connection error: NIOHTTP2Handler sent GOAWAY and closes.
        var outcome = feed(Array(bytes), step: Int(split) + 1, into: channel) { channel in
            while (try? channel.readOutbound(as: IOData.self)) ?? nil != nil {}
        } ? "refused" : "served"
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        if !channel.isActive { outcome = "refused" }
        _ = try? channel.finish()
        return outcome
    }
}
