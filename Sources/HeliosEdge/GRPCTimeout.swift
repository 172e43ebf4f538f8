/// The `grpc-timeout` request header: at most 8 digits and a unit (`H` hours, `M` minutes, `S`
/// seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds).
enum GRPCTimeout {
    /// The timeout in nanoseconds, or nil when the value is not a valid `grpc-timeout`.
    static func parse(_ text: Substring) -> Int64? {
        guard let unit = text.last, (2...9).contains(text.count) else { return nil }
        let digits = text.dropLast()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits) else { return nil }
        let nanoseconds: Int64
        switch unit {
        case "H": nanoseconds = 3_600_000_000_000
        case "M": nanoseconds = 60_000_000_000
        case "S": nanoseconds = 1_000_000_000
        case "m": nanoseconds = 1_000_000
        case "u": nanoseconds = 1_000
        case "n": nanoseconds = 1
        default: return nil
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: nanoseconds)
        return overflow ? Int64.max : product
    }
}
