/// Work handed to the log's writer thread. Each carries the callback that reports its outcome.
enum WriteRequest: Sendable {
    /// Append entries with caller-chosen indexes (they must continue the log).
    case append([LogEntry], @Sendable (Result<Void, LogError>) -> Void)
    /// Append payloads at the next free indexes with one term and type; reports the indexes used.
    case appendNext(term: UInt64, type: UInt8, payloads: [[UInt8]], @Sendable (Result<ClosedRange<UInt64>, LogError>) -> Void)
    /// Remove every entry after the index.
    case truncateSuffix(after: UInt64, @Sendable (Result<Void, LogError>) -> Void)
    /// Remove whole segments whose entries are all at or below the index.
    case purgePrefix(through: UInt64, @Sendable (Result<Void, LogError>) -> Void)

    /// Reports `error` to the requester.
    func fail(_ error: LogError) {
        switch self {
        case .append(_, let done): done(.failure(error))
        case .appendNext(_, _, _, let done): done(.failure(error))
        case .truncateSuffix(_, let done): done(.failure(error))
        case .purgePrefix(_, let done): done(.failure(error))
        }
    }

    var isAppend: Bool {
        switch self {
        case .append, .appendNext: true
        case .truncateSuffix, .purgePrefix: false
        }
    }
}
