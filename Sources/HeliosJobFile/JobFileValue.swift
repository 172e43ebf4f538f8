import Foundation
import Yams

/// A parsed YAML/JSON document reduced to what job files use, each value with its line.
indirect enum JobFileValue: Sendable {
    case scalar(String, line: Int, plain: Bool)
    case null(line: Int)
    case mapping([(key: String, line: Int, value: JobFileValue)], line: Int)
    case sequence([JobFileValue], line: Int)

    var line: Int {
        switch self {
        case .scalar(_, let line, _), .null(let line), .mapping(_, let line), .sequence(_, let line): line
        }
    }

    var kind: String {
        switch self {
        case .scalar: "a value"
        case .null: "empty"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// Parses YAML (JSON is YAML too); `nil` for an empty document.
    static func parse(_ text: String, file: String) throws(JobFileError) -> JobFileValue? {
        guard text.utf8.count <= 16 << 20 else {
            throw JobFileError(file: file, line: 0, path: "", message: "\(text.utf8.count) bytes is larger than a job file may be (16 MiB)")
        }
        if let line = Self.lineExceedingNesting(text, limit: 64) {
            throw JobFileError(file: file, line: line, path: "", message: "nested more than 64 levels deep; a job file needs a handful")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw JobFileError(file: file, line: Self.line(of: error), path: "", message: "not valid YAML or JSON: \(Self.describe(error))")
        } catch {
            throw JobFileError(file: file, line: 0, path: "", message: "not valid YAML or JSON: \(error)")
        }
        guard let node else { return nil }
        return convert(node)
    }

    private static func convert(_ node: Node) -> JobFileValue {
        let line = node.mark?.line ?? 0
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain || scalar.style == .any, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return .null(line: line)
            }
            return .scalar(scalar.string, line: line, plain: scalar.style == .plain || scalar.style == .any)
        case .mapping(let mapping):
            return .mapping(mapping.map { pair in (key: pair.key.string ?? "\(pair.key)", line: pair.key.mark?.line ?? line, value: convert(pair.value)) }, line: line)
        case .sequence(let sequence):
            return .sequence(sequence.map(convert), line: line)
        default:
            return .scalar("\(node)", line: line, plain: false)
        }
    }

    /// The first line where `[`/`{` nesting (outside quotes and comments) passes `limit`, if any: the
    /// YAML composer recurses per level, so absurd nesting is refused before it runs.
    static func lineExceedingNesting(_ text: String, limit: Int) -> Int? {
        var depth = 0
        var line = 1
        var quote: UInt8?
        var comment = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\n") { line += 1; comment = false; continue }
            if comment { continue }
            if let open = quote {
                if byte == open { quote = nil }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = byte
            case UInt8(ascii: "#"): comment = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return line }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth = max(0, depth - 1)
            default: break
            }
        }
        return nil
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 0
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        default: return "\(error)"
        }
    }
}
