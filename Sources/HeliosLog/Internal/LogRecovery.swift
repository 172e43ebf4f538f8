import Logging

/// Opens the segments of a log directory and brings them to a consistent state.
///
/// Reads only the header and the 64-byte footer of each sealed segment, and scans only the last
/// segment, so opening costs the same for a 1 GiB log as for a 64 MiB one. See `Formats/segment.md`,
/// "Recovery", for the rules applied here.
struct LogRecovery {
    let directory: String
    let configuration: LogConfiguration
    var fileSystem: any FileSystem { configuration.fileSystem }
    var logger: Logger { configuration.logger }

    private struct Loaded {
        let name: String
        let file: any File
        let header: SegmentHeader
        let size: Int64
    }

    func recover() throws(LogError) -> LogCore.State {
        var names: [String]
        do {
            try fileSystem.createDirectory(directory)
            names = try fileSystem.contentsOfDirectory(directory)
        } catch {
            throw LogError.io(error, while: "opening log directory \(directory)")
        }
        for name in names where name.hasSuffix(SegmentFormat.fileSuffix + ".tmp") {
            // A segment whose creation did not finish: it was never part of the log.
            try io("removing unfinished segment \(name)") { () throws(FileSystemError) in
                try fileSystem.removeFile(path(name))
            }
        }
        var restartIndex: UInt64?
        if configuration.recoveryMode == .truncateCorrupt {
            restartIndex = try setAsideFromFirstCorruption()
            names = try io("listing \(directory)") { () throws(FileSystemError) in try fileSystem.contentsOfDirectory(directory) }
        }
        let segmentNames = names.compactMap { name in SegmentFileName.parse(name).map { (name, $0) } }
            .sorted { $0.1 < $1.1 }
        if segmentNames.isEmpty {
            let first = restartIndex ?? configuration.initialIndex
            let open = try io("creating the first segment") { () throws(FileSystemError) in
                try LogCore.createSegment(
                    in: directory, configuration: configuration, firstIndex: first, sequence: 1, previousSalt: 0,
                    isBase: true, previousTerm: 0)
            }
            return LogCore.State(sealed: [], open: open, nextSequence: 2)
        }

        var loaded: [Loaded] = []
        for (name, indexInName) in segmentNames {
            let segment = try load(name)
            guard segment.header.firstIndex == indexInName else {
                throw corruption(name, 16, nil, "header says the first index is \(segment.header.firstIndex), the file name says \(indexInName)")
            }
            loaded.append(segment)
        }
        try removeLeftoversOfInterruptedPurge(&loaded)
        for i in loaded.indices.dropFirst() {
            let previous = loaded[i - 1].header
            let current = loaded[i].header
            guard current.previousSalt == previous.salt, current.sequence > previous.sequence else {
                throw corruption(
                    loaded[i].name, 32, nil,
                    "segment does not follow \(loaded[i - 1].name) (its previous-salt is \(hex(current.previousSalt)), "
                        + "that segment's salt is \(hex(previous.salt))): a segment was copied in from another log or removed by hand")
            }
        }

        var sealed: [SealedSegment] = []
        for i in loaded.indices.dropLast() {
            let segment = try readFooter(of: loaded[i])
            let nextFirst = loaded[i + 1].header.firstIndex
            guard nextFirst == segment.lastIndex + 1 else {
                throw corruption(
                    loaded[i + 1].name, 16, nextFirst,
                    "segment starts at index \(nextFirst) but \(segment.name) ends at \(segment.lastIndex)")
            }
            sealed.append(segment)
        }

        let last = loaded[loaded.count - 1]
        let previousTerm = sealed.last?.footer.lastTerm ?? 0
        var (open, lastSealed) = try recoverLastSegment(last, previousTerm: previousTerm)
        var nextSequence = last.header.sequence + 1
        if let lastSealed {
            sealed.append(lastSealed)
            open = try io("creating a segment after \(lastSealed.name)") { () throws(FileSystemError) in
                try LogCore.createSegment(
                    in: directory, configuration: configuration, firstIndex: lastSealed.lastIndex + 1,
                    sequence: nextSequence, previousSalt: lastSealed.header.salt, isBase: false,
                    previousTerm: lastSealed.footer.lastTerm)
            }
            nextSequence += 1
        }
        return LogCore.State(sealed: sealed, open: open!, nextSequence: nextSequence)
    }

    // MARK: Steps

    private func load(_ name: String) throws(LogError) -> Loaded {
        let (file, size, bytes) = try io("opening segment \(name)") { () throws(FileSystemError) in
            let file = try fileSystem.openFile(path(name), create: false, readOnly: false)
            let size = try file.size()
            return (file, size, try file.readUpTo(SegmentFormat.headerSize, at: 0))
        }
        switch SegmentHeader.decode(bytes) {
        case .success(let header):
            return Loaded(name: name, file: file, header: header, size: size)
        case .failure(let problem):
            if case .unsupportedVersion = problem {
                throw LogError(
                    code: .unsupportedFormat, message: "segment \(name) in \(directory): \(problem)", segment: name,
                    byteOffset: 8)
            }
            throw corruption(name, 0, nil, problem.description)
        }
    }

    /// Segments before the newest base segment belong to a purge that a crash interrupted: finish it.
    private func removeLeftoversOfInterruptedPurge(_ loaded: inout [Loaded]) throws(LogError) {
        guard let base = loaded.lastIndex(where: { $0.header.isBase }), base > 0 else { return }
        for segment in loaded[0..<base] {
            logger.warning(
                "removing segment left over from an interrupted purge",
                metadata: ["directory": "\(directory)", "segment": "\(segment.name)"])
            try io("removing leftover segment \(segment.name)") { () throws(FileSystemError) in
                try fileSystem.removeFile(path(segment.name))
            }
        }
        try io("syncing \(directory)") { () throws(FileSystemError) in try fileSystem.synchronizeDirectory(directory) }
        loaded.removeFirst(base)
    }

    /// Reads and checks the footer of a segment that is not the last one.
    private func readFooter(of segment: Loaded) throws(LogError) -> SealedSegment {
        let offset = segment.size - Int64(SegmentFormat.footerFrameSize)
        guard offset >= Int64(SegmentFormat.headerSize) else {
            throw corruption(segment.name, max(0, offset), nil, "segment is not the last one but is too short to be sealed (\(segment.size) bytes)")
        }
        let bytes = try io("reading the footer of \(segment.name)") { () throws(FileSystemError) in
            try segment.file.readExactly(SegmentFormat.footerFrameSize, at: offset)
        }
        let footer: SegmentFooter? = bytes.withUnsafeBytes { raw in
            guard case .success(let frame) = FrameCodec.validate(raw, at: 0, salt: segment.header.salt) else { return nil }
            return SegmentFooter.decode(
                payload: UnsafeRawBufferPointer(rebasing: raw[SegmentFormat.frameHeaderSize...]), header: frame)
        }
        guard let footer, footer.firstIndex == segment.header.firstIndex,
            footer.indexFrameOffset >= UInt64(SegmentFormat.headerSize), footer.indexFrameOffset < UInt64(offset)
        else {
            throw corruption(segment.name, offset, nil, "segment is not the last one but has no valid footer")
        }
        return SealedSegment(
            name: segment.name, file: segment.file, header: segment.header, footer: footer, fileSize: segment.size,
            index: nil)
    }

    /// Scans the last segment and repairs a torn tail. Returns the open segment, or the segment as a
    /// sealed one if a crash came between sealing it and creating its successor.
    private func recoverLastSegment(
        _ last: Loaded, previousTerm: UInt64
    ) throws(LogError) -> (OpenSegment?, SealedSegment?) {
        var scanner = SegmentScanner(file: last.file, fileSize: last.size, salt: last.header.salt)
        let (analysis, tail) = try io("scanning segment \(last.name)") { () throws(FileSystemError) in
            let analysis = try SegmentAnalysis.analyze(&scanner, header: last.header)
            return (analysis, try TailState.classify(&scanner, analysis: analysis))
        }
        let lastIndex = last.header.firstIndex + UInt64(analysis.offsets.count) - 1
        let lastTerm = analysis.termRuns.lastTerm ?? previousTerm
        var entriesEnd = analysis.entriesEnd
        var endsWithCommit = analysis.endsWithCommit
        switch tail {
        case .sealed(let footerEnd):
            if footerEnd < last.size {
                // The seal's shrink of a preallocated file did not reach the disk before a crash.
                try io("trimming sealed segment \(last.name)") { () throws(FileSystemError) in
                    try last.file.truncate(to: footerEnd)
                    try last.file.synchronize()
                }
            }
            let footer = analysis.footer!
            return (nil, SealedSegment(
                name: last.name, file: last.file, header: last.header, footer: footer, fileSize: footerEnd,
                index: SegmentIndexBlock(offsets: analysis.offsets, termRuns: analysis.termRuns)))
        case .corrupt(let offset, let reason):
            throw corruption(last.name, offset, lastIndex + 1, reason)
        case .torn(let cut, let garbageEnd, let reason):
            try setAsideTornTail(last, cut: cut, garbageEnd: garbageEnd, reason: reason, nextIndex: lastIndex + 1)
            endsWithCommit = false
        case .clean:
            break
        }
        var allocated = last.size
        if !endsWithCommit {
            // Close the recovered tail with a commit frame, so that the next group starts cleanly.
            var commit: [UInt8] = []
            FrameCodec.appendCommit(to: &commit, salt: last.header.salt, lastIndex: lastIndex, lastTerm: lastTerm)
            try io("closing the recovered tail of \(last.name)") { () throws(FileSystemError) in
                try last.file.write(commit, at: entriesEnd)
                try last.file.synchronize()
            }
            entriesEnd += Int64(commit.count)
            allocated = max(allocated, entriesEnd)
        }
        return (OpenSegment(
            name: last.name, file: last.file, header: last.header, offsets: analysis.offsets,
            termRuns: analysis.termRuns, entriesEnd: entriesEnd, allocatedSize: allocated), nil)
    }

    /// Copies the bytes of a torn write to `<segment>.torn-<offset>`, then cuts them off the segment.
    private func setAsideTornTail(
        _ segment: Loaded, cut: Int64, garbageEnd: Int64, reason: String, nextIndex: UInt64
    ) throws(LogError) {
        let copyName = "\(segment.name).torn-\(cut)"
        try io("setting aside the torn tail of \(segment.name)") { () throws(FileSystemError) in
            let bytes = try segment.file.readExactly(Int(garbageEnd - cut), at: cut)
            let copy = try fileSystem.openFile(path(copyName), create: true, readOnly: false)
            try copy.truncate(to: 0)
            try copy.write(bytes, at: 0)
            try copy.synchronize()
            try fileSystem.synchronizeDirectory(directory)
            try segment.file.truncate(to: cut)
            try segment.file.synchronize()
            if configuration.preallocate { try segment.file.preallocate(to: Int64(configuration.segmentSize)) }
        }
        logger.warning(
            "truncated a torn write at the end of the log",
            metadata: [
                "directory": "\(directory)", "segment": "\(segment.name)", "offset": "\(cut)",
                "index": "\(nextIndex)", "removedBytes": "\(garbageEnd - cut)", "copy": "\(copyName)",
                "reason": "\(reason)",
            ])
    }

    /// Operator mode: keep everything before the first corrupt record, set the rest aside.
    ///
    /// - Returns: the index the log must restart at when no segment is left, else nil.
    private func setAsideFromFirstCorruption() throws(LogError) -> UInt64? {
        let report = try LogVerifier(directory: directory, fileSystem: fileSystem).verify(stopAtFirstCorruption: true)
        guard let problem = report.problems.first(where: { $0.severity == .corruption }) else { return nil }
        let names = try io("listing \(directory)") { () throws(FileSystemError) in try fileSystem.contentsOfDirectory(directory) }
        let segments = names.compactMap { name in SegmentFileName.parse(name).map { (name, $0) } }.sorted { $0.1 < $1.1 }
        for (name, first) in segments where first > (SegmentFileName.parse(problem.segment) ?? 0) {
            try setAside(name, reason: "follows the corrupt record at \(problem.segment) byte \(problem.offset)", firstIndex: first)
        }
        if problem.offset < Int64(SegmentFormat.headerSize) {
            let first = SegmentFileName.parse(problem.segment) ?? configuration.initialIndex
            try setAside(problem.segment, reason: problem.reason, firstIndex: first)
            return segments.first?.0 == problem.segment ? first : nil
        }
        try io("cutting \(problem.segment) at byte \(problem.offset)") { () throws(FileSystemError) in
            let file = try fileSystem.openFile(path(problem.segment), create: false, readOnly: false)
            let size = try file.size()
            let bytes = try file.readExactly(Int(size - problem.offset), at: problem.offset)
            let copy = try fileSystem.openFile(path("\(problem.segment).dropped-\(problem.offset)"), create: true, readOnly: false)
            try copy.truncate(to: 0)
            try copy.write(bytes, at: 0)
            try copy.synchronize()
            try fileSystem.synchronizeDirectory(directory)
            try file.truncate(to: problem.offset)
            try file.synchronize()
        }
        logger.error(
            "recovery mode truncate-corrupt: dropped every entry from the first corrupt record on",
            metadata: [
                "directory": "\(directory)", "segment": "\(problem.segment)", "offset": "\(problem.offset)",
                "firstDroppedIndex": "\(problem.index.map(String.init) ?? "unknown")", "reason": "\(problem.reason)",
                "copy": "\(problem.segment).dropped-\(problem.offset)",
            ])
        return nil
    }

    private func setAside(_ name: String, reason: String, firstIndex: UInt64) throws(LogError) {
        try io("setting aside \(name)") { () throws(FileSystemError) in
            try fileSystem.rename(path(name), to: path(name + ".dropped"))
            try fileSystem.synchronizeDirectory(directory)
        }
        logger.error(
            "recovery mode truncate-corrupt: set aside a whole segment",
            metadata: ["directory": "\(directory)", "segment": "\(name)", "firstIndex": "\(firstIndex)", "reason": "\(reason)", "copy": "\(name).dropped"])
    }

    // MARK: Helpers

    private func path(_ name: String) -> String { directory + "/" + name }

    private func corruption(_ segment: String, _ offset: Int64, _ index: UInt64?, _ reason: String) -> LogError {
        LogError.corruption(directory: directory, segment: segment, offset: offset, index: index, reason: reason)
    }

    private func io<R>(_ doing: String, _ body: () throws(FileSystemError) -> R) throws(LogError) -> R {
        do {
            return try body()
        } catch {
            throw LogError.io(error, while: "\(doing) in \(directory)")
        }
    }
}
