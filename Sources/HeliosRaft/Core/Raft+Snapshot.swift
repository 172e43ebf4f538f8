extension Raft {
    /// Starts sending the current snapshot to a follower whose entries were compacted away.
    func sendSnapshot(to node: NodeID) {
        guard var progress = tracker.progress[node], progress.state != .snapshot else { return }
        guard let snapshot = try? log.snapshot(), !snapshot.isEmpty || snapshot.metadata.index > 0 else { return }
        progress.becomeSnapshot(snapshot)
        tracker.progress[node] = progress
        sendSnapshotChunk(to: node)
    }

    /// Sends the chunk after the bytes the follower has acknowledged.
    func sendSnapshotChunk(to node: NodeID) {
        guard var progress = tracker.progress[node], progress.state == .snapshot,
            let snapshot = progress.pendingSnapshot
        else { return }
        progress.snapshotStall = 0
        tracker.progress[node] = progress
        let start = min(progress.snapshotAcked, snapshot.data.count)
        let end = min(start + config.snapshotChunkBytes, snapshot.data.count)
        var chunk = message(.installSnapshot, to: node)
        chunk.snapshot = snapshot.metadata
        chunk.index = UInt64(start)
        chunk.data = Array(snapshot.data[start..<end])
        chunk.flag = end == snapshot.data.count
        send(chunk)
    }

    func handleSnapshotResponse(_ m: Message) {
        guard var progress = tracker.progress[m.from], progress.state == .snapshot else { return }
        if m.reject {
            // The follower could not take it: go back to probing (a new snapshot is sent if needed).
            progress.becomeProbe()
            tracker.progress[m.from] = progress
            return
        }
        // `index` is the next byte offset the follower expects.
        progress.snapshotAcked = Int(m.index)
        tracker.progress[m.from] = progress
        sendSnapshotChunk(to: m.from)
    }

    /// Receives one chunk of a snapshot as a follower.
    func handleSnapshotChunk(_ m: Message) {
        guard let metadata = m.snapshot else { return }
        if incomingSnapshot?.metadata != metadata || m.index == 0 {
            guard m.index == 0 else {
                // A chunk of a snapshot we are not receiving: ask for it from the start.
                var response = message(.snapshotResponse, to: m.from)
                response.index = 0
                send(response)
                return
            }
            incomingSnapshot = (metadata, [])
        }
        guard Int(m.index) == incomingSnapshot!.data.count else {
            // Out of order (a lost or duplicated chunk): say where we are.
            var response = message(.snapshotResponse, to: m.from)
            response.index = UInt64(incomingSnapshot!.data.count)
            send(response)
            return
        }
        incomingSnapshot!.data.append(contentsOf: m.data)
        if !m.flag {
            var response = message(.snapshotResponse, to: m.from)
            response.index = UInt64(incomingSnapshot!.data.count)
            send(response)
            return
        }
        let snapshot = Snapshot(metadata: metadata, data: incomingSnapshot!.data)
        incomingSnapshot = nil
        var response = message(.appendResponse, to: m.from)
        response.index = restore(snapshot) ? log.lastIndex : log.committed
        send(response)
    }

    /// Replaces the log with a snapshot if it is newer than what this node has; returns whether it did.
    func restore(_ snapshot: Snapshot) -> Bool {
        let metadata = snapshot.metadata
        if metadata.index <= log.committed { return false }
        guard role == .follower else { return false }  // only reached as a follower
        if log.matchTerm(metadata.index, metadata.term) {
            // We already hold these entries: just move the commit index.
            log.commit(to: metadata.index)
            return false
        }
        log.restore(snapshot)
        tracker = ProgressTracker(
            configuration: metadata.configuration, maxInflight: config.maxInflightMessages,
            maxInflightBytes: config.maxInflightBytes)
        tracker.reset(next: log.lastIndex + 1)
        tracker.progress[id]?.match = metadata.index
        return true
    }
}
