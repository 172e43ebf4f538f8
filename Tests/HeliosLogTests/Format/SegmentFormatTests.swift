@testable import HeliosLog
import HeliosTesting
import Testing

@Suite("Segment format v1 codecs")
struct SegmentFormatTests {
    @Test("a header round-trips and every single-bit flip is rejected")
    func headerRoundTripAndFlips() throws {
        let header = SegmentHeader(firstIndex: 4097, salt: 0xDEAD_BEEF_0BAD_F00D, sequence: 7, previousSalt: 42, isBase: true)
        let bytes = header.encoded()
        #expect(bytes.count == 64)
        #expect(Array(bytes[0..<8]) == Array("HELIOSLG".utf8))
        #expect(try SegmentHeader.decode(bytes).get() == header)
        for byte in 0..<bytes.count {
            var flipped = bytes
            flipped[byte] ^= 0x10
            #expect((try? SegmentHeader.decode(flipped).get()) == nil, "flip at byte \(byte) went unnoticed")
        }
    }

    @Test("a header from a newer format version is reported as such")
    func unsupportedVersion() {
        var bytes = SegmentHeader(firstIndex: 1, salt: 5, sequence: 1, previousSalt: 0, isBase: true).encoded()
        bytes[8] = 2
        let crc = CRC32C.checksum(bytes[0..<60])
        bytes.replaceSubrange(60..<64, with: withUnsafeBytes(of: crc.littleEndian, Array.init))
        #expect(SegmentHeader.decode(bytes) == .failure(.unsupportedVersion(2)))
    }

    @Test("frames are 8-byte aligned and validate only with their own salt")
    func frames() {
        for size in 0..<20 {
            var buffer: [UInt8] = []
            FrameCodec.appendEntry(to: &buffer, salt: 99, index: 5, term: 2, type: 7, payload: [UInt8](repeating: 0xAB, count: size))
            #expect(buffer.count % 8 == 0)
            #expect(buffer.count == SegmentFormat.frameSize(payloadLength: size))
            buffer.withUnsafeBytes { raw in
                let header = try? FrameCodec.validate(raw, at: 0, salt: 99).get()
                #expect(header?.index == 5 && header?.term == 2 && header?.entryType == 7 && header?.kind == .entry)
                #expect((try? FrameCodec.validate(raw, at: 0, salt: 100).get()) == nil, "another segment's salt must not validate")
            }
        }
    }

    @Test("every bit of a frame, padding included, is covered by its checksum")
    func frameBitFlips() {
        var buffer: [UInt8] = []
        FrameCodec.appendEntry(to: &buffer, salt: 3, index: 1, term: 1, type: 0, payload: [1, 2, 3])
        for byte in 0..<buffer.count where !(4..<8).contains(byte) {
            for bit in 0..<8 {
                var flipped = buffer
                flipped[byte] ^= UInt8(1 << bit)
                flipped.withUnsafeBytes { raw in
                    #expect((try? FrameCodec.validate(raw, at: 0, salt: 3).get()) == nil, "byte \(byte) bit \(bit)")
                }
            }
        }
    }

    @Test("index blocks and footers round-trip")
    func indexBlockAndFooter() throws {
        var runs = TermRuns()
        runs.record(index: 10, term: 1)
        runs.record(index: 11, term: 1)
        runs.record(index: 12, term: 4)
        let block = SegmentIndexBlock(offsets: [96, 136, 200], termRuns: runs)
        let decoded = block.encoded().withUnsafeBytes { SegmentIndexBlock.decode($0) }
        #expect(decoded == block)
        #expect(runs.term(at: 10) == 1 && runs.term(at: 11) == 1 && runs.term(at: 12) == 4 && runs.term(at: 9) == nil)

        let footer = SegmentFooter(indexFrameOffset: 240, entryCount: 3, firstIndex: 10, lastIndex: 12, lastTerm: 4)
        var frame: [UInt8] = []
        footer.appendFrame(to: &frame, salt: 8)
        #expect(frame.count == SegmentFormat.footerFrameSize)
        let parsed: SegmentFooter? = frame.withUnsafeBytes { raw in
            guard let header = try? FrameCodec.validate(raw, at: 0, salt: 8).get() else { return nil }
            return SegmentFooter.decode(payload: UnsafeRawBufferPointer(rebasing: raw[32...]), header: header)
        }
        #expect(parsed == footer)
    }

    @Test("segment file names sort by index and reject lookalikes")
    func fileNames() {
        #expect(SegmentFileName.make(firstIndex: 1) == "00000000000000000001.seg")
        #expect(SegmentFileName.make(firstIndex: UInt64.max) == "18446744073709551615.seg")
        #expect(SegmentFileName.parse("00000000000000004097.seg") == 4097)
        for bad in ["00000000000000004097.seg.tmp", "0000000000000004097.seg", "0000000000000000409x.seg", "LOCK", "00000000000000004097.log"] {
            #expect(SegmentFileName.parse(bad) == nil, "\(bad)")
        }
        #expect(SegmentFileName.make(firstIndex: 9) < SegmentFileName.make(firstIndex: 10))
    }
}
