import Foundation

/// Reads a task's rotated log files (`<task>.<stream>.<n>` in `directory`) in order, optionally from
/// the last N lines, and follows new bytes and new files (rotation) when asked.
struct LogReader {
    let directory: String
    let task: String
    let stream: String

    var prefix: String { "\(task).\(stream)." }

    /// Existing file indexes, ascending.
    func indexes() -> [Int] {
        RotatingLogWriter.indexes(in: directory, prefix: prefix).sorted()
    }

    func path(_ index: Int) -> String { "\(directory)/\(prefix)\(index)" }

    /// Where to start so that the last `lines` lines are included: (file index, byte offset).
    func startForTail(lines: Int) -> (index: Int, offset: UInt64)? {
        let files = indexes()
        guard let last = files.last else { return nil }
        guard lines > 0 else { return (files.first!, 0) }
        var remaining = lines
        for index in files.reversed() {
            guard let data = FileManager.default.contents(atPath: path(index)) else { continue }
            var position = data.count
            // A trailing newline ends the last line; it does not start a new one.
            if position > 0 && data[position - 1] == UInt8(ascii: "\n") { position -= 1 }
            while position > 0 {
                position -= 1
                if data[position] == UInt8(ascii: "\n") {
                    remaining -= 1
                    if remaining == 0 { return (index, UInt64(position + 1)) }
                }
            }
            remaining -= 1  // the file's first line
            if remaining == 0 { return (index, 0) }
        }
        return (files.first ?? last, 0)
    }

    /// Reads from `(index, offset)` to the current end of every file from there on; returns the chunks
    /// and the position after them.
    func read(from start: (index: Int, offset: UInt64), maxBytes: Int = 1 << 20) -> (chunks: [(file: String, data: Data)], next: (index: Int, offset: UInt64)) {
        var chunks: [(String, Data)] = []
        var position = start
        var budget = maxBytes
        for index in indexes() where index >= position.index && budget > 0 {
            if index > position.index { position = (index, 0) }
            guard let handle = FileHandle(forReadingAtPath: path(index)) else { continue }
            defer { try? handle.close() }
            try? handle.seek(toOffset: position.offset)
            let data = (try? handle.read(upToCount: budget)) ?? Data()
            if !data.isEmpty {
                chunks.append(("\(prefix)\(index)", data))
                position.offset += UInt64(data.count)
                budget -= data.count
            }
        }
        return (chunks, position)
    }
}
