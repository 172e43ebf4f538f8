/// Read requests waiting for a quorum of heartbeat acknowledgements (ReadIndex, Raft thesis §6.4).
struct ReadOnly {
    struct Pending {
        var request: Message
        var index: UInt64
        var acks: Set<NodeID>
    }

    var pending: [[UInt8]: Pending] = [:]
    var queue: [[UInt8]] = []

    var lastPendingContext: [UInt8]? { queue.last }

    mutating func add(index: UInt64, request: Message) {
        let context = request.data
        if pending[context] != nil { return }
        pending[context] = Pending(request: request, index: index, acks: [])
        queue.append(context)
    }

    /// Records `node`'s acknowledgement; returns the acks for `context` so far.
    mutating func acknowledge(_ node: NodeID, context: [UInt8]) -> Set<NodeID> {
        guard pending[context] != nil else { return [] }
        pending[context]!.acks.insert(node)
        return pending[context]!.acks
    }

    /// Removes and returns every request up to and including `context` (a later heartbeat round
    /// confirms the earlier ones too).
    mutating func advance(through context: [UInt8]) -> [Pending] {
        guard let position = queue.firstIndex(of: context) else { return [] }
        let done = queue[...position].compactMap { pending[$0] }
        for key in queue[...position] { pending[key] = nil }
        queue.removeSubrange(...position)
        return done
    }
}

extension Raft {
    /// Asks for a read index. The answer arrives as a ``ReadState`` (locally or through the leader).
    func readIndex(context: [UInt8]) {
        var request = message(.readIndex, to: id, term: 0)
        request.data = context
        if role == .leader {
            handleReadIndexRequest(request)
        } else if leader != 0 {
            request.to = leader
            request.term = term
            send(request)
        }
        // No leader known: the request is dropped; the caller retries after a timeout.
    }

    func handleReadIndexRequest(_ m: Message) {
        if tracker.configuration.voters.count == 1 {
            respondToRead(m, index: log.committed)
            return
        }
        // The leader can only vouch for its commit index once it has committed an entry in its term.
        guard log.matchTerm(log.committed, term) else {
            pendingReadIndex.append(m)
            return
        }
        readOnly.add(index: log.committed, request: m)
        _ = readOnly.acknowledge(id, context: m.data)
        broadcastHeartbeat(context: m.data)
    }

    func handleReadIndexAck(from node: NodeID, context: [UInt8]) {
        let acks = readOnly.acknowledge(node, context: context)
        let voters = acks.filter { tracker.configuration.voters.contains($0) }
        guard voters.count >= tracker.quorum else { return }
        for done in readOnly.advance(through: context) {
            respondToRead(done.request, index: done.index)
        }
    }

    private func respondToRead(_ request: Message, index: UInt64) {
        if request.from == id || request.from == 0 {
            readStates.append(ReadState(index: index, context: request.data))
        } else {
            var response = message(.readIndexResponse, to: request.from)
            response.index = index
            response.context = request.data
            send(response)
        }
    }

    /// Serves the reads that waited for the first commit of this term.
    func releasePendingReadIndex() {
        guard !pendingReadIndex.isEmpty, log.matchTerm(log.committed, term) else { return }
        let waiting = pendingReadIndex
        pendingReadIndex = []
        for request in waiting { handleReadIndexRequest(request) }
    }
}
