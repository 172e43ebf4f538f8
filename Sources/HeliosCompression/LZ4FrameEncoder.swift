import CLZ4

/// Compresses a stream into one standard LZ4 frame (readable by `lz4 -d`), a chunk at a time.
///
/// Memory stays bounded by the block size, whatever the stream's length:
/// ```swift
/// let encoder = try LZ4FrameEncoder()
/// var out = try encoder.begin()
/// try encoder.update(chunk, into: &out)   // repeat
/// try encoder.finish(into: &out)
/// ```
public final class LZ4FrameEncoder {
    /// The maximum block size of the frame.
    public enum BlockSize: Sendable {
        case kib64, kib256, mib1, mib4

        var raw: LZ4F_blockSizeID_t {
            switch self {
            case .kib64: LZ4F_max64KB
            case .kib256: LZ4F_max256KB
            case .mib1: LZ4F_max1MB
            case .mib4: LZ4F_max4MB
            }
        }

        /// The size in bytes.
        public var bytes: Int {
            switch self {
            case .kib64: 64 << 10
            case .kib256: 256 << 10
            case .mib1: 1 << 20
            case .mib4: 4 << 20
            }
        }
    }

    private let context: OpaquePointer?
    private var preferences: LZ4F_preferences_t
    /// Where liblz4 writes before the bytes are appended to the caller's array.
    private let scratch: UnsafeMutableRawBufferPointer
    private var started = false
    private var finished = false
    /// Uncompressed bytes consumed so far.
    public private(set) var bytesIn: UInt64 = 0
    /// Compressed bytes produced so far.
    public private(set) var bytesOut: UInt64 = 0

    /// - Parameters:
    ///   - contentChecksum: append an xxHash32 of the content (verified by every reader).
    ///   - blockSize: maximum block size; larger blocks compress slightly better.
    ///   - level: 0 for the fast default; 3...12 selects LZ4 HC.
    ///   - contentSize: the total uncompressed size, if known, recorded in the frame header.
    public init(contentChecksum: Bool = true, blockSize: BlockSize = .mib4, level: Int32 = 0, contentSize: UInt64? = nil) throws(LZ4Error) {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = blockSize.raw
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = contentChecksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum
        preferences.frameInfo.contentSize = contentSize ?? 0
        preferences.compressionLevel = level
        var context: OpaquePointer?
        let result = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        if LZ4F_isError(result) != 0 {
            LZ4F_freeCompressionContext(context)
            throw LZ4Error(operation: "creating a compression context", reason: String(cString: LZ4F_getErrorName(result)))
        }
        self.context = context
        // Allocated once, at its final size (found by the first libFuzzer run: a placeholder
        // allocation here leaked one block per encoder).
        scratch = .allocate(byteCount: LZ4F_compressBound(Self.step, &preferences) + 64, alignment: 16)
        self.preferences = preferences
    }

    deinit {
        LZ4F_freeCompressionContext(context)
        scratch.deallocate()
    }

    /// Input is fed to liblz4 at most this many bytes at a time, so output space stays bounded.
    static let step = 256 << 10

    /// Starts the frame and returns its header bytes.
    public func begin() throws(LZ4Error) -> [UInt8] {
        precondition(!started, "begin() called twice")
        started = true
        var header = [UInt8](repeating: 0, count: 19)  // LZ4F_HEADER_SIZE_MAX
        let written = header.withUnsafeMutableBytes { buffer in
            LZ4F_compressBegin(context, buffer.baseAddress, buffer.count, &preferences)
        }
        try check(written, "starting a frame")
        header.removeLast(header.count - written)
        bytesOut += UInt64(written)
        return header
    }

    /// Compresses `input`, appending whatever output is ready to `output`.
    public func update(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(LZ4Error) {
        precondition(started && !finished, "update() outside begin()/finish()")
        guard !input.isEmpty else { return }
        var offset = 0
        while offset < input.count {
            let count = min(Self.step, input.count - offset)
            let written = LZ4F_compressUpdate(context, scratch.baseAddress, scratch.count, input.baseAddress! + offset, count, nil)
            try check(written, "compressing")
            output.append(contentsOf: UnsafeRawBufferPointer(start: scratch.baseAddress, count: written))
            bytesOut += UInt64(written)
            offset += count
        }
        bytesIn += UInt64(input.count)
    }

    /// Compresses `input` (an array).
    public func update(_ input: [UInt8], into output: inout [UInt8]) throws(LZ4Error) {
        var failure: LZ4Error?
        input.withUnsafeBytes { raw in
            do throws(LZ4Error) { try update(raw, into: &output) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Flushes the last block, the end mark and the content checksum into `output`.
    public func finish(into output: inout [UInt8]) throws(LZ4Error) {
        precondition(started && !finished, "finish() outside begin()")
        finished = true
        let written = LZ4F_compressEnd(context, scratch.baseAddress, scratch.count, nil)
        try check(written, "finishing a frame")
        output.append(contentsOf: UnsafeRawBufferPointer(start: scratch.baseAddress, count: written))
        bytesOut += UInt64(written)
    }

    private func check(_ result: Int, _ operation: String) throws(LZ4Error) {
        if LZ4F_isError(result) != 0 {
            throw LZ4Error(operation: operation, reason: String(cString: LZ4F_getErrorName(result)))
        }
    }
}
