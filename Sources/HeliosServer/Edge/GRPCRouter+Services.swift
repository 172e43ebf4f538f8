import GRPCCore
import HeliosEdge
import NIOCore
import SwiftProtobuf

/// Serves a service method, written against GRPCCore's `SimpleServiceProtocol` signatures, through
/// the edge layer: the request is decoded on the event loop and the handler runs in an immediate
/// task there (no hop unless it suspends, e.g. on Raft); its response or error goes back through the
/// call. `RPCError`s keep their code and message.
extension GRPCRouter {
    mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ descriptor: MethodDescriptor, _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        register("/" + descriptor.fullyQualifiedMethod, .unary { bytes, call in
            guard let request: Request = Self.decode(bytes, call) else { return }
            let context = Self.context(descriptor, call)
            let task = Task.immediate {
                do {
                    call.respond(try await handler(request, context).serializedBytes())
                } catch {
                    call.finish(Self.status(error, descriptor))
                }
            }
            call.onCancel { Self.cancel(task, context) }
        })
    }

    mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ descriptor: MethodDescriptor, _ handler: @escaping @Sendable (Request, RPCWriter<Response>, ServerContext) async throws -> Void
    ) {
        register("/" + descriptor.fullyQualifiedMethod, .serverStreaming { bytes, call in
            guard let request: Request = Self.decode(bytes, call) else { return }
            let context = Self.context(descriptor, call)
            let task = Task.immediate {
                do {
                    try await handler(request, RPCWriter(wrapping: CallWriter<Response>(call: call)), context)
                    call.finish(.ok)
                } catch {
                    call.finish(Self.status(error, descriptor))
                }
            }
            call.onCancel { Self.cancel(task, context) }
        })
    }

    mutating func clientStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (RPCAsyncSequence<Request, any Error>, ServerContext) async throws -> Response
    ) {
        register("/" + descriptor.fullyQualifiedMethod, .clientStreaming { call in
            let (requests, continuation) = AsyncThrowingStream<Request, any Error>.makeStream()
            let context = Self.context(descriptor, call)
            let task = Task.immediate {
                do {
                    call.respond(try await handler(RPCAsyncSequence(wrapping: requests), context).serializedBytes())
                } catch {
                    call.finish(Self.status(error, descriptor))
                }
            }
            call.onCancel {
                continuation.finish(throwing: RPCError(code: .cancelled, message: "the client cancelled the call"))
                Self.cancel(task, context)
            }
            return RequestStream(continuation: continuation, path: call.path)
        })
    }

    private static func decode<Request: SwiftProtobuf.Message>(_ bytes: ByteBuffer, _ call: GRPCCall) -> Request? {
        do {
            return try Request(serializedBytes: Array(buffer: bytes))
        } catch {
            call.finish(GRPCStatus(.invalidArgument, "\(call.path): the request is not a valid \(Request.protoMessageName) message (\(error)); check the client's .proto files"))
            return nil
        }
    }

    private static func context(_ descriptor: MethodDescriptor, _ call: GRPCCall) -> ServerContext {
        ServerContext(descriptor: descriptor, remotePeer: call.remotePeer, localPeer: "", cancellation: .init())
    }

    private static func cancel(_ task: Task<Void, Never>, _ context: ServerContext) {
        context.cancellation.cancel()
        task.cancel()
    }

    /// The status a handler's error becomes.
    static func status(_ error: any Error, _ descriptor: MethodDescriptor) -> GRPCStatus {
        if let error = error as? RPCError {
            return GRPCStatus(GRPCStatus.Code(rawValue: error.code.rawValue) ?? .unknown, error.message)
        }
        if let error = error as? GRPCStatus { return error }
        if error is CancellationError { return GRPCStatus(.cancelled, "\(descriptor.fullyQualifiedMethod): cancelled") }
        return GRPCStatus(.unknown, "\(descriptor.fullyQualifiedMethod): \(error)")
    }
}

/// A server-streaming handler's writer: each message through ``GRPCCall/send(_:)``, waiting while
/// the client's window is full.
struct CallWriter<Element: SwiftProtobuf.Message>: RPCWriterProtocol {
    let call: GRPCCall

    func write(_ element: Element) async throws {
        try await call.send(element.serializedBytes()).get()
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await write(element) }
    }
}

/// A client-streaming call's messages, decoded as they arrive, into the handler's sequence.
struct RequestStream<Request: SwiftProtobuf.Message>: GRPCRequestReceiver {
    let continuation: AsyncThrowingStream<Request, any Error>.Continuation
    let path: String

    func receive(_ message: ByteBuffer) {
        do {
            continuation.yield(try Request(serializedBytes: Array(buffer: message)))
        } catch {
            continuation.finish(throwing: RPCError(
                code: .invalidArgument, message: "\(path): a request message is not a valid \(Request.protoMessageName) (\(error))"))
        }
    }

    func end() { continuation.finish() }
}
