@testable import HeliosRaft

/// A deterministic in-memory cluster for scenario tests: every node handles its Ready in the
/// documented order (send, persist to MemoryRaftStorage, send after-persist, apply, advance), and
/// messages are delivered only when the test says so.
struct TestNetwork {
    var nodes: [NodeID: RawNode] = [:]
    var storages: [NodeID: MemoryRaftStorage] = [:]
    var applied: [NodeID: [Entry]] = [:]
    var inFlight: [Message] = []
    /// Links that drop messages: (from, to).
    var cut: Set<[NodeID]> = []

    init(voters: [NodeID], learners: [NodeID] = [], configure: (inout RaftConfiguration) -> Void = { _ in }) {
        let configuration = ConfigurationState(voters: Set(voters), learners: Set(learners))
        for id in voters + learners { add(id, configuration: configuration, configure: configure) }
        // Apply the bootstrap configuration entries.
        processReady()
    }

    mutating func add(_ id: NodeID, configuration: ConfigurationState, configure: (inout RaftConfiguration) -> Void = { _ in }) {
        let storage = MemoryRaftStorage(bootstrap: configuration)
        var config = RaftConfiguration(id: id, randomSeed: id)
        configure(&config)
        storages[id] = storage
        nodes[id] = try! RawNode(configuration: config, storage: storage)
        applied[id] = []
    }

    func node(_ id: NodeID) -> RawNode { nodes[id]! }
    func status(_ id: NodeID) -> RaftStatus { nodes[id]!.status }

    /// Handles every pending Ready of every node (once each).
    mutating func processReady() {
        for id in nodes.keys.sorted() {
            guard nodes[id]!.hasReady else { continue }
            var node = nodes[id]!
            let ready = node.ready()
            inFlight += ready.messages
            let storage = storages[id]!
            if let snapshot = ready.snapshot { try! storage.applySnapshot(snapshot) }
            storage.append(ready.entries)
            if let hard = ready.hardState { storage.setHardState(hard) }
            inFlight += ready.messagesAfterPersist
            for entry in ready.committedEntries {
                if entry.kind == .configuration, let change = ConfigurationChange.decode(entry.data) {
                    node.applyConfigurationChange(change)
                }
                applied[id]!.append(entry)
            }
            node.advance()
            nodes[id] = node
        }
    }

    /// Delivers every in-flight message (one round), dropping those on cut links.
    mutating func deliver(filter: (Message) -> Bool = { _ in true }) {
        let batch = inFlight
        inFlight = []
        for message in batch {
            guard filter(message), !cut.contains([message.from, message.to]), nodes[message.to] != nil else { continue }
            nodes[message.to]!.step(message)
        }
    }

    /// Processes and delivers until nothing moves (bounded).
    mutating func stabilize(rounds: Int = 100) {
        for _ in 0..<rounds {
            processReady()
            if inFlight.isEmpty && !nodes.values.contains(where: \.hasReady) { return }
            deliver()
        }
    }

    mutating func tick(_ id: NodeID, times: Int = 1) {
        for _ in 0..<times { nodes[id]!.tick() }
    }

    mutating func tickAll(times: Int = 1) {
        for _ in 0..<times { for id in nodes.keys.sorted() { nodes[id]!.tick() } }
    }

    /// Campaigns at `id` and stabilizes.
    mutating func elect(_ id: NodeID) {
        nodes[id]!.campaign()
        stabilize()
    }

    mutating func propose(_ id: NodeID, _ text: String) throws(RaftError) {
        try nodes[id]!.propose(Array(text.utf8))
    }

    func leader() -> NodeID? {
        let leaders = nodes.values.map(\.status).filter { $0.role == .leader }
        return leaders.max { $0.term < $1.term }?.id
    }

    func appliedData(_ id: NodeID) -> [String] {
        applied[id]!.filter { $0.kind == .normal && !$0.data.isEmpty }.map { String(decoding: $0.data, as: UTF8.self) }
    }

    /// Cuts every link to and from `id`.
    mutating func isolate(_ id: NodeID) {
        for other in nodes.keys where other != id {
            cut.insert([id, other])
            cut.insert([other, id])
        }
    }

    mutating func heal() { cut = [] }
}
