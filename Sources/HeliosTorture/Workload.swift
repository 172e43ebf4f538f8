import Foundation
import HeliosClient
import HeliosProto
import HeliosTesting
import SwiftProtobuf
import Synchronization

/// Clients that register, read and stop jobs through every server while faults happen, recording
/// each operation with its invoke and completion times and what it learned.
final class Workload: Sendable {
    let cluster: TortureCluster
    let clients: Int
    private let history = Mutex<[RegistryOperation]>([])
    private let acknowledged = Mutex<Set<String>>([])
    private let paused = Atomic<Bool>(false)
    private let counter = Atomic<Int>(0)

    init(cluster: TortureCluster, clients: Int) {
        self.cluster = cluster
        self.clients = clients
    }

    var operations: [RegistryOperation] { history.withLock { $0 } }
    var acknowledgedRegistrations: Set<String> { acknowledged.withLock { $0 } }

    func pause() { paused.store(true, ordering: .relaxed) }
    func resume() { paused.store(false, ordering: .relaxed) }

    /// Runs the clients until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients { group.addTask { await self.runClient(client) } }
        }
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    private func runClient(_ number: Int) async {
        var configuration = HeliosClient.Configuration()
        configuration.retryTimeout = .seconds(2)
        configuration.callTimeout = .seconds(2)
        // Each client starts at a different server.
        let addresses = Array(cluster.addresses[(number % 3)...] + cluster.addresses[..<(number % 3)])
        guard let client = try? HeliosClient(addresses: addresses, configuration: configuration) else { return }
        defer { client.close() }
        var random = SeededRandom(seed: UInt64(number) &* 7919 &+ 1)
        var mine: [String] = []
        while !Task.isCancelled {
            if paused.load(ordering: .relaxed) {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            let roll = random.next() % 10
            if roll < 6 || mine.isEmpty {
                let key = "t\(number)-\(counter.add(1, ordering: .relaxed).newValue)"
                mine.append(key)
                await record(number, key, .register) {
                    _ = try await client.registerJob(Self.spec(key))
                    return .ok
                }
            } else if roll < 9 {
                let key = mine[Int(random.next() % UInt64(mine.count))]
                await record(number, key, .get) {
                    let job = try await client.job(key).job
                    return .found(stopped: job.stopped)
                }
            } else {
                let key = mine.remove(at: Int(random.next() % UInt64(mine.count)))
                await record(number, key, .stop) {
                    _ = try await client.stopJob(key)
                    return .ok
                }
            }
        }
    }

    private func record(
        _ client: Int, _ key: String, _ kind: RegistryOperation.Kind, _ body: () async throws -> RegistryOperation.Outcome
    ) async {
        let invoked = Self.now()
        let outcome: RegistryOperation.Outcome
        do {
            outcome = try await body()
        } catch let error as HeliosClientError {
            switch error.code {
            case .notFound: outcome = .notFound
            case .invalidArgument, .conflict: outcome = .refused
            default: outcome = .unknown
            }
        } catch {
            outcome = .unknown
        }
        let completed = Self.now()
        history.withLock {
            $0.append(RegistryOperation(client: client, key: key, kind: kind, invokedAt: invoked, completedAt: completed, outcome: outcome))
        }
        if kind == .register && outcome == .ok { acknowledged.withLock { _ = $0.insert(key) } }
    }

    /// A batch job with no placements: the registry is what is checked.
    static func spec(_ id: String) -> Helios_V1_JobSpec {
        JobSpecFixture.spec(id: id, type: .batch, count: 0, cpu: 10, memory: 10, group: "g", task: "t", command: "/bin/true", args: [], env: [:])
    }
}
