extension Raft {
    /// Handles one message from a peer (or, after persistence, from this node itself).
    func step(_ m: Message) {
        // Term rules first (Raft §5.1, with the PreVote and CheckQuorum refinements).
        if m.term > term {
            if m.type.isVoteRequest {
                let inLease = config.checkQuorum && leader != 0 && electionElapsed < config.electionTicks
                if !m.flag && inLease {
                    // We heard from a leader recently: this candidate cannot win; ignore it.
                    return
                }
            }
            switch m.type {
            case .requestPreVote:
                break  // a pre-vote never changes our term
            case .preVoteResponse where !m.reject:
                break  // granted pre-votes carry the term we would campaign in
            case .appendEntries, .heartbeat, .installSnapshot:
                becomeFollower(term: m.term, leader: m.from)
            default:
                becomeFollower(term: m.term, leader: 0)
            }
        } else if m.term < term {
            if (config.checkQuorum || config.preVote) && (m.type == .heartbeat || m.type == .appendEntries) {
                // A stale leader (perhaps partitioned away): tell it our term so it steps down. With
                // CheckQuorum or PreVote it would otherwise never learn of it.
                send(message(.appendResponse, to: m.from))
            } else if m.type == .requestPreVote {
                var response = message(.preVoteResponse, to: m.from)
                response.reject = true
                send(response)
            }
            return
        }

        switch m.type {
        case .requestVote, .requestPreVote:
            handleVoteRequest(m)
        default:
            switch role {
            case .leader: stepLeader(m)
            case .candidate, .preCandidate: stepCandidate(m)
            case .follower: stepFollower(m)
            }
        }
    }

    private func handleVoteRequest(_ m: Message) {
        // We can vote if we already voted for this node in this term, or have not voted and know no
        // leader, or (pre-vote) the candidate's future term is above ours.
        let canVote = vote == m.from || (vote == 0 && leader == 0) || (m.type == .requestPreVote && m.term > term)
        let responseType: MessageType = m.type == .requestVote ? .voteResponse : .preVoteResponse
        if canVote && log.isUpToDate(index: m.index, term: m.logTerm) {
            // Answer in the candidate's term: a pre-vote grant must say so even though our term is lower.
            send(message(responseType, to: m.from, term: m.term))
            if m.type == .requestVote {
                electionElapsed = 0
                vote = m.from
            }
        } else {
            var response = message(responseType, to: m.from)
            response.reject = true
            send(response)
        }
    }

    /// Starts an election (with a pre-vote round first when configured), if this node may.
    func campaignIfAllowed(transfer: Bool = false) {
        guard role != .leader, isPromotable else { return }
        if hasUnappliedConfigurationChanges() { return }
        if config.preVote && !transfer {
            campaign(preVote: true, transfer: false)
        } else {
            campaign(preVote: false, transfer: transfer)
        }
    }

    private func hasUnappliedConfigurationChanges() -> Bool {
        guard log.applied < log.committed else { return false }
        guard let entries = try? log.slice(log.applied + 1, log.committed + 1, maxSize: .max) else { return false }
        return entries.contains { $0.kind == .configuration }
    }

    func campaign(preVote: Bool, transfer: Bool) {
        let voteTerm: UInt64
        let type: MessageType
        if preVote {
            becomePreCandidate()
            voteTerm = term + 1
            type = .requestPreVote
        } else {
            becomeCandidate()
            voteTerm = term
            type = .requestVote
        }
        for voter in tracker.configuration.voters.sorted() {
            if voter == id {
                // Our own vote counts once our term and vote are durable.
                send(message(type == .requestVote ? .voteResponse : .preVoteResponse, to: id, term: voteTerm))
                continue
            }
            var request = message(type, to: voter, term: voteTerm)
            request.index = log.lastIndex
            request.logTerm = log.lastTerm
            request.flag = transfer
            send(request)
        }
    }

    /// Counts a vote response; returns the election's state.
    func poll(_ m: Message) {
        tracker.recordVote(m.from, granted: !m.reject)
        switch tracker.tallyVotes().result {
        case .won:
            if role == .preCandidate {
                campaign(preVote: false, transfer: false)
            } else {
                becomeLeader()
            }
        case .lost:
            becomeFollower(term: term, leader: 0)
        case .pending:
            break
        }
    }

    func stepCandidate(_ m: Message) {
        switch m.type {
        case .appendEntries:
            becomeFollower(term: m.term, leader: m.from)
            handleAppendEntries(m)
        case .heartbeat:
            becomeFollower(term: m.term, leader: m.from)
            handleHeartbeat(m)
        case .installSnapshot:
            becomeFollower(term: m.term, leader: m.from)
            handleSnapshotChunk(m)
        case .voteResponse where role == .candidate, .preVoteResponse where role == .preCandidate:
            poll(m)
        default:
            break  // timeoutNow, stray responses: nothing to do as a candidate
        }
    }

    func stepFollower(_ m: Message) {
        switch m.type {
        case .appendEntries:
            electionElapsed = 0
            leader = m.from
            handleAppendEntries(m)
        case .heartbeat:
            electionElapsed = 0
            leader = m.from
            handleHeartbeat(m)
        case .installSnapshot:
            electionElapsed = 0
            leader = m.from
            handleSnapshotChunk(m)
        case .timeoutNow:
            // The leader hands us leadership: campaign at once, skipping the pre-vote.
            campaignIfAllowed(transfer: true)
        case .readIndexResponse:
            readStates.append(ReadState(index: m.index, context: m.context))
        default:
            break
        }
    }

    func handleAppendEntries(_ m: Message) {
        // Ignore malformed messages: entries must continue m.index one by one, with terms that never
        // decrease and never exceed the sender's term.
        var expected = m.index + 1
        var previousTerm = m.logTerm
        for entry in m.entries {
            guard entry.index == expected, entry.term >= previousTerm, entry.term <= m.term else { return }
            expected += 1
            previousTerm = entry.term
        }
        if m.index < log.committed {
            var response = message(.appendResponse, to: m.from)
            response.index = log.committed
            send(response)
            return
        }
        if let last = log.maybeAppend(index: m.index, logTerm: m.logTerm, committed: m.commit, entries: m.entries) {
            var response = message(.appendResponse, to: m.from)
            response.index = last
            send(response)
            return
        }
        // Mismatch: hint the largest index <= m.index whose term is <= m.logTerm, so the leader can
        // skip a whole term of conflicting entries per round trip.
        let (hintIndex, hintTerm) = log.findConflictByTerm(index: min(m.index, log.lastIndex), term: m.logTerm)
        var response = message(.appendResponse, to: m.from)
        response.index = m.index
        response.reject = true
        response.rejectHint = hintIndex
        response.logTerm = hintTerm
        send(response)
    }

    func handleHeartbeat(_ m: Message) {
        log.commit(to: min(m.commit, log.lastIndex))
        var response = message(.heartbeatResponse, to: m.from)
        response.context = m.context
        send(response)
    }
}
