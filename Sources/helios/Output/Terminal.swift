import Foundation

/// Writing to the terminal: progress only when stderr is a terminal, lines flushed promptly.
enum Terminal {
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Writes `text` to standard error.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Draws a one-line progress bar on stderr when it is a terminal; does nothing otherwise.
    static func progress(_ label: String, done: Int64, total: Int64) {
        guard stderrIsTerminal, total > 0 else { return }
        let width = 30
        let filled = Int(Double(width) * Double(done) / Double(total))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let percent = Int(100 * Double(done) / Double(total))
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)%".utf8))
        if done >= total { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
