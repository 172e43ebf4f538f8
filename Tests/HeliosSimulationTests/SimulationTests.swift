import HeliosSimulation
import Testing

/// The deterministic simulation over many seeds: every Raft invariant after every event, liveness
/// once faults stop. `tools/simulate --seeds A..B` runs more; a failure prints its seed.
@Suite("Raft: deterministic simulation")
struct SimulationTests {
    /// Seeds per CI run (split across cases so they run in parallel).
    static let seedsPerCase: UInt64 = 250
    static let cases: [UInt64] = Array(0..<8)

    @Test("2,000 seeds hold election safety, log matching, leader completeness, state machine safety, durability, linearizable reads and liveness",
          arguments: cases)
    func seeds(block: UInt64) {
        let first = 1 + block * Self.seedsPerCase
        var failures: [String] = []
        for seed in first..<(first + Self.seedsPerCase) {
            do {
                _ = try Simulation(options: .random(seed: seed)).run()
            } catch {
                failures.append(error.description)
                if failures.count >= 3 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test("a run is reproduced exactly by its seed")
    func deterministic() throws {
        let a = try Simulation(options: .random(seed: 42)).run()
        let b = try Simulation(options: .random(seed: 42)).run()
        #expect(a.description == b.description)
        let traced = Simulation(options: .random(seed: 42), trace: true)
        _ = try traced.run()
        #expect(try Simulation(options: .random(seed: 43)).run().description != a.description)
    }

    @Test("the checker catches a broken node: a node that acknowledges appends without persisting them loses writes")
    func checkerHasTeeth() {
        // Seeds are run with a deliberately unsafe option; at least one must fail an invariant.
        var caught = 0
        for seed in 1...60 as ClosedRange<UInt64> {
            var options = SimulationOptions.random(seed: seed)
            options.unsafeAcknowledgeBeforePersist = true
            // Frequent crashes (no partitions, so the cluster makes progress) and slow fsyncs, so that
            // crashes land while acknowledged writes are still unpersisted.
            options.partitions = false
            options.faultInterval = 20_000
            options.minFsync = 2_000
            options.maxFsync = 20_000
            if (try? Simulation(options: options).run()) == nil { caught += 1 }
        }
        #expect(caught > 0, "acknowledging before persisting must break durability under crashes")
    }

    @Test("the same aggressive crash schedule with the Ready contract honoured breaks nothing (also while applying during persists)")
    func aggressiveCrashesSafe() {
        var failures: [String] = []
        var appliedWhilePersisting = 0
        for seed in 1...60 as ClosedRange<UInt64> {
            var options = SimulationOptions.random(seed: seed)
            options.partitions = false
            options.faultInterval = 20_000
            options.minFsync = 2_000
            options.maxFsync = 20_000
            do {
                appliedWhilePersisting += try Simulation(options: options).run().appliedBeforePersisting
            } catch {
                failures.append(error.description)
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        // The driver's overlap of applying and persisting (durable entries only) was exercised.
        #expect(appliedWhilePersisting > 100)
    }
}
