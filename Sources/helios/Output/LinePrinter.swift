import Foundation
import Synchronization

/// Writes raw bytes to stdout, or splits them into lines with a prefix (for interleaving several
/// streams); writes from concurrent streams never mix within a line.
final class LinePrinter: Sendable {
    private let lock = Mutex<[String: [UInt8]]>([:])

    /// Writes `bytes` as they come (one stream, no prefix).
    func raw(_ bytes: some Collection<UInt8>) {
        lock.withLock { _ in FileHandle.standardOutput.write(Data(bytes)) }
    }

    /// Buffers `bytes` per `prefix` and writes each complete line as `prefix line`.
    func lines(_ bytes: some Collection<UInt8>, prefix: String) {
        lock.withLock { partial in
            var buffer = partial[prefix, default: []]
            buffer.append(contentsOf: bytes)
            var out: [UInt8] = []
            var start = buffer.startIndex
            while let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                out.append(contentsOf: Array(prefix.utf8))
                out.append(contentsOf: buffer[start...newline])
                start = newline + 1
            }
            partial[prefix] = Array(buffer[start...])
            if !out.isEmpty { FileHandle.standardOutput.write(Data(out)) }
        }
    }

    /// Writes what is left of a prefixed stream (a last line without a newline).
    func flush(prefix: String) {
        lock.withLock { partial in
            guard let rest = partial.removeValue(forKey: prefix), !rest.isEmpty else { return }
            FileHandle.standardOutput.write(Data(Array(prefix.utf8) + rest + [UInt8(ascii: "\n")]))
        }
    }
}
