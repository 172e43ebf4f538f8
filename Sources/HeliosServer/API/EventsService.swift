import GRPCCore
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// `helios.v1.Events`: the committed events from an index on, first from the log on disk, then live
/// as they are applied. A client that reconnects with the last index it saw resumes without gaps
/// (unless compaction removed those entries: the stream then starts at the oldest retained index,
/// and the jump in `index` shows what was skipped).
struct EventsService: Helios_V1_Events.SimpleServiceProtocol {
    let node: HeliosServerNode

    func stream(
        request: Helios_V1_EventStreamRequest, response: RPCWriter<Helios_V1_EventStreamResponse>, context: ServerContext
    ) async throws {
        for topic in request.topics where !EventTopics.all.contains(topic) {
            throw RPCError(
                code: .invalidArgument,
                message: "topics: '\(topic)' is not a topic; use \(EventTopics.all.sorted().joined(separator: ", "))")
        }
        let topics = Set(request.topics)
        // Subscribe first so nothing applied while the backlog is read is missed.
        let live = node.stateMachine.changes.subscribe()
        var last = request.afterIndex
        let applied = node.stateMachine.read { $0.appliedIndex }

        func send(_ event: Event, at index: UInt64) async throws {
            let (topic, keys) = EventTopics.classify(event)
            guard topics.isEmpty || topics.contains(topic) else { return }
            guard request.key.isEmpty || keys.contains(request.key) else { return }
            try await response.write(.with {
                $0.index = index
                $0.topic = topic
                $0.keys = EventTopics.unique(keys)
                $0.event = event
            })
        }

        // The backlog, read from the log in bounded batches.
        var next = last + 1
        do {
            next = max(next, try node.storage.firstIndex())
        } catch {
            throw RPCError(code: .unavailable, message: "the log cannot be read (\(error)); try another server")
        }
        while next <= applied {
            let upper = min(applied, next + 1_000) + 1
            let entries: [Entry]
            switch Result(catching: { [next] () throws(RaftStorageError) in try node.storage.entries(from: next, to: upper, maxSize: 4 << 20) }) {
            case .success(let read):
                entries = read
            case .failure(.compacted):
                // Compaction overtook the reader: continue from the oldest entry still retained.
                next = max(next + 1, (try? node.storage.firstIndex()) ?? applied + 1)
                continue
            case .failure(let error):
                throw RPCError(code: .unavailable, message: "the log cannot be read at index \(next) (\(error)); try another server")
            }
            guard let final = entries.last else { break }
            for entry in entries where entry.kind == .normal && !entry.data.isEmpty {
                if let event = try? Event(serializedBytes: entry.data) { try await send(event, at: entry.index) }
            }
            last = final.index
            next = last + 1
        }
        last = max(last, applied)
        if request.backlogOnly { return }

        for await change in live {
            if Task.isCancelled { break }
            guard change.index > last else { continue }
            last = change.index
            if let event = change.event { try await send(event, at: change.index) }
        }
        if !Task.isCancelled && node.isStopping {
            throw RPCError(code: .unavailable, message: "server \(node.configuration.nodeID) is shutting down; reconnect with after_index \(last)")
        }
    }
}
