import CLZ4

/// Decompresses standard LZ4 frames (from ``LZ4FrameEncoder`` or the `lz4` CLI) a chunk at a time,
/// verifying block and content checksums when the frame carries them.
public final class LZ4FrameDecoder {
    private var context: OpaquePointer?
    /// Where liblz4 writes before the bytes are appended to the caller's array.
    /// At least one 4 MiB block, so liblz4 decodes straight into it instead of through its own buffer.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: (4 << 20) + (64 << 10), alignment: 16)
    /// Set when the frame (or the last of several concatenated frames) is complete.
    public private(set) var isComplete = false
    /// Decompressed bytes produced so far.
    public private(set) var bytesOut: UInt64 = 0

    public init() throws(LZ4Error) {
        let result = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        if LZ4F_isError(result) != 0 {
            scratch.deallocate()
            throw LZ4Error(operation: "creating a decompression context", reason: String(cString: LZ4F_getErrorName(result)))
        }
    }

    deinit {
        LZ4F_freeDecompressionContext(context)
        scratch.deallocate()
    }

    /// Decompresses `input`, appending the output to `output`. Call ``finish()`` after the last chunk.
    public func update(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(LZ4Error) {
        var offset = 0
        // Keep calling until all input is consumed and no more output is pending.
        while true {
            var sourceSize = input.count - offset
            var destinationSize = scratch.count
            let source = sourceSize > 0 ? input.baseAddress! + offset : nil
            let hint = LZ4F_decompress(context, scratch.baseAddress, &destinationSize, source, &sourceSize, nil)
            if LZ4F_isError(hint) != 0 {
                throw LZ4Error(operation: "decompressing", reason: String(cString: LZ4F_getErrorName(hint)))
            }
            output.append(contentsOf: UnsafeRawBufferPointer(start: scratch.baseAddress, count: destinationSize))
            bytesOut += UInt64(destinationSize)
            offset += sourceSize
            // A call that neither consumed nor produced anything says nothing about the frame's end.
            if sourceSize > 0 || destinationSize > 0 { isComplete = hint == 0 }
            if offset >= input.count && destinationSize < scratch.count { break }
        }
    }

    /// Decompresses `input` (an array).
    public func update(_ input: [UInt8], into output: inout [UInt8]) throws(LZ4Error) {
        var failure: LZ4Error?
        input.withUnsafeBytes { raw in
            do throws(LZ4Error) { try update(raw, into: &output) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Fails if the input ended before the frame did.
    public func finish() throws(LZ4Error) {
        if !isComplete {
            throw LZ4Error(operation: "decompressing", reason: "the frame is truncated (input ended before its end mark and checksum)")
        }
    }
}

/// One-shot helpers for small buffers.
public enum LZ4Frame {
    /// `bytes` as one LZ4 frame with a content checksum and the content size.
    public static func compress(_ bytes: [UInt8], level: Int32 = 0) throws(LZ4Error) -> [UInt8] {
        let encoder = try LZ4FrameEncoder(level: level, contentSize: UInt64(bytes.count))
        var output = try encoder.begin()
        try encoder.update(bytes, into: &output)
        try encoder.finish(into: &output)
        return output
    }

    /// The content of one or more concatenated LZ4 frames.
    public static func decompress(_ bytes: [UInt8]) throws(LZ4Error) -> [UInt8] {
        let decoder = try LZ4FrameDecoder()
        var output: [UInt8] = []
        try decoder.update(bytes, into: &output)
        try decoder.finish()
        return output
    }
}
