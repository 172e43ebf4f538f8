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
    }

    static func run(
        concurrency: Int, warmup: Double, seconds: Double, _ call: @escaping @Sendable (Int, Int) async throws -> Void
    ) async throws -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let measureFrom = start + .milliseconds(Int64(warmup * 1000))
        let end = measureFrom + .milliseconds(Int64(seconds * 1000))
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
        return Result(
            operations: latencies.count, errors: errors, throughput: Double(latencies.count) / seconds,
            p50: LatencySummary.percentile(latencies, 0.50), p99: LatencySummary.percentile(latencies, 0.99),
            firstError: firstError)
    }
}
