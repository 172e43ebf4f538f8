/// An error from the segmented log.
///
/// Every message names the object (directory, segment file), the offending value and what to do next.
/// Callers branch on ``code``; people read ``description``.
public struct LogError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case corruption, io, indexOutOfOrder, termRegression, indexUnavailable, entryTooLarge
            case invalidArgument, locked, unsupportedFormat, closed, failed
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// Bytes on disk fail a checksum or a structural rule: the log cannot be trusted past this point.
        public static let corruption = Code(.corruption)
        /// The operating system refused an operation (open, write, fdatasync, rename ...).
        public static let io = Code(.io)
        /// An append does not continue the log (a gap or an overlap in indexes).
        public static let indexOutOfOrder = Code(.indexOutOfOrder)
        /// An append carries a term lower than the entry before it.
        public static let termRegression = Code(.termRegression)
        /// The index was purged, truncated, or has not been written yet.
        public static let indexUnavailable = Code(.indexUnavailable)
        /// A payload exceeds the configured maximum entry size.
        public static let entryTooLarge = Code(.entryTooLarge)
        /// An argument is outside what the operation accepts.
        public static let invalidArgument = Code(.invalidArgument)
        /// Another process holds the log directory's lock file.
        public static let locked = Code(.locked)
        /// The files were written by an unknown format version.
        public static let unsupportedFormat = Code(.unsupportedFormat)
        /// The log was closed.
        public static let closed = Code(.closed)
        /// An earlier write or fdatasync failed; the log refuses further writes until it is reopened.
        public static let failed = Code(.failed)

        public var description: String {
            switch wrapped {
            case .corruption: "corruption"
            case .io: "io"
            case .indexOutOfOrder: "index out of order"
            case .termRegression: "term regression"
            case .indexUnavailable: "index unavailable"
            case .entryTooLarge: "entry too large"
            case .invalidArgument: "invalid argument"
            case .locked: "locked"
            case .unsupportedFormat: "unsupported format"
            case .closed: "closed"
            case .failed: "failed"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// The full human-readable message: object, bad value, remedy.
    public var message: String
    /// The segment file involved, if any (file name only).
    public var segment: String?
    /// The byte offset in ``segment`` where the problem is, if known.
    public var byteOffset: Int64?
    /// The log index involved, if known.
    public var index: UInt64?
    /// The `errno` of a failed system call, if any.
    public var errno: Int32?

    public init(
        code: Code, message: String, segment: String? = nil, byteOffset: Int64? = nil,
        index: UInt64? = nil, errno: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.segment = segment
        self.byteOffset = byteOffset
        self.index = index
        self.errno = errno
    }

    public var description: String { message }
}

extension LogError {
    /// The advice appended to every corruption message.
    static func corruptionAdvice(directory: String) -> String {
        "run 'helios operator log verify --data-dir \(directory)' to list every damaged record and "
            + "'helios operator log dump --raw --data-dir \(directory)' to see the records around it; "
            + "to start anyway, open with recovery mode truncate-corrupt, which keeps everything before "
            + "the first bad record and sets the rest aside as *.dropped files"
    }

    /// A corruption error naming the segment, byte offset and (when known) index.
    static func corruption(
        directory: String, segment: String, offset: Int64, index: UInt64?, reason: String
    ) -> LogError {
        let at = index.map { "at byte \(offset) (index \($0))" } ?? "at byte \(offset)"
        return LogError(
            code: .corruption,
            message: "segment \(segment): \(reason) \(at); \(corruptionAdvice(directory: directory))",
            segment: segment, byteOffset: offset, index: index
        )
    }

    /// Wraps a file-system failure with what the log was doing.
    static func io(_ error: FileSystemError, while doing: String) -> LogError {
        LogError(
            code: .io,
            message: "\(doing): \(error.description)",
            segment: error.path.split(separator: "/").last.map(String.init),
            errno: error.errno
        )
    }
}
