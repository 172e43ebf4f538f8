import Foundation
/// Reads typed fields out of a ``JobFileValue`` mapping, naming the field path and line in every error
/// and refusing keys it does not know.
struct JobFileReader {
    let file: String
    let path: String
    let line: Int
    private let entries: [(key: String, line: Int, value: JobFileValue)]
    private var used: Set<String> = []

    init(_ value: JobFileValue, file: String, path: String) throws(JobFileError) {
        guard case .mapping(let entries, let line) = value else {
            throw JobFileError(file: file, line: value.line, path: path, message: "expected a mapping of fields, found \(value.kind)")
        }
        var seen: Set<String> = []
        for entry in entries where !seen.insert(entry.key).inserted {
            throw JobFileError(file: file, line: entry.line, path: Self.join(path, entry.key), message: "given twice")
        }
        self.file = file
        self.path = path
        self.line = line
        self.entries = entries
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ message: String, line: Int? = nil) -> JobFileError {
        JobFileError(file: file, line: line ?? self.line, path: Self.join(path, key), message: message)
    }

    /// Fails on the first key that is not in `known`, suggesting the closest known key.
    func rejectUnknown(_ known: [String]) throws(JobFileError) {
        for entry in entries where !known.contains(entry.key) {
            let suggestion = known.min { editDistance($0, entry.key) < editDistance($1, entry.key) }
            let hint = suggestion.map { editDistance($0, entry.key) <= 3 ? "; did you mean '\($0)'?" : "" } ?? ""
            throw error(entry.key, "unknown key\(hint) (known keys: \(known.joined(separator: ", ")))", line: entry.line)
        }
    }

    func value(_ key: String) -> (value: JobFileValue, line: Int)? {
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        if case .null = entry.value { return nil }
        return (entry.value, entry.line)
    }

    func string(_ key: String) throws(JobFileError) -> String? {
        guard let (value, line) = value(key) else { return nil }
        guard case .scalar(let text, _, _) = value else { throw error(key, "expected a string, found \(value.kind)", line: line) }
        return text
    }

    func requiredString(_ key: String) throws(JobFileError) -> String {
        guard let text = try string(key), !text.isEmpty else { throw error(key, "is required") }
        return text
    }

    func int<T: FixedWidthInteger>(_ key: String, _ range: ClosedRange<T>) throws(JobFileError) -> T? {
        guard let text = try string(key) else { return nil }
        guard let number = T(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw error(key, "'\(text)' is not a whole number", line: value(key)?.line)
        }
        guard range.contains(number) else {
            throw error(key, "\(number) is outside \(range.lowerBound)...\(range.upperBound)", line: value(key)?.line)
        }
        return number
    }

    func bool(_ key: String) throws(JobFileError) -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "'\(text)' is not true or false", line: value(key)?.line)
        }
    }

    /// A duration: `250ms`, `30s`, `5m`, `1h`, `1h30m`, or a number of seconds.
    func durationMS(_ key: String) throws(JobFileError) -> UInt64? {
        guard let text = try string(key) else { return nil }
        guard let ms = parseDurationMS(text) else {
            throw error(key, "'\(text)' is not a duration (e.g. 250ms, 30s, 5m, 1h30m)", line: value(key)?.line)
        }
        return ms
    }

    func stringList(_ key: String) throws(JobFileError) -> [String]? {
        guard let (value, line) = value(key) else { return nil }
        switch value {
        case .sequence(let items, _):
            var strings: [String] = []
            for (i, item) in items.enumerated() {
                guard case .scalar(let text, _, _) = item else {
                    throw error("\(key)[\(i)]", "expected a string, found \(item.kind)", line: item.line)
                }
                strings.append(text)
            }
            return strings
        case .scalar(let text, _, _): return [text]
        default: throw error(key, "expected a list of strings, found \(value.kind)", line: line)
        }
    }

    /// A mapping of string to string, returned sorted by key.
    func stringMap(_ key: String) throws(JobFileError) -> [(String, String)]? {
        guard let (value, line) = value(key) else { return nil }
        guard case .mapping(let entries, _) = value else {
            throw error(key, "expected a mapping of names to values, found \(value.kind)", line: line)
        }
        var pairs: [(String, String)] = []
        for entry in entries {
            switch entry.value {
            case .scalar(let text, _, _): pairs.append((entry.key, text))
            case .null: pairs.append((entry.key, ""))
            default: throw error("\(key).\(entry.key)", "expected a string, found \(entry.value.kind)", line: entry.line)
            }
        }
        return pairs.sorted { $0.0 < $1.0 }
    }

    /// A nested mapping's reader.
    func object(_ key: String) throws(JobFileError) -> JobFileReader? {
        guard let (value, _) = value(key) else { return nil }
        return try JobFileReader(value, file: file, path: Self.join(path, key))
    }

    /// A list of mappings' readers (a single mapping counts as a list of one).
    func objects(_ key: String) throws(JobFileError) -> [JobFileReader] {
        guard let (value, line) = value(key) else { return [] }
        switch value {
        case .sequence(let items, _):
            var readers: [JobFileReader] = []
            for (i, item) in items.enumerated() {
                readers.append(try JobFileReader(item, file: file, path: Self.join(path, "\(key)[\(i)]")))
            }
            return readers
        case .mapping: return [try JobFileReader(value, file: file, path: Self.join(path, "\(key)[0]"))]
        default: throw error(key, "expected a list, found \(value.kind)", line: line)
        }
    }
}

/// Parses `250ms`, `30s`, `5m`, `2h`, `1h30m`, `1d` or plain seconds into milliseconds (the job
/// file and CLI duration syntax).
public func parseDurationMS(_ text: String) -> UInt64? {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if let seconds = UInt64(trimmed) { return seconds.multipliedReportingOverflow(by: 1000).overflow ? nil : seconds * 1000 }
    var total: UInt64 = 0
    var number = ""
    var rest = Substring(trimmed)
    guard !rest.isEmpty else { return nil }
    while let character = rest.first {
        if character.isNumber || character == "." {
            number.append(character)
            rest = rest.dropFirst()
            continue
        }
        let unit: UInt64
        if rest.hasPrefix("ms") {
            unit = 1; rest = rest.dropFirst(2)
        } else {
            switch character {
            case "s": unit = 1_000
            case "m": unit = 60_000
            case "h": unit = 3_600_000
            case "d": unit = 86_400_000
            default: return nil
            }
            rest = rest.dropFirst()
        }
        guard let value = Double(number), value >= 0 else { return nil }
        total += UInt64(value * Double(unit))
        number = ""
    }
    return number.isEmpty ? total : nil
}

/// The candidates within a few edits of `word` (or sharing its prefix, ignoring case), closest first:
/// the "did you mean" list for unknown job ids, keys and flags.
public func closeMatches(_ word: String, among candidates: [String], limit: Int = 5) -> [String] {
    let lowered = word.lowercased()
    return candidates
        .map { (candidate: $0, distance: editDistance($0.lowercased(), lowered)) }
        .filter { $0.distance <= max(2, word.count / 3) || $0.candidate.lowercased().hasPrefix(lowered) }
        .sorted { ($0.distance, $0.candidate) < ($1.distance, $1.candidate) }
        .prefix(limit).map(\.candidate)
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var row = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = row
    }
    return previous[b.count]
}
