import CCRC32C

/// CRC32C (Castagnoli), the checksum of every segment frame and header.
///
/// Hardware accelerated (SSE4.2 / ARMv8) when the CPU supports it.
public enum CRC32C {
    /// Extends `crc` (0 to start) over `bytes`.
    @inlinable
    public static func extend(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return helios_crc32c_extend(crc, base, bytes.count)
    }

    /// The CRC32C of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ extend(0, UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { extend(0, $0) }
    }

    /// Extends `crc` over the 8 little-endian bytes of `value`.
    @inlinable
    public static func extend(_ crc: UInt32, littleEndian value: UInt64) -> UInt32 {
        withUnsafeBytes(of: value.littleEndian) { extend(crc, $0) }
    }

    /// Whether the hardware instruction is in use on this CPU.
    public static var isHardwareAccelerated: Bool { helios_crc32c_is_hardware_accelerated() != 0 }
}
