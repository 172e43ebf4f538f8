@testable import HeliosState
import HeliosTesting
import Testing

@Suite("IDSet")
struct IDSetTests {
    @Test("behaves as a Set<String> through inserts and removals across the array/set boundary")
    func matchesSet() {
        var random = SeededRandom(seed: 7)
        var ids = IDSet()
        var reference = Set<String>()
        // Ids from a small pool, so inserts repeat and removals hit; sizes cross smallLimit both ways.
        for step in 0..<5_000 {
            let id = "alloc-\(Int.random(in: 0..<40, using: &random))"
            let growing = (step / 500) % 2 == 0
            if Int.random(in: 0..<10, using: &random) < (growing ? 7 : 3) {
                ids.insert(id)
                reference.insert(id)
            } else {
                ids.remove(id)
                reference.remove(id)
            }
            #expect(ids.count == reference.count)
            #expect(ids.contains(id) == reference.contains(id))
        }
        #expect(ids.sorted() == reference.sorted())
        #expect(Set(ids) == reference)
    }

    @Test("equality ignores insertion order and storage")
    func equality() {
        var forward = IDSet()
        var backward = IDSet()
        let many = (0..<(IDSet.smallLimit + 5)).map { "job-\($0)" }
        for id in many { forward.insert(id) }
        for id in many.reversed() { backward.insert(id) }
        #expect(forward == backward)
        // Shrunk below the limit, a set-backed one still equals an array-backed one with the same ids.
        for id in many.dropFirst(3) {
            forward.remove(id)
        }
        var small = IDSet()
        for id in many.prefix(3).reversed() { small.insert(id) }
        #expect(forward == small)
        small.insert("other")
        #expect(forward != small)
        #expect(IDSet().isEmpty)
    }
}
