extension Raft {
    /// Applies a committed configuration change (called when the application applies its entry).
    func applyConfigurationChange(_ change: ConfigurationChange) -> ConfigurationState {
        let previous = tracker.configuration
        let next = change.applied(to: previous)
        tracker.apply(next, next: log.lastIndex + 1)
        if leadTransferee != 0 && !next.voters.contains(leadTransferee) { leadTransferee = 0 }
        guard role == .leader else { return next }
        if !next.voters.contains(id) {
            // A removed (or demoted) leader steps down; the others elect a new one.
            becomeFollower(term: term, leader: 0)
            return next
        }
        // The quorum changed: maybe something commits now.
        if maybeCommit() { broadcastAppend() } else {
            for node in tracker.progress.keys.sorted() where node != id { sendAppend(to: node, sendIfEmpty: false) }
        }
        // Probe new members at once rather than at the next heartbeat.
        for node in next.members.subtracting(previous.members).sorted() where node != id { sendAppend(to: node) }
        return next
    }
}
