import HeliosProto
import HeliosRaft
import HeliosState
import HeliosTesting
import Logging
import SwiftProtobuf
import Testing

@testable import HeliosServer

@Suite("ProjectionStateMachine")
struct ProjectionStateMachineTests {
    @Test("each entry's outcome is kept for its proposer until the ring wraps, and never answers for another entry")
    func outcomes() throws {
        let machine = ProjectionStateMachine(logger: Logger(label: "test"))
        let capacity = UInt64(ProjectionStateMachine.outcomeCapacity)
        let registration = Event.with {
            $0.timeMs = 1_000
            $0.nodeRegistered = .with { $0.node = EventGenerator.node(id: "n1") }
        }
        machine.apply(Entry(index: 1, term: 1, data: try registration.serializedBytes()))
        machine.apply(Entry(index: 2, term: 1, data: [0xFF, 0xFF, 0xFF]))
        #expect(machine.outcome(at: 1)?.applied != nil)
        #expect(machine.outcome(at: 1)?.refused == nil)
        let refused = try #require(machine.outcome(at: 2)?.refused)
        #expect(refused.description.contains("entry 2"))
        #expect(refused.description.contains("payload is not a Helios event"))
        #expect(machine.outcome(at: 3) == nil, "not applied yet")

        // Entry 1 + capacity takes entry 1's slot: asking for 1 must not return its outcome.
        for index in 3...(1 + capacity) { machine.apply(Entry(index: index, term: 1)) }
        #expect(machine.outcome(at: 1) == nil)
        #expect(machine.outcome(at: 1 + capacity)?.index == 1 + capacity)
        #expect(machine.outcome(at: 2)?.refused != nil, "still within the last \(capacity)")
        machine.apply(Entry(index: 2 + capacity, term: 1))
        #expect(machine.outcome(at: 2) == nil)
        #expect(machine.read { $0.appliedIndex } == 2 + capacity)
        #expect(machine.read { $0.nodes.count } == 1)
    }
}
