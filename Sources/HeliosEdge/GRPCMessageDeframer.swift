import NIOCore

/// Cuts a request stream's DATA into gRPC messages: each a 1-byte compressed flag, a 4-byte
/// big-endian length and that many bytes. Messages may span DATA frames and a frame may hold several.
///
/// A length over ``maximumMessageBytes`` is refused as soon as its prefix arrives (nothing of it is
/// buffered), and so is a compressed message (Helios negotiates no compression).
struct GRPCMessageDeframer {
    let maximumMessageBytes: Int
    private var buffer: ByteBuffer?

    init(maximumMessageBytes: Int) {
        self.maximumMessageBytes = maximumMessageBytes
    }

    /// Whether bytes of an incomplete message are waiting.
    var hasPartialMessage: Bool { (buffer?.readableBytes ?? 0) > 0 }

    /// Adds the bytes of a DATA frame.
    mutating func append(_ bytes: ByteBuffer) {
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = bytes
        } else {
            var incoming = bytes
            buffer!.writeBuffer(&incoming)
        }
    }

    /// The next complete message, nil when more bytes are needed.
    mutating func next(method: String) throws(GRPCStatus) -> ByteBuffer? {
        guard var bytes = buffer, bytes.readableBytes >= 5 else { return nil }
        let flag = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self)!
        let length = Int(bytes.getInteger(at: bytes.readerIndex + 1, endianness: .big, as: UInt32.self)!)
        guard flag == 0 else {
            if flag == 1 {
                throw GRPCStatus(.unimplemented, "\(method): the request message is compressed; this server accepts only uncompressed messages (grpc-encoding identity)")
            }
            throw GRPCStatus(.internalError, "\(method): bad message prefix (flag byte \(flag), expected 0)")
        }
        guard length <= maximumMessageBytes else {
            throw GRPCStatus(.resourceExhausted, "\(method): the request message is \(length) bytes, more than the server's limit of \(maximumMessageBytes) bytes; send smaller requests")
        }
        guard bytes.readableBytes >= 5 + length else { return nil }
        bytes.moveReaderIndex(forwardBy: 5)
        let message = bytes.readSlice(length: length)!
        buffer = bytes.readableBytes > 0 ? bytes : nil
        return message
    }
}
