import ArgumentParser
import Foundation
import HeliosRaft

/// `helios-bench raft`: committed entries per second of a 3-node in-memory cluster (no disk, no
/// network): what the Raft core itself costs.
struct RaftBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft", abstract: "Committed entries/s of a 3-node in-memory Raft cluster (the core's own cost).")

    @Option(help: "Seconds per measurement.") var seconds: Double = 3
    @Option(help: "Payload bytes per entry.") var payload: Int = 128

    struct Cluster {
        var nodes: [NodeID: RawNode] = [:]
        var storages: [NodeID: MemoryRaftStorage] = [:]
        var applied: [NodeID: UInt64] = [:]
        var mailbox: [Message] = []

        init(size: Int) {
            let voters = Set((1...size).map { NodeID($0) })
            for id in voters.sorted() {
                let storage = MemoryRaftStorage(bootstrap: ConfigurationState(voters: voters))
                var config = RaftConfiguration(id: id, randomSeed: id)
                config.maxMessageBytes = 4 << 20
                config.maxInflightMessages = 1024
                storages[id] = storage
                nodes[id] = try! RawNode(configuration: config, storage: storage)
                applied[id] = 0
            }
        }

        /// Handles every Ready and delivers every message until nothing moves.
        mutating func settle() {
            while true {
                var moved = false
                for id in nodes.keys.sorted() where nodes[id]!.hasReady {
                    moved = true
                    let ready = nodes[id]!.ready()
                    mailbox += ready.messages
                    let storage = storages[id]!
                    storage.append(ready.entries)
                    if let hard = ready.hardState { storage.setHardState(hard) }
                    mailbox += ready.messagesAfterPersist
                    for entry in ready.committedEntries where entry.kind == .configuration {
                        nodes[id]!.applyConfigurationChange(ConfigurationChange.decode(entry.data)!)
                    }
                    if let last = ready.committedEntries.last { applied[id] = last.index }
                    nodes[id]!.advance()
                }
                if !mailbox.isEmpty {
                    moved = true
                    let batch = mailbox
                    mailbox = []
                    for message in batch { nodes[message.to]!.step(message) }
                }
                if !moved { return }
            }
        }

        /// Keeps memory flat: snapshot and compact every node's storage up to what it applied.
        mutating func compact() {
            for id in nodes.keys {
                let index = applied[id]!
                guard index > 1 else { continue }
                try? storages[id]!.createSnapshot(index: index, configuration: nodes[id]!.status.configuration, data: [])
                try? storages[id]!.compact(through: index)
            }
        }
    }

    func run() throws {
        print("| Batch (entries per proposal, \(payload) B each) | committed entries/s | MB/s |")
        print("|---|---:|---:|")
        for batch in [1, 16, 256, 4096] {
            var cluster = Cluster(size: 3)
            cluster.settle()
            cluster.nodes[1]!.campaign()
            cluster.settle()
            let data = [[UInt8]](repeating: [UInt8](repeating: 7, count: payload), count: batch)
            let clock = ContinuousClock()
            let start = clock.now
            let deadline = start + .milliseconds(Int(seconds * 1000))
            let first = cluster.applied[1]!
            var rounds = 0
            while clock.now < deadline {
                try cluster.nodes[1]!.propose(batch: data)
                cluster.settle()
                rounds += 1
                if rounds % 64 == 0 { cluster.compact() }
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let committed = Double(cluster.applied[1]! - first)
            let rate = committed / seconds
            print("| \(batch) | \(Int(rate)) | \(String(format: "%.1f", rate * Double(payload) / 1e6)) |")
        }
    }
}
