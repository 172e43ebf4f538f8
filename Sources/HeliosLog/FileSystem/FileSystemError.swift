import Glibc

/// A failed file-system operation: which call, on which path, and the `errno` it returned.
public struct FileSystemError: Error, Sendable, CustomStringConvertible {
    /// The operation, e.g. `fdatasync` or `rename`.
    public var operation: String
    /// The path it was applied to.
    public var path: String
    /// The `errno` value (0 for failures detected without a system call, such as a short read).
    public var errno: Int32
    /// Extra detail (for short reads and writes).
    public var detail: String?

    public init(operation: String, path: String, errno: Int32, detail: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        var text = "\(operation) \(path) failed"
        if errno != 0 {
            text += ": \(String(cString: strerror(errno))) (errno \(errno))"
        }
        if let detail { text += ": \(detail)" }
        if errno == ENOSPC { text += "; free disk space on this volume and retry" }
        if errno == EACCES || errno == EPERM { text += "; check the permissions of this path" }
        return text
    }
}
