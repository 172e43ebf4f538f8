@testable import HeliosLog
import HeliosTesting
import Testing

/// LazyFS-style crash consistency: the file system freezes at a random moment (the process dies),
/// every write not yet fdatasync'd is dropped or torn, and the log is reopened.
@Suite("SegmentedLog: crash consistency with unsynced writes dropped")
struct CrashConsistencyTests {
    /// What was in progress when the file system froze.
    enum InFlight: CustomStringConvertible {
        case none
        case append([LogEntry])
        case truncate(after: UInt64)
        case purge(through: UInt64)

        var description: String {
            switch self {
            case .none: "nothing"
            case .append(let batch): "append \(batch.first!.index)...\(batch.last!.index)"
            case .truncate(let after): "truncate after \(after)"
            case .purge(let through): "purge through \(through)"
            }
        }
    }

    static let iterations = 1200

    @Test("no acknowledged write is lost and recovery always succeeds, over 1,200 random crashes")
    func randomCrashes() async throws {
        var failures: [String] = []
        for seed in 0..<UInt64(Self.iterations) {
            if let failure = try await crashIteration(seed: seed) {
                failures.append(failure)
                if failures.count >= 5 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// One iteration; returns a description of what went wrong, or nil.
    func crashIteration(seed: UInt64) async throws -> String? {
        var random = SeededRandom(seed: seed)
        let fileSystem = CrashableFileSystem()
        let directory = "/crash/log"
        var configuration = testConfiguration(segmentSize: [4096, 4096, 16384][Int(seed % 3)], preallocate: seed % 4 == 1, fileSystem: fileSystem)
        configuration.lockDirectory = false
        var log = try SegmentedLog.open(directory: directory, configuration: configuration)
        var model = LogModel()
        // Some history first, then the file system dies after a random number of mutations.
        fileSystem.freeze(afterMutations: Int(random.next() % 120))
        var inFlight = InFlight.none
        operations: for _ in 0..<40 {
            let roll = random.next() % 100
            do {
                switch roll {
                case 0..<70:
                    let batch = model.nextBatch(&random)
                    inFlight = .append(batch)
                    try await log.append(batch)
                    model.append(batch)
                case 70..<80:
                    let target = (log.firstIndex - 1) + random.next() % (model.lastIndex - (log.firstIndex - 1) + 1)
                    inFlight = .truncate(after: target)
                    try await log.truncateSuffix(after: target)
                    model.truncate(after: target)
                case 80..<90:
                    let target = random.next() % (model.lastIndex + 3)
                    inFlight = .purge(through: target)
                    try await log.purgePrefix(through: target)
                    model.purge(through: target)
                default:
                    inFlight = .none
                    await log.close()
                    log = try SegmentedLog.open(directory: directory, configuration: configuration)
                }
                inFlight = .none
            } catch {
                break operations  // the "process" died during this operation
            }
        }
        await log.close()
        fileSystem.crash(&random, tearing: random.chance(0.8))
        fileSystem.freeze(afterMutations: nil)

        let recovered: SegmentedLog
        do {
            recovered = try SegmentedLog.open(directory: directory, configuration: configuration)
        } catch {
            return "seed \(seed): recovery failed: \(error)"
        }
        defer { Task { await recovered.close() } }
        let first = recovered.firstIndex
        let last = recovered.lastIndex
        // Which states are allowed depends on what was in flight.
        var allowed = model
        switch inFlight {
        case .none:
            break
        case .append(let batch):
            if last > model.lastIndex {
                allowed.append(Array(batch.prefix(Int(last - model.lastIndex))))
            }
        case .truncate(let after):
            if last < model.lastIndex {
                if last < after { return "seed \(seed): truncation after \(after) cut to \(last)" }
                allowed.truncate(after: last)
            }
        case .purge(let through):
            if first > model.purgedThrough + 1 || (through >= model.lastIndex && last == through) {
                allowed.purge(through: through)
            }
        }
        if let problem = allowed.check(recovered, "seed \(seed) (in flight: \(inFlight))") { return problem }
        let report = try LogVerifier(directory: directory, fileSystem: fileSystem).verify()
        if !report.isClean { return "seed \(seed): verify after recovery: \(report.problems)" }
        do {
            try await recovered.append(allowed.nextBatch(&random))
        } catch {
            return "seed \(seed): append after recovery failed: \(error)"
        }
        return nil
    }
}
