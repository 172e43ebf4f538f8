/// One record of the log: the Raft entry and the event-store record at once.
public struct LogEntry: Sendable, Equatable, Hashable {
    /// Position in the log, starting at the log's initial index (1) and increasing by one.
    public var index: UInt64
    /// The Raft term in which the entry was created. Never decreases along the log.
    public var term: UInt64
    /// What the payload is; opaque to the log (the layers above assign meanings).
    public var type: UInt8
    /// The payload bytes; opaque to the log.
    public var payload: [UInt8]

    public init(index: UInt64, term: UInt64, type: UInt8 = 0, payload: [UInt8]) {
        self.index = index
        self.term = term
        self.type = type
        self.payload = payload
    }
}
