/// Little-endian integer access on raw bytes, used by every on-disk structure.
///
/// All multi-byte integers in Helios files are little-endian (see `Formats/segment.md`).
extension UnsafeRawBufferPointer {
    @inlinable
    func loadLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: self.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inlinable
    func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        self.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` as little-endian bytes.
    @inlinable
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { self.append(contentsOf: $0) }
    }

    /// Appends zero bytes until `count` is a multiple of 8.
    @inlinable
    mutating func padToAlignment() {
        let padding = SegmentFormat.padding(for: self.count)
        if padding > 0 { self.append(contentsOf: repeatElement(0, count: padding)) }
    }
}
