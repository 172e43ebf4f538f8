import Foundation
import HeliosCompression
import HeliosTesting
import Testing

@Suite("LZ4 frames over the system liblz4")
struct LZ4FrameTests {
    /// Compressible bytes: repeated words with some noise.
    static func sample(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        let words = ["job", "allocation", "node", "running", "pending", "evaluation", "helios"].map { Array($0.utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            bytes += words[Int(random.next() % UInt64(words.count))]
            bytes.append(UInt8(random.next() % 10) + 48)
        }
        return Array(bytes.prefix(count))
    }

    @Test("round trips at every interesting size", arguments: [0, 1, 100, 65_536, 65_537, 1 << 20, (4 << 20) + 3])
    func roundTrip(size: Int) throws {
        let input = Self.sample(size)
        let compressed = try LZ4Frame.compress(input)
        #expect(try LZ4Frame.decompress(compressed) == input)
        if size >= 65_536 { #expect(compressed.count < input.count / 2) }
    }

    @Test("streaming in small chunks gives the same content with bounded pieces")
    func streaming() throws {
        let input = Self.sample(3 << 20, seed: 2)
        let encoder = try LZ4FrameEncoder(blockSize: .kib64)
        var compressed = try encoder.begin()
        var offset = 0
        while offset < input.count {
            let end = min(offset + 10_000, input.count)
            try encoder.update(Array(input[offset..<end]), into: &compressed)
            offset = end
        }
        try encoder.finish(into: &compressed)
        #expect(encoder.bytesIn == UInt64(input.count) && encoder.bytesOut == UInt64(compressed.count))
        let decoder = try LZ4FrameDecoder()
        var output: [UInt8] = []
        offset = 0
        while offset < compressed.count {
            let end = min(offset + 777, compressed.count)
            try decoder.update(Array(compressed[offset..<end]), into: &output)
            offset = end
        }
        try decoder.finish()
        #expect(output == input)
    }

    /// The error decompressing `bytes` fails with, or nil if it succeeds.
    static func failure(_ bytes: [UInt8]) -> LZ4Error? {
        do {
            _ = try LZ4Frame.decompress(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("truncated and garbage input fail with liblz4's reason")
    func badInput() throws {
        let compressed = try LZ4Frame.compress(Self.sample(100_000))
        #expect(Self.failure(Array(compressed.dropLast(7)))?.reason.contains("truncated") == true)
        let garbage = Self.failure(Array("definitely not lz4".utf8))
        #expect(garbage?.reason.contains("frameType_unknown") == true, "\(String(describing: garbage))")
        var flipped = compressed
        flipped[flipped.count / 2] ^= 0x40
        #expect(Self.failure(flipped) != nil)
    }

    @Test("frames interoperate with the Debian lz4 CLI in both directions")
    func cliInterop() async throws {
        try await TemporaryDirectory.with("lz4") { directory in
            let input = Self.sample(2_500_000, seed: 3)
            let raw = directory.appending("input.bin")
            try Data(input).write(to: URL(fileURLWithPath: raw))

            // Ours -> lz4 -d
            try Data(try LZ4Frame.compress(input)).write(to: URL(fileURLWithPath: directory.appending("ours.lz4")))
            try Self.lz4(["-t", directory.appending("ours.lz4")])
            try Self.lz4(["-d", "-f", directory.appending("ours.lz4"), directory.appending("ours.out")])
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory.appending("ours.out"))) == Data(input))

            // lz4 (default, -9, block-dependent without frame checksum) -> ours
            for (name, flags) in [("default", [String]()), ("hc", ["-9"]), ("dependent", ["--no-frame-crc", "-BD", "-B4"])] {
                let file = directory.appending("\(name).lz4")
                try Self.lz4(flags + ["-f", raw, file])
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
                #expect(try LZ4Frame.decompress(bytes) == input, "lz4 \(flags)")
            }
            // Two concatenated frames decode to both contents.
            let both = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.appending("default.lz4"))))
                + (try LZ4Frame.compress(Array("tail".utf8)))
            #expect(try LZ4Frame.decompress(both) == input + Array("tail".utf8))
        }
    }

    static func lz4(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/lz4")
        process.arguments = ["-q"] + arguments
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw LZ4Error(operation: "lz4 \(arguments.joined(separator: " "))", reason: "exit status \(process.terminationStatus)")
        }
    }
}
