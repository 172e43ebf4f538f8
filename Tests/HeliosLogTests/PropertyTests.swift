@testable import HeliosLog
import HeliosTesting
import Testing

@Suite("SegmentedLog: randomized property tests")
struct PropertyTests {
    @Test("random append/truncate/purge/reopen sequences agree with an in-memory model (real files)",
          arguments: 0..<24)
    func againstModel(seed: UInt64) async throws {
        try await TemporaryDirectory.with("model") { directory in
            var random = SeededRandom(seed: seed)
            let configuration = testConfiguration(segmentSize: [4096, 8192, 1 << 20][Int(seed % 3)], preallocate: seed % 2 == 0)
            var log = try SegmentedLog.open(directory: directory.path, configuration: configuration)
            var model = LogModel()
            for step in 0..<80 {
                let roll = random.next() % 100
                switch roll {
                case 0..<55:
                    let batch = model.nextBatch(&random)
                    try await log.append(batch)
                    model.append(batch)
                case 55..<62:
                    let payloads = (0..<Int(1 + random.next() % 3)).map { _ in random.bytes(Int(random.next() % 50)) }
                    let term = max(model.lastTerm, 1)
                    let range = try await log.append(term: term, type: 1, payloads: payloads)
                    #expect(range.lowerBound == model.nextIndex)
                    model.append(payloads.enumerated().map { LogEntry(index: model.nextIndex + UInt64($0.offset), term: term, type: 1, payload: $0.element) })
                case 62..<72:
                    let low = log.firstIndex - 1
                    let target = low + random.next() % (model.lastIndex - low + 1)
                    try await log.truncateSuffix(after: target)
                    model.truncate(after: target)
                case 72..<80:
                    let target = random.next() % (model.lastIndex + 3)
                    try await log.purgePrefix(through: target)
                    model.purge(through: target)
                case 80..<88:
                    // Input the log must reject without changing anything.
                    let bad = LogEntry(index: model.nextIndex + 1 + random.next() % 3, term: model.lastTerm, payload: [])
                    await expectLogError(.indexOutOfOrder) { try await log.append([bad]) }
                default:
                    await log.close()
                    log = try SegmentedLog.open(directory: directory.path, configuration: configuration)
                }
                if let problem = model.check(log, "seed \(seed) step \(step)") {
                    Issue.record("\(problem)")
                    break
                }
            }
            await log.close()
            #expect(try LogVerifier(directory: directory.path).verify().problems.isEmpty, "seed \(seed)")
        }
    }
}
