import Foundation

/// Writes a stream to `<directory>/<task>.<stream>.<n>`, starting a new file when the current one
/// reaches `maxBytes` and deleting the oldest beyond `maxFiles` (like Nomad's log rotation). A restart
/// continues after the highest existing index.
final class RotatingLogWriter {
    let directory: String
    let prefix: String
    let maxFiles: Int
    let maxBytes: Int
    private var index: Int
    private var handle: FileHandle?
    private var size = 0

    init(directory: String, task: String, stream: String, maxFiles: Int, maxBytes: Int) throws {
        self.directory = directory
        self.prefix = "\(task).\(stream)."
        self.maxFiles = max(1, maxFiles)
        self.maxBytes = max(1024, maxBytes)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        index = Self.indexes(in: directory, prefix: prefix).max() ?? 0
        try open()
    }

    /// The indexes of the existing files of one stream, unsorted.
    static func indexes(in directory: String, prefix: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { $0.hasPrefix(prefix) ? Int($0.dropFirst(prefix.count)) : nil }
    }

    private func open() throws {
        let path = "\(directory)/\(prefix)\(index)"
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        size = Int(try handle!.seekToEnd())
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if size >= maxBytes { try rotate() }
            let chunk = min(bytes.count - offset, maxBytes - size)
            try handle!.write(contentsOf: Data(bytes: bytes.baseAddress! + offset, count: chunk))
            size += chunk
            offset += chunk
        }
    }

    private func rotate() throws {
        try handle?.close()
        index += 1
        try open()
        for old in Self.indexes(in: directory, prefix: prefix) where old <= index - maxFiles {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(prefix)\(old)")
        }
    }

    func close() {
        try? handle?.close()
        handle = nil
    }
}
