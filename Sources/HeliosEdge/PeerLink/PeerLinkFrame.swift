import NIOCore

/// One frame of the peer link between servers (`Formats/peer-link.md`): a 4-byte big-endian length
/// of what follows, a version byte, a kind byte and the payload.
public struct PeerLinkFrame: Sendable, Equatable {
    /// The frame format version this build writes and reads.
    public static let version: UInt8 = 1
    /// The 8 bytes a dialer sends before its first frame; they tell the listener's port that this
    /// connection is a peer link and not HTTP/2 (whose preface starts `PRI * HTTP/2.0`).
    public static let preface: [UInt8] = Array("HELIOSPL".utf8)
    /// Bytes before the payload: length (4), version (1), kind (1).
    public static let headerBytes = 6

    /// What a frame carries.
    public enum Kind: UInt8, Sendable, CaseIterable {
        /// First frame of a connection, dialer to listener: sender and intended receiver (``PeerLinkHello``).
        case hello = 1
        /// Raft messages: a serialized `helios.v1.RaftBatch`.
        case raft = 2
        /// A request: an 8-byte big-endian request id, then the request's bytes (a serialized
        /// `helios.v1.ProposeRequest`).
        case request = 3
        /// The answer to a request: its 8-byte id, then the response's bytes (`helios.v1.ProposeResponse`).
        case response = 4
        /// A refusal: an 8-byte request id (0: the connection itself, which then closes), a gRPC
        /// status code byte, and a UTF-8 message.
        case error = 5
    }

    public var kind: Kind
    public var payload: ByteBuffer

    public init(kind: Kind, payload: ByteBuffer) {
        self.kind = kind
        self.payload = payload
    }

    /// Writes the frame (header and payload) to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(2 + payload.readableBytes), endianness: .big)
        buffer.writeInteger(Self.version)
        buffer.writeInteger(kind.rawValue)
        var payload = self.payload
        buffer.writeBuffer(&payload)
    }

    /// The frame as bytes.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Self.headerBytes + payload.readableBytes)
        write(to: &buffer)
        return buffer
    }

    /// A frame whose payload starts with a request id.
    public static func request(_ kind: Kind, id: UInt64, _ body: [UInt8]) -> PeerLinkFrame {
        var payload = ByteBuffer()
        payload.reserveCapacity(8 + body.count)
        payload.writeInteger(id, endianness: .big)
        payload.writeBytes(body)
        return PeerLinkFrame(kind: kind, payload: payload)
    }

    /// An ``Kind/error`` frame.
    public static func error(id: UInt64, code: UInt8, _ message: String) -> PeerLinkFrame {
        var payload = ByteBuffer()
        payload.writeInteger(id, endianness: .big)
        payload.writeInteger(code)
        payload.writeString(message)
        return PeerLinkFrame(kind: .error, payload: payload)
    }

    /// The request id and the rest of a ``Kind/request``, ``Kind/response`` or ``Kind/error`` payload.
    public func splitRequestID() throws(PeerLinkError) -> (id: UInt64, body: ByteBuffer) {
        var payload = self.payload
        guard let id = payload.readInteger(endianness: .big, as: UInt64.self) else {
            throw PeerLinkError("a \(kind) frame of \(self.payload.readableBytes) bytes is shorter than its 8-byte request id")
        }
        return (id, payload)
    }

    /// An ``Kind/error`` frame's fields.
    public func errorFields() throws(PeerLinkError) -> (id: UInt64, code: UInt8, message: String) {
        var (id, body) = try splitRequestID()
        guard let code = body.readInteger(as: UInt8.self) else {
            throw PeerLinkError("an error frame has no status code byte after its request id")
        }
        return (id, code, body.readString(length: body.readableBytes) ?? "")
    }
}

/// The first frame of a peer link: who dials, and whom it means to reach (a listener that is not
/// that server refuses the link, which catches crossed `--peer` addresses).
public struct PeerLinkHello: Sendable, Equatable {
    public var sender: UInt64
    public var receiver: UInt64

    public init(sender: UInt64, receiver: UInt64) {
        self.sender = sender
        self.receiver = receiver
    }

    public var frame: PeerLinkFrame {
        var payload = ByteBuffer()
        payload.writeInteger(sender, endianness: .big)
        payload.writeInteger(receiver, endianness: .big)
        return PeerLinkFrame(kind: .hello, payload: payload)
    }

    public init(_ frame: PeerLinkFrame) throws(PeerLinkError) {
        guard frame.kind == .hello else {
            throw PeerLinkError("the first frame of a peer link must be hello (kind 1), not \(frame.kind) (kind \(frame.kind.rawValue))")
        }
        var payload = frame.payload
        guard payload.readableBytes == 16, let sender = payload.readInteger(endianness: .big, as: UInt64.self),
              let receiver = payload.readInteger(endianness: .big, as: UInt64.self)
        else {
            throw PeerLinkError("a hello frame's payload is \(frame.payload.readableBytes) bytes; it must be 16 (sender and receiver ids)")
        }
        guard sender != 0, receiver != 0 else {
            throw PeerLinkError("a hello frame names server 0 (sender \(sender), receiver \(receiver)); server ids are positive")
        }
        self.init(sender: sender, receiver: receiver)
    }
}

/// A peer link that cannot go on: a malformed frame, a wrong version, a refused hello.
public struct PeerLinkError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
