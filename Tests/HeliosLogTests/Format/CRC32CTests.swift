import CCRC32C
import HeliosLog
import HeliosTesting
import Testing

@Suite("CRC32C")
struct CRC32CTests {
    @Test("matches the Castagnoli check value and RFC 3720 vectors")
    func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0..<32 as Range<UInt8>)) == 0x46DD_794E)
    }

    @Test("hardware and table implementations agree at every length and alignment", arguments: [1, 2, 3])
    func implementationsAgree(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let data = random.bytes(4096)
        data.withUnsafeBytes { raw in
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4096 - start] {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    let fast = helios_crc32c_extend(0x1234, slice.baseAddress, slice.count)
                    let portable = helios_crc32c_extend_portable(0x1234, slice.baseAddress, slice.count)
                    #expect(fast == portable, "start \(start) length \(length)")
                }
            }
        }
    }

    @Test("extending piecewise equals one pass")
    func piecewise() {
        var random = SeededRandom(seed: 9)
        let data = random.bytes(1000)
        let whole = CRC32C.checksum(data)
        let parts = data.withUnsafeBytes { raw in
            CRC32C.extend(CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: raw[0..<333])), UnsafeRawBufferPointer(rebasing: raw[333...]))
        }
        #expect(whole == parts)
    }
}
