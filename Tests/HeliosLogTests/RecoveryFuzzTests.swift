import Foundation
import HeliosLog
import HeliosTesting
import Testing

/// Opening a log whose files were mutated at random (overwritten ranges, zeroed ranges, truncations,
/// inserted bytes, removed segments) never crashes and never serves an entry that differs from what was
/// written: it either refuses to open with a `LogError` naming a file, or serves a subset of the
/// original entries, byte for byte. Seeded; `HELIOS_FUZZ_ITERATIONS` runs more.
@Suite("Log recovery fuzzing")
struct RecoveryFuzzTests {
    @Test("mutated segment files: refused with a LogError or served correctly, never crashed or wrong")
    func mutatedSegments() async throws {
        let iterations = Int(ProcessInfo.processInfo.environment["HELIOS_FUZZ_ITERATIONS"] ?? "") ?? 300
        let directory = try TemporaryDirectory("recovery-fuzz")
        defer { directory.remove() }
        let pristine = directory.appending("pristine")
        let original = makeEntries(from: 1, count: 120, term: 3, seed: 7)
        do {
            let log = try SegmentedLog.open(directory: pristine, configuration: testConfiguration())
            for batch in stride(from: 0, to: original.count, by: 10) {
                try await log.append(Array(original[batch..<min(batch + 10, original.count)]))
            }
            await log.close()
        }
        let files = try segmentFiles(in: pristine)
        #expect(files.count >= 4, "the fuzzed log should span several segments")
        var random = SeededRandom(seed: 20_261_202)
        var opened = 0
        var refused = 0
        for iteration in 0..<iterations {
            let copy = directory.appending("case")
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: pristine, toPath: copy)
            var applied: [String] = []
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let name = files[Int(random.next() % UInt64(files.count))]
                applied.append(try mutate(copy + "/" + name, &random))
            }
            do {
                let log = try SegmentedLog.open(directory: copy, configuration: testConfiguration())
                let served = try allEntries(log)
                for entry in served {
                    let expected = original[Int(entry.index) - 1]
                    if entry != expected {
                        Issue.record("iteration \(iteration) (\(applied.joined(separator: "; "))): index \(entry.index) served different bytes")
                        break
                    }
                }
                await log.close()
                opened += 1
            } catch let error as LogError {
                #expect(error.message.contains(".seg") || error.message.contains("log"), "iteration \(iteration): \(error.message)")
                refused += 1
            } catch {
                Issue.record("iteration \(iteration) (\(applied.joined(separator: "; "))): not a LogError: \(error)")
            }
        }
        #expect(opened + refused == iterations)
        #expect(refused > 0, "some mutations must be detected")
    }

    /// Applies one random mutation to `path`; returns what it did.
    private func mutate(_ path: String, _ random: inout SeededRandom) throws -> String {
        let name = (path as NSString).lastPathComponent
        guard FileManager.default.fileExists(atPath: path) else { return "\(name): already removed" }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard !bytes.isEmpty else { return "\(name): empty, left alone" }
        let at = Int(random.next() % UInt64(bytes.count))
        let length = 1 + Int(random.next() % 64)
        let description: String
        switch random.next() % 6 {
        case 0:
            for i in at..<min(bytes.count, at + length) { bytes[i] = UInt8(truncatingIfNeeded: random.next()) }
            description = "\(name): \(length) random bytes at \(at)"
        case 1:
            for i in at..<min(bytes.count, at + length) { bytes[i] = 0 }
            description = "\(name): \(length) zero bytes at \(at)"
        case 2:
            bytes.removeSubrange(at...)
            description = "\(name): truncated to \(at)"
        case 3:
            bytes.insert(contentsOf: random.bytes(length), at: at)
            description = "\(name): \(length) bytes inserted at \(at)"
        case 4:
            bytes[at] ^= UInt8(1 << (random.next() % 8))
            description = "\(name): one bit flipped at \(at)"
        default:
            try FileManager.default.removeItem(atPath: path)
            return "\(name): removed"
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return description
    }
}
