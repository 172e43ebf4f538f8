import Foundation
import HeliosLog
import HeliosTesting
import Logging
import Testing

/// A configuration for tests: small segments so that rolls happen, quiet logging.
func testConfiguration(
    segmentSize: Int = 4096, preallocate: Bool = false, fileSystem: any FileSystem = PosixFileSystem()
) -> LogConfiguration {
    var configuration = LogConfiguration()
    configuration.segmentSize = segmentSize
    configuration.preallocate = preallocate
    configuration.fileSystem = fileSystem
    configuration.logger = .quiet
    return configuration
}

/// Deterministic entries with payload sizes that exercise padding (0...300 bytes).
func makeEntries(from first: UInt64, count: Int, term: UInt64, seed: UInt64 = 1) -> [LogEntry] {
    var random = SeededRandom(seed: seed &+ first)
    return (0..<count).map { offset in
        let size = Int(random.next() % 301)
        return LogEntry(
            index: first + UInt64(offset), term: term, type: UInt8(truncatingIfNeeded: offset % 5),
            payload: random.bytes(size))
    }
}

/// Segment file names in a directory, sorted.
func segmentFiles(in directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { SegmentFileName.parse($0) != nil }.sorted()
}

/// Size of a file in bytes.
func fileSize(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
}

/// Reads every entry of the log.
func allEntries(_ log: SegmentedLog) throws -> [LogEntry] {
    guard log.lastIndex >= log.firstIndex else { return [] }
    return try log.entries(from: log.firstIndex, through: log.lastIndex)
}

/// Flips one bit of a file in place.
func flipBit(_ path: String, byte: Int, bit: Int = 0) throws {
    let handle = try FileHandle(forUpdatingAtPath: path).unwrap()
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(byte))
    var value = try handle.read(upToCount: 1).unwrap()
    value[0] ^= UInt8(1 << bit)
    try handle.seek(toOffset: UInt64(byte))
    try handle.write(contentsOf: value)
}

extension Optional {
    struct Missing: Error {}
    func unwrap() throws -> Wrapped {
        guard let value = self else { throw Missing() }
        return value
    }
}

/// Expects `body` to fail with a ``LogError`` of `code` whose message contains every fragment.
func expectLogError(
    _ code: LogError.Code, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected a \(code) error, but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as LogError {
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.message.contains(fragment), "'\(fragment)' missing from: \(error.message)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a LogError, got \(error)", sourceLocation: sourceLocation)
    }
}
