import HeliosProto
import HeliosSnapshot
import HeliosState
import HeliosTesting
import SwiftProtobuf

/// Decodes the input as a sequence of events (each a 2-byte little-endian length, then a protobuf
/// `Event`) and applies them to a realistic state (200 generated events). Apply must never crash; a refused event must leave
/// the state exactly as it was (only the applied index moves); applying is deterministic (two copies
/// end byte-identical); and every state reached must survive a snapshot written and read back.
enum EventApplyTarget: FuzzTarget {
    static let name = "event"
    static let summary = "events applied to a realistic state: refusals change nothing, apply is deterministic, snapshots round-trip"

    /// 200 generated events: nodes, jobs, plans, client updates, some invalid on purpose (small, so
    /// each input is cheap: every check serializes the whole state).
    static let baseline: (state: ClusterState, events: [Event]) = {
        var generator = EventGenerator(seed: 1202)
        var state = ClusterState()
        var events: [Event] = []
        for index in 1...200 {
            let event = generator.next()
            events.append(event)
            state.apply(event, at: UInt64(index))
        }
        return (state, events)
    }()

    static func seeds() throws -> [[UInt8]] {
        // A few of the generated events, in the input framing, as starting points.
        var seeds: [[UInt8]] = []
        let events = baseline.events
        for start in stride(from: 0, to: events.count, by: 40) {
            var input: [UInt8] = []
            for event in events[start..<min(start + 4, events.count)] {
                let bytes: [UInt8] = try event.serializedBytes()
                input += [UInt8(bytes.count & 0xFF), UInt8(bytes.count >> 8 & 0xFF)] + bytes
            }
            seeds.append(input)
        }
        return seeds
    }

    static func run(_ input: [UInt8]) -> String {
        var state = baseline.state
        var twin = baseline.state
        var offset = 0
        var applied = 0
        var refused = 0
        while offset + 2 <= input.count {
            let length = min(Int(input[offset]) | Int(input[offset + 1]) << 8, input.count - offset - 2)
            let slice = Array(input[(offset + 2)..<(offset + 2 + length)])
            offset += 2 + length
            guard let event = try? Event(serializedBytes: slice) else { continue }
            let index = state.appliedIndex + 1
            let before = state
            let result = state.apply(event, at: index)
            twin.apply(event, at: index)
            if case .success = result { applied += 1 }
            if case .failure(let rejection) = result {
                refused += 1
                var expected = before
                expected.apply(Event(), at: index)  // an event with no kind: refused, only the index moves
                guard state.canonicalBytes() == expected.canonicalBytes() else {
                    violated("a refused event (\(rejection)) changed the state")
                }
            }
        }
        if applied + refused == 0 { return "undecodable" }  // nothing reached the state
        let bytes = state.canonicalBytes()
        guard bytes == twin.canonicalBytes() else { violated("the same events applied to two copies gave different states") }
        do {
            let snapshot = try SnapshotWriter.bytes(state, position: SnapshotPosition(index: state.appliedIndex, term: 1, voters: [1]), createdAtMs: 0)
            let loaded = try SnapshotReader.read(bytes: snapshot, name: "fuzz.snap")
            guard loaded.state.canonicalBytes() == bytes else { violated("a snapshot of the state read back different") }
        } catch {
            violated("a reachable state could not be snapshotted and read back: \(error)")
        }
        return applied > 0 ? "applied" : "refused"
    }
}
