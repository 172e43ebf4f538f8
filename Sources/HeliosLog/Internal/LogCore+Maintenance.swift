/// Truncation and purging, run on the writer thread in queue order with appends.
extension LogCore {
    /// Removes every entry after `index`. Durable before it returns.
    ///
    /// Order on disk: later segments are removed (newest first) and the directory synced; then the
    /// segment holding `index + 1` is cut, synced, and a commit frame written and synced. A crash in
    /// between leaves a log that still holds the removed entries, never one with a hole.
    func performTruncate(after index: UInt64) -> Result<Void, LogError> {
        let (first, last, openFirst) = lock.withLock { ($0.firstIndex, $0.lastIndex, $0.open.firstIndex) }
        if index >= last { return .success(()) }
        if index + 1 < first {
            return .failure(LogError(
                code: .indexUnavailable,
                message: "log \(directory): cannot truncate after index \(index): the log starts at \(first) "
                    + "(earlier entries were purged); purge through the snapshot index instead",
                index: index))
        }
        do throws(LogError) {
            if index + 1 >= openFirst {
                try cutOpenSegment(after: index)
            } else {
                try loadSealedIndex(containing: index + 1)
                try reopenSealedSegment(containing: index + 1)
                try cutOpenSegment(after: index)
            }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// Makes the sealed segment holding `index` the open one, removing every segment after it.
    private func reopenSealedSegment(containing index: UInt64) throws(LogError) {
        let removed: [(String, any File)] = lock.withLock { state in
            let position = sealedPosition(of: index, in: state.sealed)
            let target = state.sealed[position]
            var removed = [(state.open.name, state.open.file)]
            for segment in state.sealed[(position + 1)...].reversed() { removed.append((segment.name, segment.file)) }
            state.sealed.removeSubrange(position...)
            state.open = OpenSegment(
                name: target.name, file: target.file, header: target.header, offsets: target.index?.offsets ?? [],
                termRuns: target.index?.termRuns ?? TermRuns(), entriesEnd: target.entriesEnd,
                allocatedSize: target.fileSize)
            return removed
        }
        do {
            for (name, _) in removed { try fileSystem.removeFile(path(of: name)) }
            try fileSystem.synchronizeDirectory(directory)
        } catch {
            throw fail(error, while: "removing segments during truncation")
        }
    }

    /// Cuts the open segment after `index` (which it must hold or directly precede).
    private func cutOpenSegment(after index: UInt64) throws(LogError) {
        let (cursor, cut, term) = lock.withLock { state -> (Cursor, Int64, UInt64) in
            let open = state.open
            let keep = Int(index + 1 - open.firstIndex)
            let cut = keep < open.offsets.count ? Int64(open.offsets[keep]) : open.entriesEnd
            state.open.offsets.removeLast(open.offsets.count - keep)
            state.open.termRuns.removeRuns(after: index)
            state.open.entriesEnd = cut
            let term = state.open.termRuns.lastTerm ?? state.sealed.last?.footer.lastTerm ?? 0
            return (Cursor(state.open), cut, term)
        }
        var commit: [UInt8] = []
        FrameCodec.appendCommit(to: &commit, salt: cursor.salt, lastIndex: index, lastTerm: term)
        do {
            // Sync the cut before writing after it, so no frame of the removed tail can survive
            // behind the new commit frame after a crash.
            try cursor.file.truncate(to: cut)
            try cursor.file.synchronize()
            if configuration.preallocate { try cursor.file.preallocate(to: Int64(configuration.segmentSize)) }
            try cursor.file.write(commit, at: cut)
            try cursor.file.synchronize()
        } catch {
            throw fail(error, while: "truncating segment \(cursor.name) after index \(index)")
        }
        let allocated = configuration.preallocate ? max(Int64(configuration.segmentSize), cut + 32) : cut + 32
        lock.withLock { state in
            state.open.entriesEnd = cut + Int64(commit.count)
            state.open.allocatedSize = allocated
        }
    }

    /// Removes whole segments whose entries are all at or below `index`.
    ///
    /// When `index` is at or past the last entry, the log restarts empty at `index + 1` in a new base
    /// segment (created before the old ones are removed, so a crash leaves either the old log or the
    /// new one; see the base flag in `Formats/segment.md`).
    func performPurge(through index: UInt64) -> Result<Void, LogError> {
        let (first, last) = lock.withLock { ($0.firstIndex, $0.lastIndex) }
        if index < first { return .success(()) }
        do throws(LogError) {
            if index >= last {
                try restart(at: index + 1, lastTerm: index == last ? (try? term(at: last)) ?? 0 : 0)
            } else {
                let removed: [SealedSegment] = lock.withLock { state in
                    let count = state.sealed.prefix(while: { $0.lastIndex <= index }).count
                    let removed = Array(state.sealed.prefix(count))
                    state.sealed.removeFirst(count)
                    return removed
                }
                do {
                    for segment in removed { try fileSystem.removeFile(path(of: segment.name)) }
                    if !removed.isEmpty { try fileSystem.synchronizeDirectory(directory) }
                } catch {
                    throw fail(error, while: "removing purged segments")
                }
            }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    private func restart(at nextIndex: UInt64, lastTerm: UInt64) throws(LogError) {
        let (sequence, previousSalt) = lock.withLock { ($0.nextSequence, $0.open.header.salt) }
        let fresh: OpenSegment
        do {
            fresh = try createSegment(
                firstIndex: nextIndex, sequence: sequence, previousSalt: previousSalt, isBase: true,
                previousTerm: lastTerm)
        } catch {
            throw fail(error, while: "creating the base segment at index \(nextIndex)")
        }
        let old: [String] = lock.withLock { state in
            let old = state.sealed.map(\.name) + [state.open.name]
            state.sealed = []
            state.open = fresh
            state.nextSequence = sequence + 1
            return old
        }
        do {
            // The new segment may have replaced an empty one of the same name; never remove it.
            for name in old where name != fresh.name { try fileSystem.removeFile(path(of: name)) }
            try fileSystem.synchronizeDirectory(directory)
        } catch {
            throw fail(error, while: "removing segments before the new base segment")
        }
    }
}
