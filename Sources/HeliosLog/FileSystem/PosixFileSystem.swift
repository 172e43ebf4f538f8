import Glibc

/// The real file system, through POSIX calls: `pread`, `pwrite`, `fdatasync`, `rename`, `fsync` on directories.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func openFile(_ path: String, create: Bool, readOnly: Bool) throws(FileSystemError) -> any File {
        var flags = readOnly ? O_RDONLY : O_RDWR
        if create { flags |= O_CREAT }
        flags |= O_CLOEXEC
        let fd = Glibc.open(path, flags, 0o644)
        if fd < 0 {
            throw FileSystemError(operation: "open", path: path, errno: Glibc.errno)
        }
        return PosixFile(descriptor: fd, path: path)
    }

    public func contentsOfDirectory(_ path: String) throws(FileSystemError) -> [String] {
        guard let directory = opendir(path) else {
            throw FileSystemError(operation: "opendir", path: path, errno: Glibc.errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && Glibc.errno != EEXIST {
                throw FileSystemError(operation: "mkdir", path: prefix, errno: Glibc.errno)
            }
        }
    }

    public func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        if unlink(path) != 0 {
            throw FileSystemError(operation: "unlink", path: path, errno: Glibc.errno)
        }
    }

    public func rename(_ source: String, to destination: String) throws(FileSystemError) {
        if Glibc.rename(source, destination) != 0 {
            throw FileSystemError(
                operation: "rename", path: source, errno: Glibc.errno, detail: "to \(destination)")
        }
    }

    public func synchronizeDirectory(_ path: String) throws(FileSystemError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            throw FileSystemError(operation: "open directory", path: path, errno: Glibc.errno)
        }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 {
            throw FileSystemError(operation: "fsync directory", path: path, errno: Glibc.errno)
        }
    }
}

/// A file descriptor, closed when the last reference goes away.
final class PosixFile: File, @unchecked Sendable {
    // @unchecked: `descriptor` is immutable after init; pread/pwrite on one descriptor are thread-safe.
    let descriptor: Int32
    let path: String

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { Glibc.close(descriptor) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FileSystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw FileSystemError(operation: "pread", path: path, errno: Glibc.errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileSystemError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw FileSystemError(operation: "pwrite", path: path, errno: Glibc.errno)
            }
            done += n
        }
    }

    func synchronize() throws(FileSystemError) {
        if fdatasync(descriptor) != 0 {
            throw FileSystemError(operation: "fdatasync", path: path, errno: Glibc.errno)
        }
    }

    func truncate(to size: Int64) throws(FileSystemError) {
        if ftruncate(descriptor, off_t(size)) != 0 {
            throw FileSystemError(operation: "ftruncate", path: path, errno: Glibc.errno, detail: "to \(size) bytes")
        }
    }

    func preallocate(to size: Int64) throws(FileSystemError) {
        let result = posix_fallocate(descriptor, 0, off_t(size))
        if result != 0 {
            throw FileSystemError(operation: "posix_fallocate", path: path, errno: result, detail: "to \(size) bytes")
        }
    }

    func size() throws(FileSystemError) -> Int64 {
        var info = stat()
        if fstat(descriptor, &info) != 0 {
            throw FileSystemError(operation: "fstat", path: path, errno: Glibc.errno)
        }
        return Int64(info.st_size)
    }
}
