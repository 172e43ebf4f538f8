import Foundation

/// A closed-loop load generator: `concurrency` workers each issue one call after another.
enum LoadGenerator {
    struct Result {
        var operations: Int
        var errors: Int
        var throughput: Double
        /// Latencies in milliseconds.
        var p50: Double
        var p99: Double
        /// The first error seen, if any.
        var firstError: String?
        /// CPU microseconds per measured operation: the system under test's processes, and the load
        /// generator's own (nil without a meter).
        var serverMicroseconds: Double?
        /// The leader's part of `serverMicroseconds`.
        var leaderMicroseconds: Double?
        var generatorMicroseconds: Double?
    }

    static func run(
        concurrency: Int, warmup: Double, seconds: Double, meter: CPUMeter? = nil,
        _ call: @escaping @Sendable (Int, Int) async throws -> Void
    ) async throws -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let measureFrom = start + .milliseconds(Int64(warmup * 1000))
        let end = measureFrom + .milliseconds(Int64(seconds * 1000))
        // CPU readings at the start and end of the measured window, taken by a task of their own.
        let cpu = meter.map { meter in
            Task { () -> (CPUMeter.Reading, CPUMeter.Reading)? in
                guard (try? await Task.sleep(until: measureFrom, clock: clock)) != nil else { return nil }
                let first = meter.read()
                guard (try? await Task.sleep(until: end, clock: clock)) != nil else { return nil }
                return (first, meter.read())
            }
        }
        // Each worker returns its own latencies and error count: no shared state while measuring.
        let (latencies, errors, firstError) = await withTaskGroup(of: ([Double], Int, String?).self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var local: [Double] = []
                    var failures = 0
                    var first: String?
                    var i = 0
                    while clock.now < end {
                        let began = clock.now
                        do {
                            try await call(worker, i)
                            if began >= measureFrom && clock.now <= end { local.append((clock.now - began).microseconds / 1000) }
                        } catch {
                            if began >= measureFrom {
                                failures += 1
                                if first == nil { first = "\(error)" }
                            }
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                        i += 1
                    }
                    return (local, failures, first)
                }
            }
            var all: [Double] = []
            var errors = 0
            var firstError: String?
            for await (local, failures, first) in group {
                all += local
                errors += failures
                firstError = firstError ?? first
            }
            return (all.sorted(), errors, firstError)
        }
        var result = Result(
            operations: latencies.count, errors: errors, throughput: Double(latencies.count) / seconds,
            p50: LatencySummary.percentile(latencies, 0.50), p99: LatencySummary.percentile(latencies, 0.99),
            firstError: firstError)
        if let (first, last) = await cpu?.value ?? nil, !latencies.isEmpty {
            let operations = Double(latencies.count)
            result.serverMicroseconds = (last.servers - first.servers) * 1_000_000 / operations
            result.leaderMicroseconds = (last.leader - first.leader) * 1_000_000 / operations
            result.generatorMicroseconds = (last.generator - first.generator) * 1_000_000 / operations
        }
        return result
    }
}
