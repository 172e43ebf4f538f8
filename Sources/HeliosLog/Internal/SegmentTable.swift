/// A sealed segment: immutable on disk, its entry offsets loaded on first use.
struct SealedSegment {
    let name: String
    let file: any File
    let header: SegmentHeader
    let footer: SegmentFooter
    /// Byte size of the file.
    let fileSize: Int64
    /// Offsets and term runs, read from the index block on first access.
    var index: SegmentIndexBlock?

    var firstIndex: UInt64 { header.firstIndex }
    var lastIndex: UInt64 { footer.lastIndex }
    /// End of the last entry frame: where the index block starts.
    var entriesEnd: Int64 { Int64(footer.indexFrameOffset) }
}

/// The segment being appended to. Always the last one.
struct OpenSegment {
    let name: String
    let file: any File
    let header: SegmentHeader
    /// Offsets of the durable entry frames.
    var offsets: [UInt32]
    var termRuns: TermRuns
    /// End of the last durable entry frame: where the next frame is written.
    var entriesEnd: Int64
    /// Bytes reserved on disk (preallocation), at least `entriesEnd`.
    var allocatedSize: Int64

    var firstIndex: UInt64 { header.firstIndex }
    var lastIndex: UInt64 { firstIndex + UInt64(offsets.count) - 1 }
    var isEmpty: Bool { offsets.isEmpty }
}

/// Where one entry lives: the file, the frame's byte range, and the segment name for messages.
struct EntryLocation {
    let file: any File
    let segment: String
    let salt: UInt64
    let start: Int64
    let end: Int64
}
