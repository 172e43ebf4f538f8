import HeliosProto
import HeliosState
import SwiftProtobuf

/// Evaluates constraints against a node: its attributes (`os.name`, `cpu.arch`, `kernel.name`,
/// `hostname` ...), `meta.<key>` for operator metadata, and `node.id`, `node.name`, `node.datacenter`.
public enum ConstraintMatcher {
    /// The value of `attribute` on `node`, if it has one.
    public static func value(of attribute: String, on node: NodeInfo) -> String? {
        NodeAttribute(attribute).value(on: node)
    }

    /// Whether `node` satisfies `constraint`. A missing attribute satisfies only `!=`. (The node
    /// selector prepares each constraint once per selection instead: a regular expression is then
    /// compiled once, not once per node.)
    public static func matches(_ constraint: Helios_V1_Constraint, _ node: NodeInfo) -> Bool {
        CompiledConstraint(constraint).matches(node)
    }

    /// Why `constraint` is malformed (checked when a job is submitted), or nil.
    public static func problem(_ constraint: Helios_V1_Constraint) -> String? {
        if constraint.attribute.isEmpty { return "attribute: must not be empty" }
        switch constraint.operator {
        case .regexp:
            if (try? Regex(constraint.value)) == nil { return "value: '\(constraint.value)' is not a valid regular expression" }
        case .version:
            if VersionConstraint(constraint.value) == nil {
                return "value: '\(constraint.value)' is not a version constraint like '>= 5.10, < 6'"
            }
        case .UNRECOGNIZED:
            return "operator: unknown"
        default:
            break
        }
        return nil
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

extension Set where Element == Character {
    static let whitespaces: Set<Character> = [" ", "\t", "\n"]
}

/// `>= 5.10, < 6` style constraints on dotted numeric versions (`5.10.0-1-amd64` compares as 5.10.0).
struct VersionConstraint {
    var clauses: [(op: String, version: [Int])]

    init?(_ text: String) {
        clauses = []
        for part in text.split(separator: ",") {
            let trimmed = String(part).trimmingCharacters(in: .whitespaces)
            let op = ["<=", ">=", "!=", "=", "<", ">"].first { trimmed.hasPrefix($0) } ?? "="
            let rest = String(trimmed.dropFirst(trimmed.hasPrefix(op) ? op.count : 0)).trimmingCharacters(in: .whitespaces)
            guard let version = Self.parse(rest), !version.isEmpty else { return nil }
            clauses.append((op, version))
        }
        if clauses.isEmpty { return nil }
    }

    static func parse(_ text: String) -> [Int]? {
        let numeric = text.prefix { $0.isNumber || $0 == "." }
        let parts = numeric.split(separator: ".").map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }

    static func compare(_ a: [Int], _ b: [Int]) -> Int {
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }

    func matches(_ actual: String) -> Bool {
        guard let version = Self.parse(actual) else { return false }
        return clauses.allSatisfy { clause in
            let c = Self.compare(version, clause.version)
            switch clause.op {
            case "<": return c < 0
            case "<=": return c <= 0
            case ">": return c > 0
            case ">=": return c >= 0
            case "!=": return c != 0
            default: return c == 0
            }
        }
    }
}
