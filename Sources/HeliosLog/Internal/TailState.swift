/// How the last segment of a log ends: the decision between a torn write (repairable) and corruption.
///
/// The writer makes each group of frames durable with one fdatasync and ends the group with a commit
/// frame; it starts the next group only after that sync returned. So if a bad frame at X is followed
/// by a valid commit frame and then by any other valid frame, the group holding X was already durable:
/// X is corruption. Otherwise X lies in the last group, which a crash may have torn.
enum TailState: Equatable {
    /// The segment ends with a valid footer at this offset.
    case sealed(footerEnd: Int64)
    /// Frames end at this offset and only zero bytes follow.
    case clean(end: Int64)
    /// A torn write: everything from `cut` to `garbageEnd` is an incomplete last group.
    case torn(cut: Int64, garbageEnd: Int64, reason: String)
    /// Damage that a crash cannot explain.
    case corrupt(offset: Int64, reason: String)

    /// Classifies the end of the last segment from its analysis.
    static func classify(
        _ scanner: inout SegmentScanner, analysis: SegmentAnalysis
    ) throws(FileSystemError) -> TailState {
        let reason: String
        switch analysis.stop {
        case .sealed(let footerEnd):
            return .sealed(footerEnd: footerEnd)
        case .invalid(let at, let why, structural: true):
            return .corrupt(offset: at, reason: why)
        case .invalid(_, let why, structural: false):
            reason = why
        case .end:
            reason = "incomplete frames after the last complete one"
        }
        let cut = analysis.entriesEnd
        var position = cut + Int64(SegmentFormat.alignment)
        var commitAt: Int64?
        // The end of the non-zero bytes after the cut, found while looking for frames: the window scan
        // covers the tail, this first read covers a tail too short for the window scan.
        var garbageEnd = try scanner.withBytes(at: cut, count: 2 * SegmentFormat.frameHeaderSize) { raw in
            raw.lastIndex { $0 != 0 }.map { cut + Int64($0) + 1 } ?? cut
        }
        while let (offset, header) = try scanner.nextValidFrame(from: position, nonZeroEnd: &garbageEnd) {
            garbageEnd = max(garbageEnd, offset + Int64(header.frameSize))
            if let commitAt {
                return .corrupt(
                    offset: cut,
                    reason: "\(reason); the valid commit frame at byte \(commitAt) and the frame at byte \(offset) "
                        + "after it show that this data had been made durable")
            }
            if header.kind == .commit { commitAt = offset }
            position = offset + Int64(header.frameSize)
        }
        if garbageEnd <= cut { return .clean(end: cut) }
        return .torn(cut: cut, garbageEnd: garbageEnd, reason: reason)
    }
}
