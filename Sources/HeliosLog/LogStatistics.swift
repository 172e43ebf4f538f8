/// Counters of a ``SegmentedLog``'s writes since it was opened.
public struct LogStatistics: Sendable, Equatable {
    /// Groups written, each made durable by one `fdatasync` (plus one per segment roll).
    public var groups = 0
    /// Append calls that succeeded.
    public var appends = 0
    /// Entries written.
    public var entries = 0
    /// Bytes written in groups (frames and commit frames; seals excluded).
    public var bytes = 0

    public init(groups: Int = 0, appends: Int = 0, entries: Int = 0, bytes: Int = 0) {
        self.groups = groups
        self.appends = appends
        self.entries = entries
        self.bytes = bytes
    }

    /// Average append calls made durable per group: how well concurrent appends were combined.
    public var appendsPerGroup: Double { groups == 0 ? 0 : Double(appends) / Double(groups) }
}
