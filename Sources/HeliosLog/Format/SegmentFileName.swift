/// Segment file names: the first index, zero-padded to 20 digits, then `.seg`
/// (`00000000000000000001.seg`), so that names sort in index order.
public enum SegmentFileName {
    /// The file name of the segment whose first entry is `firstIndex`.
    public static func make(firstIndex: UInt64) -> String {
        let digits = String(firstIndex)
        return String(repeating: "0", count: SegmentFormat.fileNameDigits - digits.count) + digits
            + SegmentFormat.fileSuffix
    }

    /// The first index encoded in `name`, or nil if `name` is not a segment file name.
    public static func parse(_ name: String) -> UInt64? {
        let utf8 = Array(name.utf8)
        guard utf8.count == SegmentFormat.fileNameDigits + SegmentFormat.fileSuffix.utf8.count,
            name.hasSuffix(SegmentFormat.fileSuffix)
        else { return nil }
        let digits = utf8[0..<SegmentFormat.fileNameDigits]
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return UInt64(String(decoding: digits, as: UTF8.self))
    }
}
