/// How a new cluster starts: every initial member's storage holds the same committed entries, one
/// configuration change per member at term 1 (as etcd's StartNode does). A node applies them like any
/// committed entry, and a node that joins later learns the initial membership by replaying them.
public enum RaftBootstrap {
    /// The entries `1...n` for the initial members (voters first, then learners, each sorted).
    public static func entries(for configuration: ConfigurationState) -> [Entry] {
        let changes = configuration.voters.sorted().map { ConfigurationChange(.addVoter, node: $0) }
            + configuration.learners.sorted().map { ConfigurationChange(.addLearner, node: $0) }
        return changes.enumerated().map { offset, change in
            Entry(index: UInt64(offset + 1), term: 1, kind: .configuration, data: change.encoded())
        }
    }

    /// The hard state that goes with them: term 1, nothing voted, all of them committed.
    public static func hardState(for entries: [Entry]) -> HardState {
        HardState(term: entries.isEmpty ? 0 : 1, vote: 0, commit: UInt64(entries.count))
    }
}
