import Glibc
import Synchronization

/// An exclusive `flock` on `<directory>/LOCK`, held while a log is open for writing.
///
/// The lock file holds the owner's pid, so the error names the process to stop. The kernel drops the
/// lock when the process dies, so a crash never leaves a stale lock behind.
final class DirectoryLock: Sendable {
    /// The lock file's name inside the directory.
    static let fileName = "LOCK"
    private let descriptor: Mutex<Int32?>
    let path: String

    /// Takes the lock or fails with a ``LogError/Code/locked`` error naming the holder.
    init(directory: String) throws(LogError) {
        path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw LogError.io(FileSystemError(operation: "open", path: path, errno: errno), while: "taking the directory lock")
        }
        // A lock this process released can still be held for a moment by a child forked in between
        // (it inherits the descriptor until its exec closes it): when the recorded holder is this
        // process, wait for the exec briefly instead of refusing.
        var attempts = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK && attempts < 100 && Self.holder(fd) == "\(getpid())" {
            attempts += 1
            usleep(10_000)
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let holder = Self.holder(fd)
            close(fd)
            if code == EWOULDBLOCK {
                let who = holder.isEmpty ? "another process" : "process \(holder)"
                throw LogError(
                    code: .locked,
                    message: "\(directory) is locked by \(who) (lock file \(path)); stop that helios process "
                        + "first, or use a different data directory")
            }
            throw LogError.io(FileSystemError(operation: "flock", path: path, errno: code), while: "taking the directory lock")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        descriptor = Mutex(fd)
    }

    deinit {
        release()
    }

    /// The pid recorded in the lock file.
    private static func holder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        return String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).trimmingCharacters(in: " \n")
    }

    /// Releases the lock (closing the descriptor drops the flock). Idempotent.
    func release() {
        descriptor.withLock { fd in
            if let open = fd { close(open) }
            fd = nil
        }
    }

    /// Whether some live process holds the lock on `directory` (without taking it).
    static func isLocked(directory: String) -> Bool {
        let fd = open(directory + "/" + fileName, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) != 0 { return errno == EWOULDBLOCK }
        flock(fd, LOCK_UN)
        return false
    }
}

extension String {
    /// The string without leading and trailing characters from `set`.
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
