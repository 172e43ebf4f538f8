/// Renders rows as left-aligned columns separated by two spaces.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) {
        self.header = header
    }

    init(columns: [String]) {
        self.header = columns
    }

    mutating func append(_ row: [String]) {
        rows.append(row)
    }

    /// The table as text; rows only when `includeHeader` is false (widths still account for the header).
    func render(includeHeader: Bool = true) -> String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.visibleCount)
            }
        }
        return (includeHeader ? all : rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension String {
    /// Pads with `pad` to `length` visible characters (color escape sequences take no room).
    func padding(toLength length: Int, withPad pad: Character, startingAt _: Int) -> String {
        visibleCount >= length ? self : self + String(repeating: pad, count: length - visibleCount)
    }

    /// The number of characters a terminal shows: ANSI color sequences (`ESC [ ... m`) excluded.
    var visibleCount: Int {
        guard contains("\u{1B}") else { return count }
        var visible = 0
        var inEscape = false
        for character in self {
            if inEscape {
                if character == "m" { inEscape = false }
            } else if character == "\u{1B}" {
                inEscape = true
            } else {
                visible += 1
            }
        }
        return visible
    }
}

/// Byte counts for people: `512 B`, `1.5 KiB`, `64.0 MiB`.
func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    let rounded = (value * 10).rounded() / 10
    return "\(rounded) \(units[unit])"
}

/// Lowercase hex of `bytes`.
func hexString(_ bytes: some Collection<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}
