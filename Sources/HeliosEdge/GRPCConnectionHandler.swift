import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOSSL

/// Serves gRPC on one HTTP/2 connection, straight on its frames: no channel, task or async sequence
/// per call. Sits behind `NIOHTTP2Handler` (which parses frames, enforces stream limits and
/// settings, answers PINGs and buffers outbound DATA beyond the peer's flow-control window).
///
/// Per stream: the request HEADERS are checked (POST, `content-type: application/grpc...`, a served
/// path, `grpc-timeout`), DATA is cut into messages (``GRPCMessageDeframer``: size limit, no
/// compression), and the method's handler is called on this event loop; its answers come back as
/// HEADERS, DATA and trailers (`grpc-status`, `grpc-message`), or trailers only for an early error.
///
/// Inbound flow control follows NIOHTTP2Handler's own accounting (its window events): when the
/// client's allowance on the connection or on a stream still sending falls to half of
/// ``GRPCServerEndpoint/Limits/receiveWindowBytes``, a WINDOW_UPDATE tops it up. DATA is consumed as
/// it arrives (a stream holds at most one incomplete message), and NIO's accounting also counts
/// DATA it drops itself (frames still arriving for a stream that was reset), which bookkeeping of
/// the frames that reach this handler would leak until the connection stalled.
final class GRPCConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// What one stream holds while its call runs. A class, changed in place: a copy of a struct
    /// held while its deframer appends would make every DATA frame copy the partial message.
    final class Stream {
        let call: GRPCCall
        let method: GRPCRouter.Method
        var deframer: GRPCMessageDeframer
        /// Unary and server-streaming: the one request message, once it arrived.
        var request: ByteBuffer?
        var receiver: (any GRPCRequestReceiver)?
        /// Whether the client ended its side (END_STREAM).
        var requestEnded = false
        var headersSent = false
        /// Whether trailers went out: the call is over for the server.
        var responseEnded = false
        var timeout: Scheduled<Void>?
        /// Response bytes written but not yet on the socket (held by flow control).
        var unsentBytes = 0
        var writers: [EventLoopPromise<Void>] = []

        init(call: GRPCCall, method: GRPCRouter.Method, deframer: GRPCMessageDeframer) {
            self.call = call
            self.method = method
            self.deframer = deframer
        }
    }

    private let router: GRPCRouter
    private let limits: GRPCServerEndpoint.Limits
    private var streams: [HTTP2StreamID: Stream] = [:]
    private var context: ChannelHandlerContext?
    private var remotePeer = "unknown"
    /// The client's verified certificate, looked up once the first call arrives (after the
    /// handshake); nil on a plaintext connection.
    private var peerCertificate: NIOSSLCertificate??
    /// Inside a read burst writes wait for `channelReadComplete`'s flush.
    private var reading = false
    private var needsFlush = false
    private var goingAway = false
    private var highestStreamID = HTTP2StreamID(0)

    init(router: GRPCRouter, limits: GRPCServerEndpoint.Limits) {
        self.router = router
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let address = context.channel.remoteAddress { remotePeer = "\(address)" }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        for id in Array(streams.keys) { close(id, cancelled: true) }
        context.fireChannelInactive()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if streams[frame.streamID] == nil {
                open(frame.streamID, headers.headers, endStream: headers.endStream)
            } else if headers.endStream {
                // Request trailers: the client's side ends.
                endRequest(frame.streamID)
            }
        case .data(let data):
            receive(frame.streamID, data)
        case .rstStream:
            close(frame.streamID, cancelled: true)
        default:
            break  // SETTINGS, PING, WINDOW_UPDATE, GOAWAY, PRIORITY: NIOHTTP2Handler's business
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent {
            close(closed.streamID, cancelled: !(streams[closed.streamID]?.responseEnded ?? true))
        } else if let window = event as? NIOHTTP2WindowUpdatedEvent, let allowance = window.inboundWindowSize {
            topUp(window.streamID, allowance: allowance, context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Protocol errors: NIOHTTP2Handler has already answered them (GOAWAY or RST_STREAM).
        context.fireErrorCaught(error)
    }

    private func open(_ id: HTTP2StreamID, _ headers: HPACKHeaders, endStream: Bool) {
        if id > highestStreamID { highestStreamID = id }
        guard let context else { return }
        let path = headers.first(name: ":path") ?? ""
        guard !goingAway else {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.refusedStream))), promise: nil)
            needsFlush = true
            return
        }
        if headers.first(name: ":method") != "POST" {
            return refuse(id, httpStatus: "405", GRPCStatus(.unimplemented, "\(path): gRPC calls are POST requests"))
        }
        guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
            return refuse(id, httpStatus: "415", GRPCStatus(.internalError, "\(path): content-type must be application/grpc"))
        }
        guard let method = router.method(for: path) else {
            return refuse(id, httpStatus: "200", GRPCStatus(.unimplemented, "method \(path) is not served here; check the client's service definition against this server's version"))
        }
        var deadline: NIODeadline?
        if let text = headers.first(name: "grpc-timeout") {
            guard let nanoseconds = GRPCTimeout.parse(Substring(text)) else {
                return refuse(id, httpStatus: "200", GRPCStatus(.internalError, "\(path): grpc-timeout '\(text)' is not a timeout (up to 8 digits and a unit H, M, S, m, u or n)"))
            }
            deadline = .now() + .nanoseconds(nanoseconds)
        }
        if peerCertificate == nil {
            peerCertificate = .some(try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate)
        }
        let call = GRPCCall(
            path: path, metadata: headers, remotePeer: remotePeer, peerCertificate: peerCertificate ?? nil, deadline: deadline, streamID: id,
            connection: self, eventLoop: context.eventLoop)
        let stream = Stream(call: call, method: method, deframer: GRPCMessageDeframer(maximumMessageBytes: limits.maximumMessageBytes))
        if let deadline, deadline < .distantFuture {
            stream.timeout = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
                self?.finish(id, status: GRPCStatus(.deadlineExceeded, "\(path): the deadline the client set passed before the server answered"))
            }
        }
        if case .clientStreaming(let start) = method { stream.receiver = start(call) }
        streams[id] = stream
        if endStream { endRequest(id) }
    }

    private func receive(_ id: HTTP2StreamID, _ data: HTTP2Frame.FramePayload.Data) {
        guard case .byteBuffer(let bytes) = data.data, let stream = streams[id], !stream.responseEnded else { return }
        stream.deframer.append(bytes)
        do {
            // A receiver may end the call (respond) while messages are still buffered.
            while !stream.responseEnded, let message = try stream.deframer.next(method: stream.call.path) {
                switch stream.method {
                case .clientStreaming:
                    stream.receiver?.receive(message)
                case .unary, .serverStreaming:
                    guard stream.request == nil else {
                        throw GRPCStatus(.internalError, "\(stream.call.path): more than one request message for a call that takes one")
                    }
                    stream.request = message
                }
            }
        } catch {
            finish(id, status: error as? GRPCStatus ?? GRPCStatus(.internalError, "\(error)"))
            return
        }
        if data.endStream { endRequest(id) }
    }

    private func endRequest(_ id: HTTP2StreamID) {
        guard let stream = streams[id], !stream.requestEnded else { return }
        stream.requestEnded = true
        guard !stream.responseEnded else { return }
        if stream.deframer.hasPartialMessage {
            return finish(id, status: GRPCStatus(.internalError, "\(stream.call.path): the request ended inside a message"))
        }
        switch stream.method {
        case .clientStreaming:
            stream.receiver?.end()
        case .unary(let handler), .serverStreaming(let handler):
            guard let request = stream.request else {
                return finish(id, status: GRPCStatus(.internalError, "\(stream.call.path): the request ended without a message"))
            }
            stream.request = nil
            handler(request, stream.call)
        }
    }

    /// Tops up the client's allowance (the connection's, or a stream's that is still sending) once it
    /// is down to half the receive window.
    private func topUp(_ id: HTTP2StreamID, allowance: Int, _ context: ChannelHandlerContext) {
        let target = limits.receiveWindowBytes
        guard allowance <= target / 2 else { return }
        if id != .rootStream {
            guard let stream = streams[id], !stream.requestEnded, !stream.responseEnded else { return }
        }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: target - allowance))), promise: nil)
        flushSoon(context)
    }

    // MARK: Outbound (on the event loop)

    func respond(_ id: HTTP2StreamID, message: [UInt8]) {
        guard streams[id]?.responseEnded == false, let context else { return }
        writeHeadersIfNeeded(id, context)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(framed(message, context)))))), promise: nil)
        finish(id, status: .ok)
    }

    /// Writes a response message; nil when the call has ended. The future completes when the
    /// stream's unsent bytes are back under the limit.
    func send(_ id: HTTP2StreamID, message: [UInt8]) -> EventLoopFuture<Void>? {
        guard let context, streams[id]?.responseEnded == false else { return nil }
        writeHeadersIfNeeded(id, context)
        let bytes = framed(message, context)
        let size = bytes.readableBytes
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { [weak self] _ in self?.sent(id, bytes: size) }
        streams[id]?.unsentBytes += size
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(bytes))))), promise: written)
        flushSoon(context)
        // Read again: the flush may have put bytes on the socket already (and called `sent`).
        guard let unsent = streams[id]?.unsentBytes, unsent > limits.responseBufferBytes else {
            return context.eventLoop.makeSucceededVoidFuture()
        }
        let room = context.eventLoop.makePromise(of: Void.self)
        streams[id]?.writers.append(room)
        return room.futureResult
    }

    private func sent(_ id: HTTP2StreamID, bytes: Int) {
        guard let stream = streams[id] else { return }
        stream.unsentBytes -= bytes
        var ready: [EventLoopPromise<Void>] = []
        if stream.unsentBytes <= limits.responseBufferBytes {
            ready = stream.writers
            stream.writers = []
        }
        for writer in ready { writer.succeed() }
    }

    func finish(_ id: HTTP2StreamID, status: GRPCStatus) {
        guard let stream = streams[id], !stream.responseEnded, let context else { return }
        var trailers = HPACKHeaders()
        if !stream.headersSent {
            // Trailers-only: the status in the one HEADERS frame.
            trailers.add(name: ":status", value: "200")
            trailers.add(name: "content-type", value: "application/grpc")
        }
        trailers.add(name: "grpc-status", value: String(status.code.rawValue))
        if !status.message.isEmpty { trailers.add(name: "grpc-message", value: GRPCStatus.percentEncoded(status.message)) }
        stream.headersSent = true
        stream.responseEnded = true
        stream.timeout?.cancel()
        stream.timeout = nil
        let requestEnded = stream.requestEnded
        // The stream is forgotten once its trailers are on the socket (a connection going away
        // closes after its last stream's).
        let written = context.eventLoop.makePromise(of: Void.self)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: trailers, endStream: true)))), promise: written)
        if !requestEnded {
            // The client is still sending: tell it to stop (the answer is complete).
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.noError))), promise: nil)
        }
        if status.code != .ok { stream.call.cancel() }
        written.futureResult.assumeIsolated().whenComplete { [weak self] _ in self?.forget(id) }
        flushSoon(context)
    }

    private func writeHeadersIfNeeded(_ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        guard let stream = streams[id], !stream.headersSent else { return }
        stream.headersSent = true
        let headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc", "grpc-accept-encoding": "identity"]
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
    }

    private func framed(_ message: [UInt8], _ context: ChannelHandlerContext) -> ByteBuffer {
        var buffer = context.channel.allocator.buffer(capacity: 5 + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count), endianness: .big)
        buffer.writeBytes(message)
        return buffer
    }

    /// Refuses a request before any call exists: trailers only, or an HTTP error for a non-gRPC one.
    private func refuse(_ id: HTTP2StreamID, httpStatus: String, _ status: GRPCStatus) {
        guard let context else { return }
        var headers: HPACKHeaders = [":status": httpStatus, "content-type": "application/grpc"]
        headers.add(name: "grpc-status", value: String(status.code.rawValue))
        headers.add(name: "grpc-message", value: GRPCStatus.percentEncoded(status.message))
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: true)))), promise: nil)
        // Whatever the client still sends on it is not wanted.
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.noError))), promise: nil)
        flushSoon(context)
    }

    private func flushSoon(_ context: ChannelHandlerContext) {
        if reading {
            needsFlush = true
        } else {
            context.flush()
        }
    }

    /// The stream is gone (closed, reset, connection lost): cancel its call if it was not answered.
    private func close(_ id: HTTP2StreamID, cancelled: Bool) {
        guard let stream = streams[id] else { return }
        stream.timeout?.cancel()
        if cancelled || !stream.responseEnded { stream.call.cancel() }
        forget(id)
    }

    private func forget(_ id: HTTP2StreamID) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        for writer in stream.writers { writer.fail(GRPCStatus(.cancelled, "\(stream.call.path): the call ended")) }
        if goingAway && streams.isEmpty { closeOutput() }
    }

    /// Ends a connection going away: FIN after the last answer, then the client closes its side
    /// (which closes the channel). A full close here could reset the connection while the client's
    /// unread data (its last WINDOW_UPDATE or PING) is in our buffer, and a reset loses our last
    /// answer in the client's.
    private func closeOutput() {
        guard let context else { return }
        let channel = context.channel
        let closed = context.eventLoop.makePromise(of: Void.self)
        closed.futureResult.whenFailure { _ in channel.close(promise: nil) }
        context.close(mode: .output, promise: closed)
    }

    // MARK: Shutdown

    /// Graceful shutdown: GOAWAY (no new streams), then the connection closes once its calls end.
    func quiesce() {
        guard !goingAway, let context else { return }
        goingAway = true
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: highestStreamID, errorCode: .noError, opaqueData: nil))), promise: nil)
        if streams.isEmpty { closeOutput() }
    }
}
