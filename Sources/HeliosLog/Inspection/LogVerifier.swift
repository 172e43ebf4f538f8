/// Reads a log directory without changing it and checks every byte: headers, the segment chain,
/// every frame checksum, index blocks, footers and index continuity.
///
/// Safe to run while no process has the log open; it never writes.
public struct LogVerifier: Sendable {
    public let directory: String
    public let fileSystem: any FileSystem

    public init(directory: String, fileSystem: any FileSystem = PosixFileSystem()) {
        self.directory = directory
        self.fileSystem = fileSystem
    }

    /// Checks the whole log.
    ///
    /// - Parameters:
    ///   - stopAtFirstCorruption: return as soon as one corruption is found.
    ///   - progress: called with the bytes checked so far after each segment.
    public func verify(
        stopAtFirstCorruption: Bool = false, progress: ((Int64) -> Void)? = nil
    ) throws(LogError) -> LogVerification {
        var report = LogVerification()
        let segments = try SegmentDirectory.list(directory, fileSystem: fileSystem)
        var headers: [SegmentHeader?] = []
        for segment in segments {
            headers.append(try? readHeader(segment.name).get())
        }
        let base = headers.lastIndex { $0?.isBase == true } ?? 0
        var previous: (name: String, header: SegmentHeader, lastIndex: UInt64, damaged: Bool)?
        for (position, segment) in segments.enumerated() {
            if stopAtFirstCorruption && !report.isClean { break }
            if position < base {
                report.problems.append(LogProblem(
                    severity: .leftover, segment: segment.name, offset: 0, index: nil,
                    reason: "segment precedes the base segment \(segments[base].name): left over from an interrupted purge"))
                continue
            }
            let isLast = position == segments.count - 1
            let header: SegmentHeader
            switch try readHeader(segment.name) {
            case .failure(let problem):
                report.problems.append(problem)
                previous = nil
                continue
            case .success(let decoded):
                header = decoded
            }
            if header.firstIndex != segment.firstIndex {
                report.problems.append(LogProblem(
                    severity: .corruption, segment: segment.name, offset: 16, index: nil,
                    reason: "header says the first index is \(header.firstIndex), the file name says \(segment.firstIndex)"))
            }
            if let previous {
                if header.previousSalt != previous.header.salt || header.sequence <= previous.header.sequence {
                    report.problems.append(LogProblem(
                        severity: .corruption, segment: segment.name, offset: 32, index: nil,
                        reason: "segment does not follow \(previous.name) in the chain (previous-salt "
                            + "\(hex(header.previousSalt)), expected \(hex(previous.header.salt)))"))
                }
                // After a damaged segment its true last index is unknown; do not report a second problem.
                if !previous.damaged && header.firstIndex != previous.lastIndex + 1 {
                    report.problems.append(LogProblem(
                        severity: .corruption, segment: segment.name, offset: 16, index: header.firstIndex,
                        reason: "segment starts at index \(header.firstIndex) but \(previous.name) ends at \(previous.lastIndex)"))
                }
            }
            let problemsBefore = report.problems.count
            let summary = try check(segment.name, header: header, isLast: isLast, into: &report)
            report.segments.append(summary)
            report.bytesChecked += summary.fileSize
            report.entryCount += summary.entryCount
            progress?(report.bytesChecked)
            let damaged = report.problems[problemsBefore...].contains { $0.severity == .corruption }
            previous = (segment.name, header, summary.lastIndex, damaged)
        }
        return report
    }

    private func readHeader(_ name: String) throws(LogError) -> Result<SegmentHeader, LogProblem> {
        let bytes: [UInt8]
        do {
            let file = try fileSystem.openFile(directory + "/" + name, create: false, readOnly: true)
            bytes = try file.readUpTo(SegmentFormat.headerSize, at: 0)
        } catch {
            throw LogError.io(error, while: "reading segment \(name)")
        }
        return SegmentHeader.decode(bytes).mapError { problem in
            LogProblem(severity: .corruption, segment: name, offset: 0, index: nil, reason: problem.description)
        }
    }

    /// Scans one segment completely and records its problems.
    private func check(
        _ name: String, header: SegmentHeader, isLast: Bool, into report: inout LogVerification
    ) throws(LogError) -> SegmentSummary {
        let path = directory + "/" + name
        do {
            let file = try fileSystem.openFile(path, create: false, readOnly: true)
            let size = try file.size()
            var scanner = SegmentScanner(file: file, fileSize: size, salt: header.salt)
            let analysis = try SegmentAnalysis.analyze(&scanner, header: header)
            let nextIndex = header.firstIndex + UInt64(analysis.offsets.count)
            var sealed = false
            if isLast {
                switch try TailState.classify(&scanner, analysis: analysis) {
                case .sealed(let footerEnd):
                    sealed = true
                    if footerEnd != size {
                        report.problems.append(LogProblem(
                            severity: .tornTail, segment: name, offset: footerEnd, index: nil,
                            reason: "\(size - footerEnd) bytes follow the footer of the last segment (trimmed on next open)"))
                    }
                case .clean:
                    break
                case .torn(let cut, let garbageEnd, let reason):
                    report.problems.append(LogProblem(
                        severity: .tornTail, segment: name, offset: cut, index: nextIndex,
                        reason: "torn write of \(garbageEnd - cut) bytes (\(reason)); the next open truncates it and keeps a copy"))
                case .corrupt(let offset, let reason):
                    report.problems.append(LogProblem(
                        severity: .corruption, segment: name, offset: offset, index: nextIndex, reason: reason))
                }
            } else {
                switch analysis.stop {
                case .sealed(let footerEnd) where footerEnd == size:
                    sealed = true
                case .sealed(let footerEnd):
                    sealed = true
                    report.problems.append(LogProblem(
                        severity: .corruption, segment: name, offset: footerEnd, index: nil,
                        reason: "\(size - footerEnd) bytes follow the footer, so the footer cannot be found at the end of the file"))
                case .end(let at):
                    report.problems.append(LogProblem(
                        severity: .corruption, segment: name, offset: at, index: nextIndex,
                        reason: "segment is not the last one but ends without an index block and footer"))
                case .invalid(let at, let reason, _):
                    report.problems.append(LogProblem(
                        severity: .corruption, segment: name, offset: at, index: nextIndex, reason: reason))
                }
            }
            return SegmentSummary(
                name: name, firstIndex: header.firstIndex, lastIndex: nextIndex - 1, entryCount: analysis.offsets.count,
                fileSize: size, firstTerm: analysis.termRuns.terms.first, lastTerm: analysis.termRuns.lastTerm,
                sealed: sealed, sequence: header.sequence, isBase: header.isBase)
        } catch {
            throw LogError.io(error, while: "verifying segment \(name)")
        }
    }
}
