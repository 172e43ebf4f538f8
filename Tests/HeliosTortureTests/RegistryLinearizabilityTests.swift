import HeliosTesting
import Testing

@Suite("Registry linearizability checker")
struct RegistryLinearizabilityTests {
    func op(_ key: String, _ kind: RegistryOperation.Kind, _ start: UInt64, _ end: UInt64, _ outcome: RegistryOperation.Outcome, client: Int = 0)
        -> RegistryOperation
    {
        RegistryOperation(client: client, key: key, kind: kind, invokedAt: start, completedAt: end, outcome: outcome)
    }

    @Test("sequential and overlapping histories that a single registry could produce pass")
    func linearizable() {
        #expect(RegistryLinearizability.violations(in: [
            op("a", .register, 0, 10, .ok), op("a", .get, 11, 12, .found(stopped: false)), op("a", .stop, 13, 20, .ok),
            op("a", .get, 21, 22, .found(stopped: true)),
        ]).isEmpty)
        // A read overlapping the register may see either state.
        #expect(RegistryLinearizability.violations(in: [op("b", .register, 0, 10, .ok), op("b", .get, 5, 6, .notFound, client: 1)]).isEmpty)
        #expect(RegistryLinearizability.violations(in: [op("b", .register, 0, 10, .ok), op("b", .get, 5, 6, .found(stopped: false), client: 1)]).isEmpty)
        // An unanswered register may have happened (a later read sees it) or not (a later read does not).
        #expect(RegistryLinearizability.violations(in: [op("c", .register, 0, 10, .unknown), op("c", .get, 20, 21, .found(stopped: false))]).isEmpty)
        #expect(RegistryLinearizability.violations(in: [op("d", .register, 0, 10, .unknown), op("d", .get, 20, 21, .notFound)]).isEmpty)
    }

    @Test("lost acknowledged writes, stale reads and reads from the future are caught")
    func violations() {
        // Acknowledged, then a later read does not find it: lost.
        #expect(RegistryLinearizability.violations(in: [op("a", .register, 0, 10, .ok), op("a", .get, 20, 21, .notFound)]) == ["a"])
        // A stop acknowledged, a later read sees it live: stale read.
        #expect(RegistryLinearizability.violations(in: [
            op("b", .register, 0, 1, .ok), op("b", .stop, 2, 3, .ok), op("b", .get, 4, 5, .found(stopped: false)),
        ]) == ["b"])
        // A read sees the job before its register was even invoked.
        #expect(RegistryLinearizability.violations(in: [op("c", .get, 0, 1, .found(stopped: false)), op("c", .register, 2, 3, .ok)]) == ["c"])
        // Two reads disagree in real-time order: live, then absent, with no stop in between.
        #expect(RegistryLinearizability.violations(in: [
            op("d", .register, 0, 1, .ok), op("d", .get, 2, 3, .found(stopped: false)), op("d", .get, 4, 5, .notFound, client: 1),
        ]) == ["d"])
        // Only the bad key is reported.
        #expect(RegistryLinearizability.violations(in: [
            op("ok", .register, 0, 1, .ok), op("bad", .register, 0, 1, .ok), op("bad", .get, 2, 3, .notFound),
        ]) == ["bad"])
    }
}
