/// One finding of ``LogVerifier``: where (segment, byte, index) and what.
public struct LogProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        /// Damage that a crash cannot explain. Opening the log fails until an operator acts.
        case corruption
        /// An incomplete last write; the next open truncates it (keeping a copy).
        case tornTail = "torn-tail"
        /// A segment left over from an interrupted purge; the next open removes it.
        case leftover
    }

    public var severity: Severity
    /// The segment file name.
    public var segment: String
    /// Byte offset of the problem within the segment.
    public var offset: Int64
    /// The index of the entry that should be at `offset`, if known.
    public var index: UInt64?
    /// What is wrong.
    public var reason: String

    public init(severity: Severity, segment: String, offset: Int64, index: UInt64?, reason: String) {
        self.severity = severity
        self.segment = segment
        self.offset = offset
        self.index = index
        self.reason = reason
    }

    public var description: String {
        let at = index.map { "at byte \(offset) (index \($0))" } ?? "at byte \(offset)"
        return "segment \(segment): \(reason) \(at)"
    }
}

/// What one segment holds, as `helios operator log inspect` prints it.
public struct SegmentSummary: Sendable, Equatable {
    public var name: String
    public var firstIndex: UInt64
    /// `firstIndex - 1` when the segment holds no entries.
    public var lastIndex: UInt64
    public var entryCount: Int
    public var fileSize: Int64
    public var firstTerm: UInt64?
    public var lastTerm: UInt64?
    public var sealed: Bool
    public var sequence: UInt64
    public var isBase: Bool
}

/// The result of ``LogVerifier/verify(stopAtFirstCorruption:progress:)``.
public struct LogVerification: Sendable {
    /// Every segment that could be read, in index order.
    public var segments: [SegmentSummary] = []
    /// Every finding, in file order.
    public var problems: [LogProblem] = []
    /// Entries whose frames passed every check.
    public var entryCount = 0
    /// Bytes read.
    public var bytesChecked: Int64 = 0

    /// The first corruption, if any.
    public var firstCorruption: LogProblem? { problems.first { $0.severity == .corruption } }
    /// True when nothing is corrupt (a torn tail or leftover is repaired by the next open).
    public var isClean: Bool { firstCorruption == nil }
}

/// Lists the segment files of a directory in index order.
enum SegmentDirectory {
    static func list(_ directory: String, fileSystem: any FileSystem) throws(LogError) -> [(name: String, firstIndex: UInt64)] {
        let names: [String]
        do {
            names = try fileSystem.contentsOfDirectory(directory)
        } catch {
            throw LogError.io(error, while: "listing log directory \(directory)")
        }
        return names.compactMap { name in SegmentFileName.parse(name).map { (name, $0) } }.sorted { $0.1 < $1.1 }
    }
}
