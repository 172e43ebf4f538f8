/// An LZ4 frame could not be produced or read.
public struct LZ4Error: Error, Sendable, CustomStringConvertible {
    /// liblz4's name for the error (e.g. `ERROR_frameType_unknown`), or a description of ours.
    public var reason: String
    /// What was being done.
    public var operation: String

    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "LZ4 \(operation) failed: \(reason)" }
}
