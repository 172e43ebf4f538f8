import Foundation
import HeliosJobFile
import HeliosTesting
import Testing

/// The job-file parser on mutated input (seeded): it either parses or throws a `JobFileError` whose
/// text names the file; it never crashes. `HELIOS_FUZZ_ITERATIONS` runs more.
@Suite("Job file fuzzing")
struct JobFileFuzzTests {
    @Test("mutated job files parse or fail with a JobFileError naming the file")
    func mutated() throws {
        let iterations = Int(ProcessInfo.processInfo.environment["HELIOS_FUZZ_ITERATIONS"] ?? "") ?? 3_000
        let seeds = [JobFile.example, "{\"name\": \"j\", \"groups\": [{\"name\": \"g\", \"tasks\": [{\"name\": \"t\", \"command\": \"x\"}]}]}"]
        let alphabet = Array(" \n\t:-[]{},'\"#&*!|>%@`0123456789abcdefghijklmnopqrstuvwxyz\u{0}\u{FF}é".unicodeScalars)
        var random = SeededRandom(seed: 42)
        var parsed = 0
        for iteration in 0..<iterations {
            var scalars = Array(seeds[iteration % seeds.count].unicodeScalars)
            for _ in 0..<(1 + Int(random.next() % 8)) where !scalars.isEmpty {
                let at = Int(random.next() % UInt64(scalars.count))
                switch random.next() % 4 {
                case 0: scalars[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: scalars.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                case 2: scalars.remove(at: at)
                default:
                    // Duplicate a slice (repeated keys, nested structures).
                    let end = min(scalars.count, at + Int(random.next() % 40))
                    scalars.insert(contentsOf: scalars[at..<end], at: at)
                }
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            do {
                _ = try JobFile.parse(text, file: "fuzz.yaml")
                parsed += 1
            } catch {
                #expect(error.description.hasPrefix("fuzz.yaml"), "iteration \(iteration): \(error.description)")
                #expect(!error.message.isEmpty)
            }
        }
        // Light mutations of valid files still parse sometimes: the corpus is not just noise.
        #expect(parsed > 0)
    }

    @Test("deeply nested and oversized documents are refused, not crashed on")
    func pathological() {
        let nested = String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        #expect(throws: JobFileError.self) { try JobFile.parse(nested, file: "deep.yaml") }
        let wide = "name: w\nmeta:\n" + (0..<20_000).map { "  k\($0): v" }.joined(separator: "\n") + "\ngroups: [{name: g, tasks: [{name: t, command: x}]}]"
        #expect(throws: Never.self) { try JobFile.parse(wide, file: "wide.yaml") }
    }
}
