extension Raft {
    // MARK: Proposals

    /// Appends entries at the leader. Returns false if the uncommitted-bytes limit refuses them.
    @discardableResult
    func appendEntries(_ entries: [Entry]) -> Bool {
        var entries = entries
        let last = log.lastIndex
        let bytes = entries.reduce(0) { $0 + $1.data.count }
        if config.maxUncommittedBytes > 0 && uncommittedBytes > 0 && uncommittedBytes + bytes > config.maxUncommittedBytes {
            return false
        }
        uncommittedBytes += bytes
        for i in entries.indices {
            entries[i].term = term
            entries[i].index = last + 1 + UInt64(i)
        }
        let newLast = log.append(entries)
        // The leader counts itself toward a quorum once the entries are durable.
        var selfAck = message(.appendResponse, to: id)
        selfAck.index = newLast
        send(selfAck)
        return true
    }

    func propose(_ entries: [Entry]) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        if leadTransferee != 0 { throw .leadershipTransferInProgress }
        if entries.contains(where: { $0.kind == .configuration }) {
            if pendingConfigurationIndex > log.applied { throw .configurationChangePending }
        }
        guard appendEntries(entries) else { throw .tooManyUncommittedEntries }
        if entries.contains(where: { $0.kind == .configuration }) { pendingConfigurationIndex = log.lastIndex }
        broadcastAppend()
    }

    // MARK: Replication

    func broadcastAppend() {
        for node in tracker.progress.keys.sorted() where node != id { sendAppend(to: node) }
    }

    func broadcastHeartbeat(context: [UInt8]) {
        for node in tracker.progress.keys.sorted() where node != id {
            var heartbeat = message(.heartbeat, to: node)
            // Never tell a follower to commit past what it is known to hold.
            heartbeat.commit = min(tracker.progress[node]!.match, log.committed)
            heartbeat.context = context
            send(heartbeat)
        }
    }

    /// Sends the next appendEntries to `node` if its flow control allows; returns whether one was sent.
    @discardableResult
    func sendAppend(to node: NodeID, sendIfEmpty: Bool = true) -> Bool {
        guard var progress = tracker.progress[node], !progress.isPaused else { return false }
        let previous = progress.next - 1
        let previousTerm: UInt64
        let entries: [Entry]
        do {
            previousTerm = try log.term(at: previous)
            entries = try log.entries(from: progress.next, maxSize: config.maxMessageBytes)
        } catch {
            // The entries were compacted into a snapshot: send that instead.
            sendSnapshot(to: node)
            return false
        }
        if entries.isEmpty && !sendIfEmpty { return false }
        var append = message(.appendEntries, to: node)
        append.index = previous
        append.logTerm = previousTerm
        append.entries = entries
        append.commit = log.committed
        send(append)
        progress.sentEntries(last: entries.last?.index ?? previous, bytes: entries.reduce(0) { $0 + $1.size }, count: entries.count)
        tracker.progress[node] = progress
        return true
    }

    /// Commits the largest index replicated on a quorum, if it belongs to this term.
    func maybeCommit() -> Bool {
        let committed = log.committed
        guard log.maybeCommit(index: tracker.committedIndex(), term: term) else { return false }
        // Entries up to the new commit index no longer count as uncommitted.
        if let entries = try? log.slice(committed + 1, log.committed + 1, maxSize: .max) {
            uncommittedBytes = max(0, uncommittedBytes - entries.reduce(0) { $0 + $1.data.count })
        }
        return true
    }

    func stepLeader(_ m: Message) {
        switch m.type {
        case .propose:
            // A follower forwarded a proposal.
            try? propose(m.entries)
            return
        case .readIndex:
            handleReadIndexRequest(m)
            return
        default:
            break
        }
        guard tracker.progress[m.from] != nil else { return }  // not a member: ignore
        tracker.progress[m.from]!.recentActive = true
        switch m.type {
        case .appendResponse:
            handleAppendResponse(m)
        case .heartbeatResponse:
            handleHeartbeatResponse(m)
        case .snapshotResponse:
            handleSnapshotResponse(m)
        default:
            break
        }
    }

    private func handleAppendResponse(_ m: Message) {
        // A follower cannot hold more than we sent it; such a response is bogus.
        if !m.reject && m.index > log.lastIndex { return }
        var progress = tracker.progress[m.from]!
        if m.reject {
            // Back off using the follower's hint (etcd's fast conflict resolution).
            var next = m.rejectHint
            if m.logTerm > 0 {
                next = log.findConflictByTerm(index: m.rejectHint, term: m.logTerm).0
            }
            if progress.maybeDecrease(rejected: m.index, hint: next) {
                if progress.state == .replicate { progress.becomeProbe() }
                tracker.progress[m.from] = progress
                sendAppend(to: m.from)
            }
            return
        }
        let wasPaused = progress.isPaused
        let updated = progress.maybeUpdate(m.index)
        if progress.state == .snapshot, let pending = progress.pendingSnapshot, progress.match >= pending.metadata.index {
            // The follower already holds everything the snapshot would give it.
            progress.becomeProbe()
            tracker.progress[m.from] = progress
            sendAppend(to: m.from)
            return
        }
        guard updated || (progress.match == m.index && progress.state == .probe) else {
            tracker.progress[m.from] = progress
            return
        }
        switch progress.state {
        case .probe:
            progress.becomeReplicate()
        case .snapshot where progress.match + 1 >= log.firstIndex:
            // The snapshot was installed and the log continues from it.
            progress.becomeProbe()
            progress.becomeReplicate()
        case .replicate:
            progress.inflights.free(through: m.index)
        case .snapshot:
            break
        }
        tracker.progress[m.from] = progress
        if maybeCommit() {
            releasePendingReadIndex()
            if config.broadcastCommit {
                broadcastAppend()
            } else {
                // Only followers that have entries to receive hear of the new commit index now.
                for node in tracker.progress.keys.sorted() where node != id { _ = sendAppend(to: node, sendIfEmpty: false) }
            }
        } else if m.from != id && wasPaused {
            // Flow control had held this follower back: what waited goes now, and even an empty
            // append brings it the commit index it missed (as etcd-io/raft). A follower that was not
            // paused already has everything in flight: an empty append would only cost it a round.
            sendAppend(to: m.from)
        }
        if m.from != id {
            // Fill the pipeline.
            while sendAppend(to: m.from, sendIfEmpty: false) {}
        }
        if m.from == leadTransferee && tracker.progress[m.from]!.match == log.lastIndex {
            send(message(.timeoutNow, to: m.from))
        }
    }

    private func handleHeartbeatResponse(_ m: Message) {
        var progress = tracker.progress[m.from]!
        progress.probeSent = false
        if progress.state == .replicate && progress.inflights.isFull && progress.mayFreeOnHeartbeat {
            // The follower answers heartbeats but not appends: the window may be full of lost
            // messages. Once per heartbeat interval: a burst of read confirmations from a follower
            // that is merely slow must not each send another append (hundreds of MiB in one Ready).
            progress.inflights.freeFirst()
            progress.mayFreeOnHeartbeat = false
        }
        if progress.state == .snapshot {
            progress.snapshotStall += 1
            tracker.progress[m.from] = progress
            if progress.snapshotStall >= 2 { sendSnapshotChunk(to: m.from) }
        } else {
            tracker.progress[m.from] = progress
            if progress.match < log.lastIndex { sendAppend(to: m.from) }
        }
        if !m.context.isEmpty {
            handleReadIndexAck(from: m.from, context: m.context)
        }
    }

    // MARK: Leadership transfer

    func transferLeadership(to target: NodeID) {
        guard role == .leader, target != id, tracker.configuration.voters.contains(target) else { return }
        if leadTransferee == target { return }
        leadTransferee = target
        // The transfer must finish within an election timeout.
        electionElapsed = 0
        if tracker.progress[target]!.match == log.lastIndex {
            send(message(.timeoutNow, to: target))
        } else {
            sendAppend(to: target)
        }
    }
}
