/// The file-system operations the log needs: the seam where tests inject crashes and faults.
///
/// ``PosixFileSystem`` is the real implementation. `HeliosTesting` provides one that forgets every
/// write not yet made durable, to prove crash consistency.
public protocol FileSystem: Sendable {
    /// Opens (and with `create`, creates) a file for reading and writing, or only reading.
    func openFile(_ path: String, create: Bool, readOnly: Bool) throws(FileSystemError) -> any File
    /// Names (not paths) of the entries of a directory, unsorted, without `.` and `..`.
    func contentsOfDirectory(_ path: String) throws(FileSystemError) -> [String]
    /// Creates a directory and its missing parents.
    func createDirectory(_ path: String) throws(FileSystemError)
    /// Whether something exists at `path`.
    func fileExists(_ path: String) -> Bool
    /// Removes a file.
    func removeFile(_ path: String) throws(FileSystemError)
    /// Atomically renames `source` to `destination`, replacing it.
    func rename(_ source: String, to destination: String) throws(FileSystemError)
    /// Makes the directory's entries (creations, renames, removals) durable.
    func synchronizeDirectory(_ path: String) throws(FileSystemError)
}

/// An open file. Positional reads and writes only; safe to read from several threads at once.
///
/// The file is closed when the last reference to it goes away, so a reader holding it never reads
/// from a recycled descriptor.
public protocol File: AnyObject, Sendable {
    /// The path the file was opened with.
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns the number read (short only at end of file).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FileSystemError) -> Int
    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileSystemError)
    /// Makes the written data durable (`fdatasync`).
    func synchronize() throws(FileSystemError)
    /// Sets the file size.
    func truncate(to size: Int64) throws(FileSystemError)
    /// Reserves disk blocks up to `size` bytes (the file size becomes at least `size`).
    func preallocate(to size: Int64) throws(FileSystemError)
    /// The current file size.
    func size() throws(FileSystemError) -> Int64
}

extension File {
    /// Reads exactly `count` bytes at `offset`, failing on a short read.
    public func readExactly(_ count: Int, at offset: Int64) throws(FileSystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = try readInto(&bytes, at: offset)
        if read != count {
            throw FileSystemError(
                operation: "read", path: path, errno: 0,
                detail: "wanted \(count) bytes at offset \(offset), got \(read) (file ends early)"
            )
        }
        return bytes
    }

    /// Reads up to `count` bytes at `offset` (fewer at end of file).
    public func readUpTo(_ count: Int, at offset: Int64) throws(FileSystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = try readInto(&bytes, at: offset)
        if read < count { bytes.removeLast(count - read) }
        return bytes
    }

    /// Writes `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int64) throws(FileSystemError) {
        var result: Result<Void, FileSystemError> = .success(())
        bytes.withUnsafeBytes { buffer in
            result = Result { () throws(FileSystemError) in try self.write(buffer, at: offset) }
        }
        try result.get()
    }

    private func readInto(_ bytes: inout [UInt8], at offset: Int64) throws(FileSystemError) -> Int {
        var result: Result<Int, FileSystemError> = .success(0)
        bytes.withUnsafeMutableBytes { buffer in
            result = Result { () throws(FileSystemError) -> Int in try self.read(into: buffer, at: offset) }
        }
        return try result.get()
    }
}
