/// The result of reading a whole segment frame by frame and checking its structure.
struct SegmentAnalysis {
    /// File offsets of the valid entry frames, in index order.
    var offsets: [UInt32] = []
    /// Terms of the valid entries.
    var termRuns = TermRuns()
    /// End offset of the last valid entry or commit frame (the header size if there are none).
    var entriesEnd: Int64 = Int64(SegmentFormat.headerSize)
    /// Whether the last valid frame before ``entriesEnd`` is a commit frame (or there are no frames).
    var endsWithCommit = true
    /// The footer, when the segment is sealed and its index block agrees with its entries.
    var footer: SegmentFooter?
    /// Where and why reading stopped.
    var stop: Stop = .end(at: Int64(SegmentFormat.headerSize))

    enum Stop: Equatable {
        /// The data ended cleanly (end of file or zero bytes) at this offset.
        case end(at: Int64)
        /// A valid footer ends the segment at this offset.
        case sealed(footerEnd: Int64)
        /// The frame at this offset is not valid. `structural` is true when its checksum is fine but
        /// it breaks a rule of the format: such bytes were written as they are, so they are never a
        /// torn write.
        case invalid(at: Int64, reason: String, structural: Bool)
    }

    /// Reads every frame of the segment from just after the header.
    ///
    /// - Parameters:
    ///   - previousTerm: the term of the entry before this segment (0 if unknown), for the term rule.
    ///   - visit: called for each valid frame with its header, offset and payload.
    static func analyze(
        _ scanner: inout SegmentScanner, header: SegmentHeader,
        visit: ((FrameHeader, Int64, UnsafeRawBufferPointer) -> Void)? = nil
    ) throws(FileSystemError) -> SegmentAnalysis {
        var result = SegmentAnalysis()
        var offset = Int64(SegmentFormat.headerSize)
        var indexFrameOffset: Int64?
        while true {
            var decodedIndex: SegmentIndexBlock?
            var decodedFooter: SegmentFooter?
            let step = try scanner.step(at: offset) { frame, payload in
                visit?(frame, offset, payload)
                switch frame.kind {
                case .index: decodedIndex = SegmentIndexBlock.decode(payload)
                case .footer: decodedFooter = SegmentFooter.decode(payload: payload, header: frame)
                default: break
                }
            }
            let frame: FrameHeader
            switch step {
            case .end:
                result.stop = .end(at: offset)
                return result
            case .invalid(let problem):
                result.stop = .invalid(at: offset, reason: problem.description, structural: false)
                return result
            case .frame(let valid):
                frame = valid
            }
            let lastIndex = header.firstIndex + UInt64(result.offsets.count) - 1
            if let problem = result.structuralProblem(frame, lastIndex: lastIndex, afterIndexBlock: indexFrameOffset != nil) {
                result.stop = .invalid(at: offset, reason: problem, structural: true)
                return result
            }
            switch frame.kind {
            case .entry:
                result.offsets.append(UInt32(offset))
                result.termRuns.record(index: frame.index, term: frame.term)
                result.entriesEnd = offset + Int64(frame.frameSize)
                result.endsWithCommit = false
            case .commit:
                result.entriesEnd = offset + Int64(frame.frameSize)
                result.endsWithCommit = true
            case .index:
                guard let block = decodedIndex, block.offsets == result.offsets, block.termRuns == result.termRuns else {
                    result.stop = .invalid(at: offset, reason: "index block does not match the entries before it", structural: true)
                    return result
                }
                indexFrameOffset = offset
            case .footer:
                guard let indexFrameOffset, let footer = decodedFooter,
                    footer.indexFrameOffset == UInt64(indexFrameOffset),
                    footer.firstIndex == header.firstIndex,
                    footer.entryCount == UInt64(result.offsets.count)
                else {
                    result.stop = .invalid(at: offset, reason: "footer does not match the segment", structural: true)
                    return result
                }
                result.footer = footer
                result.stop = .sealed(footerEnd: offset + Int64(frame.frameSize))
                return result
            case nil:
                result.stop = .invalid(at: offset, reason: "unknown frame kind \(frame.kindByte)", structural: true)
                return result
            }
            offset += Int64(frame.frameSize)
        }
    }

    /// Why a frame whose checksum is fine still does not belong where it is, or nil if it does.
    private func structuralProblem(_ frame: FrameHeader, lastIndex: UInt64, afterIndexBlock: Bool) -> String? {
        let lastTerm = termRuns.lastTerm
        switch frame.kind {
        case .entry:
            if afterIndexBlock { return "entry frame after the index block" }
            if frame.index != lastIndex &+ 1 {
                return "entry has index \(frame.index) where \(lastIndex &+ 1) was expected"
            }
            if let lastTerm, frame.term < lastTerm {
                return "entry \(frame.index) has term \(frame.term), lower than the term \(lastTerm) before it"
            }
        case .commit:
            if afterIndexBlock { return "commit frame after the index block" }
            if frame.index != lastIndex || (lastTerm != nil && frame.term != lastTerm) {
                return "commit frame names index \(frame.index) term \(frame.term), but the last entry is "
                    + "\(lastIndex) term \(lastTerm.map(String.init) ?? "none")"
            }
        case .index:
            if afterIndexBlock { return "second index block" }
            if offsets.isEmpty { return "index block in a segment without entries" }
        case .footer:
            if !afterIndexBlock { return "footer without an index block before it" }
        case nil:
            return "unknown frame kind \(frame.kindByte)"
        }
        return nil
    }
}
