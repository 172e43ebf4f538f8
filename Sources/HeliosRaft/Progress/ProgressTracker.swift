/// The outcome of an election so far.
enum VoteResult: Equatable {
    case pending, won, lost
}

/// The leader's progress for every member, the configuration, and (for candidates) the votes.
struct ProgressTracker {
    var configuration: ConfigurationState
    var progress: [NodeID: Progress] = [:]
    var votes: [NodeID: Bool] = [:]
    let maxInflight: Int
    let maxInflightBytes: Int

    init(configuration: ConfigurationState, maxInflight: Int, maxInflightBytes: Int) {
        self.configuration = configuration
        self.maxInflight = maxInflight
        self.maxInflightBytes = maxInflightBytes
    }

    var quorum: Int { configuration.voters.count / 2 + 1 }

    /// Rebuilds the progress map for the configuration, every member at `next`.
    mutating func reset(next: UInt64) {
        progress = [:]
        for node in configuration.members {
            progress[node] = Progress(
                next: next, maxInflight: maxInflight, maxInflightBytes: maxInflightBytes,
                isLearner: !configuration.voters.contains(node))
        }
    }

    /// Switches to `configuration`, keeping the progress of members that stay.
    mutating func apply(_ configuration: ConfigurationState, next: UInt64) {
        self.configuration = configuration
        for node in progress.keys where !configuration.members.contains(node) { progress[node] = nil }
        for node in configuration.members {
            if progress[node] == nil {
                progress[node] = Progress(
                    next: next, maxInflight: maxInflight, maxInflightBytes: maxInflightBytes,
                    isLearner: !configuration.voters.contains(node))
            } else {
                progress[node]!.isLearner = !configuration.voters.contains(node)
            }
        }
    }

    /// The largest index replicated on a quorum of voters.
    func committedIndex() -> UInt64 {
        let matches = configuration.voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        guard !matches.isEmpty else { return 0 }
        return matches[quorum - 1]
    }

    mutating func resetVotes() { votes = [:] }

    mutating func recordVote(_ node: NodeID, granted: Bool) {
        if votes[node] == nil { votes[node] = granted }
    }

    func tallyVotes() -> (granted: Int, rejected: Int, result: VoteResult) {
        var granted = 0
        var rejected = 0
        for voter in configuration.voters {
            switch votes[voter] {
            case true?: granted += 1
            case false?: rejected += 1
            case nil: break
            }
        }
        if granted >= quorum { return (granted, rejected, .won) }
        if rejected > configuration.voters.count - quorum { return (granted, rejected, .lost) }
        return (granted, rejected, .pending)
    }

    /// Whether a quorum of voters (counting `leader` itself) was heard from recently.
    func quorumActive(leader: NodeID) -> Bool {
        configuration.voters.filter { $0 == leader || progress[$0]?.recentActive == true }.count >= quorum
    }
}
