/// The cluster membership: who votes and who only follows.
public struct ConfigurationState: Sendable, Hashable, CustomStringConvertible {
    /// Members whose votes and acknowledgements count toward quorums.
    public var voters: Set<NodeID>
    /// Members that receive the log but do not vote (they catch up before promotion).
    public var learners: Set<NodeID>

    public init(voters: Set<NodeID> = [], learners: Set<NodeID> = []) {
        self.voters = voters
        self.learners = learners
    }

    /// Every member.
    public var members: Set<NodeID> { voters.union(learners) }

    public var description: String {
        "voters \(voters.sorted())" + (learners.isEmpty ? "" : " learners \(learners.sorted())")
    }
}

/// One membership change. Changes are made one server at a time.
public struct ConfigurationChange: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: UInt8, Sendable, Hashable {
        /// Add a voter, or promote a learner to voter.
        case addVoter = 1
        /// Add a learner (or demote a voter to learner).
        case addLearner = 2
        /// Remove a member.
        case remove = 3
    }

    public var kind: Kind
    public var node: NodeID
    /// Opaque bytes for the application (e.g. the new member's address).
    public var context: [UInt8]

    public init(_ kind: Kind, node: NodeID, context: [UInt8] = []) {
        self.kind = kind
        self.node = node
        self.context = context
    }

    /// The configuration after applying this change to `state`.
    public func applied(to state: ConfigurationState) -> ConfigurationState {
        var next = state
        switch kind {
        case .addVoter:
            next.learners.remove(node)
            next.voters.insert(node)
        case .addLearner:
            next.voters.remove(node)
            next.learners.insert(node)
        case .remove:
            next.voters.remove(node)
            next.learners.remove(node)
        }
        return next
    }

    /// Encoding in an entry: kind (1 byte), node (8 bytes LE), context.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [kind.rawValue]
        var node = self.node.littleEndian
        withUnsafeBytes(of: &node) { bytes.append(contentsOf: $0) }
        return bytes + context
    }

    /// Decodes an entry's data; nil if it is not a configuration change.
    public static func decode(_ bytes: [UInt8]) -> ConfigurationChange? {
        guard bytes.count >= 9, let kind = Kind(rawValue: bytes[0]) else { return nil }
        var node: UInt64 = 0
        for i in (1...8).reversed() { node = node << 8 | UInt64(bytes[i]) }
        return ConfigurationChange(kind, node: node, context: Array(bytes[9...]))
    }

    public var description: String { "\(kind) \(node)" }
}
