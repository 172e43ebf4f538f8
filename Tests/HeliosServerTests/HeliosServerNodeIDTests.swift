import Testing

@testable import HeliosServer

@Suite("HeliosServerNode ids")
struct HeliosServerNodeIDTests {
    @Test("ids are 32 hex digits grouped 8-4-4-4-12, every bit in its place")
    func format() {
        #expect(HeliosServerNode.formatID(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210) == "01234567-89ab-cdef-fedc-ba9876543210")
        #expect(HeliosServerNode.formatID(0, 0) == "00000000-0000-0000-0000-000000000000")
        #expect(HeliosServerNode.formatID(.max, .max) == "ffffffff-ffff-ffff-ffff-ffffffffffff")
        let ids = (0..<1000).map { _ in HeliosServerNode.newID() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.count == 36 && $0.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12] })
    }
}
