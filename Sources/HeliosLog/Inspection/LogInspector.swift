/// Summarises a log directory cheaply: header, footer and index block of each sealed segment, a
/// scan of the last one. For a full check of every byte use ``LogVerifier``.
public struct LogInspector: Sendable {
    public let directory: String
    public let fileSystem: any FileSystem

    public init(directory: String, fileSystem: any FileSystem = PosixFileSystem()) {
        self.directory = directory
        self.fileSystem = fileSystem
    }

    /// One summary per segment file, in index order. A segment that cannot be summarised is
    /// returned with ``SegmentSummary/problem`` set instead of failing the whole call.
    public func summaries() throws(LogError) -> [InspectedSegment] {
        let segments = try SegmentDirectory.list(directory, fileSystem: fileSystem)
        var result: [InspectedSegment] = []
        for (position, segment) in segments.enumerated() {
            result.append(try inspect(segment.name, firstIndex: segment.firstIndex, isLast: position == segments.count - 1))
        }
        return result
    }

    private func inspect(_ name: String, firstIndex: UInt64, isLast: Bool) throws(LogError) -> InspectedSegment {
        let path = directory + "/" + name
        do {
            let file = try fileSystem.openFile(path, create: false, readOnly: true)
            let size = try file.size()
            var summary = SegmentSummary(
                name: name, firstIndex: firstIndex, lastIndex: firstIndex - 1, entryCount: 0, fileSize: size,
                firstTerm: nil, lastTerm: nil, sealed: false, sequence: 0, isBase: false)
            let header: SegmentHeader
            switch SegmentHeader.decode(try file.readUpTo(SegmentFormat.headerSize, at: 0)) {
            case .failure(let problem):
                return InspectedSegment(summary: summary, problem: "header: \(problem)")
            case .success(let decoded):
                header = decoded
            }
            summary.sequence = header.sequence
            summary.isBase = header.isBase
            if !isLast, let sealed = try sealedSummary(file: file, header: header, size: size, name: name) {
                summary.lastIndex = sealed.footer.lastIndex
                summary.entryCount = Int(sealed.footer.entryCount)
                summary.sealed = true
                summary.lastTerm = sealed.footer.lastTerm
                summary.firstTerm = sealed.index?.termRuns.terms.first
                return InspectedSegment(summary: summary, problem: sealed.index == nil ? "index block is damaged" : nil)
            }
            var scanner = SegmentScanner(file: file, fileSize: size, salt: header.salt)
            let analysis = try SegmentAnalysis.analyze(&scanner, header: header)
            summary.entryCount = analysis.offsets.count
            summary.lastIndex = firstIndex + UInt64(analysis.offsets.count) - 1
            summary.firstTerm = analysis.termRuns.terms.first
            summary.lastTerm = analysis.termRuns.lastTerm
            var problem: String?
            switch analysis.stop {
            case .sealed: summary.sealed = true
            case .end: if !isLast { problem = "not the last segment, but has no footer" }
            case .invalid(let at, let reason, _): problem = "\(reason) at byte \(at)"
            }
            return InspectedSegment(summary: summary, problem: problem)
        } catch {
            throw LogError.io(error, while: "inspecting segment \(name)")
        }
    }

    private func sealedSummary(file: any File, header: SegmentHeader, size: Int64, name: String) throws(FileSystemError) -> SealedSegment? {
        guard size >= Int64(SegmentFormat.headerSize + SegmentFormat.footerFrameSize) else { return nil }
        let bytes = try file.readExactly(SegmentFormat.footerFrameSize, at: size - Int64(SegmentFormat.footerFrameSize))
        let footer: SegmentFooter? = bytes.withUnsafeBytes { raw in
            guard case .success(let frame) = FrameCodec.validate(raw, at: 0, salt: header.salt) else { return nil }
            return SegmentFooter.decode(payload: UnsafeRawBufferPointer(rebasing: raw[SegmentFormat.frameHeaderSize...]), header: frame)
        }
        guard let footer, footer.indexFrameOffset < UInt64(size) else { return nil }
        var segment = SealedSegment(name: name, file: file, header: header, footer: footer, fileSize: size, index: nil)
        segment.index = try? LogCore.readIndexBlock(of: segment, directory: directory)
        return segment
    }
}

/// A segment as ``LogInspector`` sees it.
public struct InspectedSegment: Sendable {
    public var summary: SegmentSummary
    /// Why the segment could not be fully summarised, if it could not.
    public var problem: String?
}
