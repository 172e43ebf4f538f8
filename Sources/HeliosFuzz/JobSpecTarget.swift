import Foundation
import HeliosJobFile
import HeliosProto
import HeliosScheduler
import HeliosState
import HeliosTesting
import SwiftProtobuf

/// Decodes the input as the job spec a Register call carries and takes it where the server does: the
/// state's structural checks and the scheduler's constraint checks; an accepted spec is registered,
/// planned onto 20 nodes (constraints, regexps, versions, spreads on random input) and the plan is
/// committed. Nothing may crash, and a plan made from a state must apply to that same state with no
/// item refused (the scheduler and the plan applier agree).
enum JobSpecTarget: FuzzTarget {
    static let name = "spec"
    static let summary = "job specs as Register receives them: validated, registered, planned on 20 nodes; a fresh plan applies with nothing refused"

    /// 20 ready nodes in two racks.
    static let nodes: ClusterState = {
        var state = ClusterState()
        for n in 1...20 {
            var node = EventGenerator.node(id: "node-\(n)")
            node.attributes.append(.with { $0.key = "rack"; $0.value = "r\(n % 2)" })
            node.attributes.append(.with { $0.key = "kernel.version"; $0.value = "6.1.\(n)" })
            var event = Event()
            event.timeMs = 1_700_000_000_000
            event.nodeRegistered = .with { $0.node = node }
            state.apply(event, at: UInt64(n))
        }
        return state
    }()

    static func seeds() throws -> [[UInt8]] {
        var specs: [Helios_V1_JobSpec] = [try JobFile.parse(JobFile.example, file: "example.yaml"), JobSpecFixture.spec(id: "web")]
        for file in try exampleJobFiles() {
            specs.append(try JobFile.parse(String(decoding: file.bytes, as: UTF8.self), file: file.name))
        }
        return try specs.map { try $0.serializedBytes() }
    }

    static func run(_ input: [UInt8]) -> String {
        guard input.count <= 1 << 20, let spec = try? Helios_V1_JobSpec(serializedBytes: input) else { return "undecodable" }
        if JobSpecValidator.problem(in: spec) != nil { return "refused" }
        let constraints = spec.constraints + spec.groups.flatMap(\.constraints)
        if constraints.contains(where: { ConstraintMatcher.problem($0) != nil }) { return "refused" }
        var state = nodes
        var index = state.appliedIndex
        var register = Event()
        register.timeMs = 1_700_000_100_000
        register.jobRegistered = .with {
            $0.spec = spec
            $0.evaluation = EventGenerator.evaluation(id: "eval-1", job: spec.id)
        }
        index += 1
        guard case .success = state.apply(register, at: index) else { return "refused at apply" }
        var counter = 0
        let scheduler = Scheduler(now: 1_700_000_100_000) {
            counter += 1
            return "alloc-\(counter)"
        }
        guard let evaluation = state.evaluations["eval-1"] else { violated("a registration applied without its evaluation") }
        let plan = scheduler.plan(for: evaluation, in: state)
        var commit = Event()
        commit.timeMs = 1_700_000_100_001
        commit.allocationsPlanned = plan.event(plannedAtIndex: index)
        index += 1
        switch state.apply(commit, at: index) {
        case .success(let applied):
            guard applied.rejected.isEmpty else {
                violated("a plan made from this very state had items refused: \(applied.rejected.map(\.description))")
            }
        case .failure(let rejection):
            violated("a plan made from this very state was refused: \(rejection)")
        }
        return plan.placed.isEmpty ? "planned nothing" : "placed"
    }
}
