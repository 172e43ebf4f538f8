/// Encodes and checks frames. Pure: works on bytes in memory.
public enum FrameCodec {
    /// The checksum of the frame occupying all of `frame` (header, payload and padding), for a segment
    /// with the given salt. Bytes 4..<8 (the stored checksum itself) are excluded.
    @inlinable
    public static func checksum(salt: UInt64, frame: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32C.extend(0, littleEndian: salt)
        crc = CRC32C.extend(crc, UnsafeRawBufferPointer(rebasing: frame[0..<4]))
        return CRC32C.extend(crc, UnsafeRawBufferPointer(rebasing: frame[8...]))
    }

    /// Appends one complete frame to `buffer`.
    public static func appendFrame(
        to buffer: inout [UInt8], salt: UInt64, kind: FrameKind, entryType: UInt8,
        index: UInt64, term: UInt64, payload: UnsafeRawBufferPointer
    ) {
        let start = buffer.count
        buffer.appendLE(UInt32(payload.count))
        buffer.appendLE(UInt32(0))
        buffer.append(kind.rawValue)
        buffer.append(entryType)
        buffer.append(contentsOf: repeatElement(0, count: 6))
        buffer.appendLE(index)
        buffer.appendLE(term)
        buffer.append(contentsOf: payload)
        buffer.padToAlignment()
        buffer.withUnsafeMutableBytes { raw in
            let frame = UnsafeRawBufferPointer(rebasing: raw[start...])
            raw.storeLE(checksum(salt: salt, frame: frame), at: start + 4)
        }
    }

    /// Appends an entry frame to `buffer`.
    public static func appendEntry(
        to buffer: inout [UInt8], salt: UInt64, index: UInt64, term: UInt64, type: UInt8, payload: [UInt8]
    ) {
        payload.withUnsafeBytes { bytes in
            appendFrame(to: &buffer, salt: salt, kind: .entry, entryType: type, index: index, term: term, payload: bytes)
        }
    }

    /// Appends a commit frame: the end of a group made durable by one fdatasync.
    ///
    /// - Parameters:
    ///   - lastIndex: the index of the last entry before the frame (first index - 1 if none).
    ///   - lastTerm: the term of that entry (0 if unknown).
    public static func appendCommit(to buffer: inout [UInt8], salt: UInt64, lastIndex: UInt64, lastTerm: UInt64) {
        appendFrame(
            to: &buffer, salt: salt, kind: .commit, entryType: 0, index: lastIndex, term: lastTerm,
            payload: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Why a frame failed validation.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case truncatedHeader(available: Int)
        case unknownKind(UInt8)
        case implausibleLength(UInt32)
        case truncatedFrame(needed: Int, available: Int)
        case checksumMismatch(stored: UInt32, computed: UInt32)

        public var description: String {
            switch self {
            case .truncatedHeader(let n): "frame header cut short (\(n) of \(SegmentFormat.frameHeaderSize) bytes)"
            case .unknownKind(let k): "unknown frame kind \(k)"
            case .implausibleLength(let n): "frame length \(n) is larger than any frame can be"
            case .truncatedFrame(let needed, let available):
                "frame cut short (needs \(needed) bytes, \(available) present)"
            case .checksumMismatch(let stored, let computed):
                "CRC mismatch (stored \(hex(stored)), computed \(hex(computed)))"
            }
        }
    }

    /// Checks the frame that starts at `offset` of `raw`: header plausibility, length and checksum.
    public static func validate(
        _ raw: UnsafeRawBufferPointer, at offset: Int, salt: UInt64
    ) -> Result<FrameHeader, Problem> {
        let available = raw.count - offset
        guard available >= SegmentFormat.frameHeaderSize else { return .failure(.truncatedHeader(available: available)) }
        let header = FrameHeader.decode(raw, at: offset)
        guard header.kind != nil else { return .failure(.unknownKind(header.kindByte)) }
        guard Int(header.payloadLength) <= SegmentFormat.maximumPayloadLength else {
            return .failure(.implausibleLength(header.payloadLength))
        }
        let size = header.frameSize
        guard available >= size else { return .failure(.truncatedFrame(needed: size, available: available)) }
        let computed = checksum(salt: salt, frame: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + size)]))
        guard computed == header.checksum else {
            return .failure(.checksumMismatch(stored: header.checksum, computed: computed))
        }
        return .success(header)
    }
}
