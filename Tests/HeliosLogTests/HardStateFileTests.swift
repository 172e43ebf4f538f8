import Foundation
@testable import HeliosLog
import HeliosTesting
import Testing

@Suite("HardStateFile")
struct HardStateFileTests {
    @Test("saves atomically, loads back, and starts at zero")
    func roundTrip() async throws {
        try await TemporaryDirectory.with("hardstate") { directory in
            let file = HardStateFile(directory: directory.path)
            #expect(try file.load() == HardStateFile.Contents())
            try file.save(.init(term: 7, votedFor: 3, commitIndex: 1234))
            #expect(try file.load() == .init(term: 7, votedFor: 3, commitIndex: 1234))
            try file.save(.init(term: 8, votedFor: 0, commitIndex: 1300))
            #expect(try HardStateFile(directory: directory.path).load() == .init(term: 8, votedFor: 0, commitIndex: 1300))
            #expect(!FileManager.default.fileExists(atPath: directory.appending("hardstate.tmp")))
        }
    }

    @Test("a damaged file is reported, never silently reset", arguments: [0, 9, 17, 30, 45])
    func damage(byte: Int) async throws {
        try await TemporaryDirectory.with("hardstate-bad") { directory in
            let file = HardStateFile(directory: directory.path)
            try file.save(.init(term: 7, votedFor: 3, commitIndex: 1234))
            try flipBit(directory.appending("hardstate"), byte: byte)
            await expectLogError(.corruption, "hard state file", "damaged") { _ = try file.load() }
        }
    }

    @Test("a crash during save leaves the old or the new state, never a mix")
    func crashDuringSave() throws {
        for seed in 0..<200 as Range<UInt64> {
            var random = SeededRandom(seed: seed)
            let fileSystem = CrashableFileSystem()
            try fileSystem.createDirectory("/d")
            let file = HardStateFile(directory: "/d", fileSystem: fileSystem)
            let old = HardStateFile.Contents(term: 1, votedFor: 1, commitIndex: 10)
            let new = HardStateFile.Contents(term: 2, votedFor: 2, commitIndex: 20)
            try file.save(old)
            fileSystem.freeze(afterMutations: Int(random.next() % 6))
            let saved = (try? file.save(new)) != nil
            fileSystem.crash(&random)
            fileSystem.freeze(afterMutations: nil)
            let loaded = try file.load()
            #expect(loaded == old || loaded == new, "seed \(seed)")
            if saved { #expect(loaded == new, "seed \(seed): an acknowledged save was lost") }
        }
    }
}
