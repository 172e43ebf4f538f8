import GRPCCore

/// A failed Helios call, classified so callers can react (``Code``) and worded so people can act
/// (``message`` names the object, the bad value and what to do).
public struct HeliosClientError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case unreachable, notFound, invalidArgument, conflict, unavailable, cancelled, server }
        private let value: Value

        /// No server could be reached at any of the addresses.
        public static let unreachable = Code(value: .unreachable)
        /// The job, allocation or node does not exist.
        public static let notFound = Code(value: .notFound)
        /// The request is malformed (a bad job spec, an unknown flag value ...).
        public static let invalidArgument = Code(value: .invalidArgument)
        /// The request conflicts with the current state (a stale expected version, an ambiguous prefix ...).
        public static let conflict = Code(value: .conflict)
        /// A server answered but could not serve the call now (no leader, a write did not commit); retried
        /// until the retry timeout ran out.
        public static let unavailable = Code(value: .unavailable)
        /// The caller cancelled the call.
        public static let cancelled = Code(value: .cancelled)
        /// Any other server-side failure.
        public static let server = Code(value: .server)

        public var description: String { value.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong and what to do about it.
    public var message: String
    /// The underlying gRPC error, if any.
    public var cause: RPCError?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: RPCError? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// Classifies a gRPC error from a server.
    init(_ error: RPCError, call: String) {
        let code: Code
        switch error.code {
        case .notFound: code = .notFound
        case .invalidArgument, .outOfRange: code = .invalidArgument
        case .failedPrecondition, .alreadyExists, .aborted: code = .conflict
        case .unavailable, .deadlineExceeded, .resourceExhausted: code = .unavailable
        case .cancelled: code = .cancelled
        default: code = .server
        }
        self.init(code, error.message.isEmpty ? "\(call): \(error.code)" : error.message, cause: error)
    }

    public var description: String { message }
}
