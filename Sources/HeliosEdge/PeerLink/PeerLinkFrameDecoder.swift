import NIOCore

/// Cuts a peer link's bytes into ``PeerLinkFrame``s. A length over ``maximumFrameBytes`` or under
/// 2, another version, or an unknown kind is refused as soon as the header arrives (nothing of the
/// frame is buffered); the connection then closes.
public struct PeerLinkFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = PeerLinkFrame

    /// The largest frame (version, kind and payload) accepted.
    public let maximumFrameBytes: Int
    /// Frames and bytes decoded so far, and the last frame's header: where a bad header was found.
    private var frames = 0
    private var bytes = 0
    private var last: (kind: UInt8, length: Int)?

    public init(maximumFrameBytes: Int) {
        self.maximumFrameBytes = maximumFrameBytes
    }

    private var position: String {
        let previous = last.map { ", the last of kind \($0.kind) and length \($0.length)" } ?? ""
        return " (after \(frames) frames, \(bytes) bytes on this link\(previous))"
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> PeerLinkFrame? {
        guard buffer.readableBytes >= PeerLinkFrame.headerBytes else { return nil }
        let start = buffer.readerIndex
        let length = Int(buffer.getInteger(at: start, endianness: .big, as: UInt32.self)!)
        let version = buffer.getInteger(at: start + 4, as: UInt8.self)!
        let kindByte = buffer.getInteger(at: start + 5, as: UInt8.self)!
        guard version == PeerLinkFrame.version else {
            throw PeerLinkError("peer link frame version \(version); this server speaks version \(PeerLinkFrame.version) (upgrade the servers to the same release)\(position)")
        }
        guard length >= 2, length <= maximumFrameBytes else {
            throw PeerLinkError("peer link frame of \(length) bytes; frames are 2 to \(maximumFrameBytes) bytes\(position)")
        }
        guard let kind = PeerLinkFrame.Kind(rawValue: kindByte) else {
            throw PeerLinkError("peer link frame kind \(kindByte) is not one this server knows (1-\(PeerLinkFrame.Kind.allCases.count)); upgrade the servers to the same release\(position)")
        }
        guard buffer.readableBytes >= 4 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: PeerLinkFrame.headerBytes)
        frames += 1
        bytes += 4 + length
        last = (kindByte, length)
        return PeerLinkFrame(kind: kind, payload: buffer.readSlice(length: length - 2)!)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> PeerLinkFrame? {
        try decode(buffer: &buffer)
    }
}
