import Logging

/// How a ``SegmentedLog`` lays out, writes and recovers its files.
public struct LogConfiguration: Sendable {
    /// What to do with damaged records found while opening.
    public enum RecoveryMode: String, Sendable, CaseIterable {
        /// Truncate a torn record at the end of the last segment (keeping a copy of the removed bytes);
        /// fail on damage anywhere else. The default.
        case tolerateTornTail = "tolerate-torn-tail"
        /// Operator override: keep everything before the first bad record, set the rest aside as
        /// `*.dropped` files, and log exactly what was dropped.
        case truncateCorrupt = "truncate-corrupt"
    }

    /// A segment is sealed and a new one started once it would grow past this size (default 64 MiB).
    /// One entry larger than this gets a segment of its own.
    public var segmentSize: Int = 64 << 20
    /// Reserve `segmentSize` bytes on disk when a segment is created (fewer metadata updates per write).
    public var preallocate: Bool = true
    /// The largest payload accepted by ``SegmentedLog/append(_:)`` (default 64 MiB).
    public var maximumEntrySize: Int = 64 << 20
    /// Recovery behaviour on open.
    public var recoveryMode: RecoveryMode = .tolerateTornTail
    /// The index of the first entry of a brand-new log.
    public var initialIndex: UInt64 = 1
    /// Take the directory's lock file so that no other process writes the same log.
    public var lockDirectory: Bool = true
    /// The file system (real by default; tests inject faults here).
    public var fileSystem: any FileSystem = PosixFileSystem()
    /// Source of segment salts. Must return non-zero values; tests inject a fixed sequence for golden files.
    public var saltGenerator: @Sendable () -> UInt64 = { UInt64.random(in: 1...UInt64.max) }
    /// Where warnings (torn tails, dropped segments) go.
    public var logger: Logger = Logger(label: "helios.log")

    public init() {}

    /// Checks the values; the message names the field and the accepted range.
    func validate() throws(LogError) {
        let minimumSegment = 4096
        let maximumSegment = 1 << 31
        guard segmentSize >= minimumSegment, segmentSize <= maximumSegment else {
            throw LogError(
                code: .invalidArgument,
                message: "segment size \(segmentSize) is out of range; use \(minimumSegment)...\(maximumSegment) bytes")
        }
        guard maximumEntrySize > 0, maximumEntrySize <= SegmentFormat.maximumPayloadLength else {
            throw LogError(
                code: .invalidArgument,
                message: "maximum entry size \(maximumEntrySize) is out of range; use 1...\(SegmentFormat.maximumPayloadLength) bytes")
        }
        guard initialIndex >= 1 else {
            throw LogError(code: .invalidArgument, message: "initial index must be at least 1, got 0")
        }
    }
}
