/// Where a snapshot sits in the log and which configuration it carries.
public struct SnapshotMetadata: Sendable, Hashable, CustomStringConvertible {
    /// The last index the snapshot includes.
    public var index: UInt64
    /// The term of that entry.
    public var term: UInt64
    /// The membership as of `index`.
    public var configuration: ConfigurationState

    public init(index: UInt64 = 0, term: UInt64 = 0, configuration: ConfigurationState = ConfigurationState()) {
        self.index = index
        self.term = term
        self.configuration = configuration
    }

    public var description: String { "snapshot \(index)@\(term) \(configuration)" }
}

/// A state-machine snapshot: metadata plus the application's opaque bytes.
public struct Snapshot: Sendable, Hashable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata = SnapshotMetadata(), data: [UInt8] = []) {
        self.metadata = metadata
        self.data = data
    }

    public var isEmpty: Bool { metadata.index == 0 }
}
