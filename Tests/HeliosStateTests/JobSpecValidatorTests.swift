import HeliosProto
import HeliosTesting
import Testing

@testable import HeliosState

@Suite("JobSpecValidator")
struct JobSpecValidatorTests {
    /// The rule as it was first written (per `Character`): the byte check must agree with it on
    /// every id, or replicas of different versions would apply the same registration differently.
    private func characterRule(_ id: String) -> Bool {
        id.contains(where: { $0.isWhitespace || $0 == "/" })
    }

    @Test("the id check by bytes agrees with the Character rule")
    func idCheckAgrees() {
        var ids: [String] = ["web", "api-1", "a/b", "a b", "a\r\nb", "\r\n", "tab\there", "x\u{0B}", "x\u{0C}", "x\u{1C}",
                             "x\u{7F}", "é", "a\u{301}", "x\u{A0}y", "x\u{2003}y", "x\u{85}", "/\u{301}", "日本", ""]
        for a in 0..<128 {
            ids.append(String(UnicodeScalar(UInt8(a))))
            ids.append("id" + String(UnicodeScalar(UInt8(a))) + "z")
            for b in [0x0A, 0x0D, 0x20, 0x2F, 0x61] { ids.append(String(UnicodeScalar(UInt8(a))) + String(UnicodeScalar(UInt8(b)))) }
        }
        for id in ids {
            #expect(JobSpecValidator.containsSpaceOrSlash(id) == characterRule(id), "id \(id.debugDescription)")
        }
    }

    @Test("problems name the field")
    func problems() {
        var spec = JobSpecFixture.spec(id: "web")
        #expect(JobSpecValidator.problem(in: spec) == nil)
        spec.id = "a b"
        #expect(JobSpecValidator.problem(in: spec) == "id: must not contain spaces or '/'")
        spec.id = "web"
        spec.groups[0].tasks.append(spec.groups[0].tasks[0])
        spec.groups[0].tasks[1].resources.memoryMb = 0
        #expect(JobSpecValidator.problem(in: spec) == "groups[0].tasks[1].name: duplicate task task")
        spec.groups[0].tasks[1].name = "u"
        #expect(JobSpecValidator.problem(in: spec) == "groups[0].tasks[1].resources.memory: must be positive")
    }
}
