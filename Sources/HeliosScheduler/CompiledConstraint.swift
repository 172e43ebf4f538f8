import HeliosProto
import HeliosState

/// A node attribute name resolved once: the selector reads it on up to a hundred nodes per
/// placement, so the name is parsed per selection, not per node.
struct NodeAttribute {
    private enum Source {
        case id, name, datacenter
        case meta(String)
        case attribute(String)
    }

    private let source: Source

    init(_ name: String) {
        switch name {
        case "node.id": source = .id
        case "node.name": source = .name
        case "node.datacenter": source = .datacenter
        default:
            if name.hasPrefix("meta.") {
                source = .meta(String(name.dropFirst(5)))
            } else {
                source = .attribute(name.hasPrefix("attr.") ? String(name.dropFirst(5)) : name)
            }
        }
    }

    /// The attribute's value on `node`, if it has one: `node.id`, `node.name`, `node.datacenter`,
    /// `meta.<key>` from the operator's metadata, otherwise an attribute (`attr.` prefix optional).
    func value(on node: NodeInfo) -> String? {
        switch source {
        case .id: node.id
        case .name: node.name
        case .datacenter: node.datacenter
        case .meta(let key): node.meta.first { $0.key == key }?.value
        case .attribute(let key): node.attributes.first { $0.key == key }?.value
        }
    }
}

/// A constraint prepared for matching many nodes: its attribute resolved, its regular expression
/// or version range parsed once instead of per node. A missing attribute satisfies only `!=`.
struct CompiledConstraint {
    let constraint: Helios_V1_Constraint
    let attribute: NodeAttribute
    private let regex: Regex<AnyRegexOutput>?
    private let version: VersionConstraint?
    /// The members a `set_contains` constraint asks for.
    private let wanted: [String]

    init(_ constraint: Helios_V1_Constraint) {
        self.constraint = constraint
        attribute = NodeAttribute(constraint.attribute)
        regex = constraint.operator == .regexp ? try? Regex(constraint.value) : nil
        version = constraint.operator == .version ? VersionConstraint(constraint.value) : nil
        wanted = constraint.operator == .setContains ? Self.members(constraint.value) : []
    }

    /// The trimmed members of a comma-separated list.
    private static func members(_ list: String) -> [String] {
        list.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    func matches(_ node: NodeInfo) -> Bool {
        let actual = attribute.value(on: node)
        switch constraint.operator {
        case .equal, .unspecified:
            return actual == constraint.value
        case .notEqual:
            return actual != constraint.value
        case .regexp:
            guard let actual, let regex else { return false }
            return actual.contains(regex)
        case .version:
            guard let actual, let version else { return false }
            return version.matches(actual)
        case .setContains:
            guard let actual else { return false }
            let have = Set(Self.members(actual))
            return wanted.allSatisfy { have.contains($0) }
        case .UNRECOGNIZED:
            return false
        }
    }
}
