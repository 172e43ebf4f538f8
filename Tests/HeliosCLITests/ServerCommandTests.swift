import Foundation
import HeliosTesting
import Testing

@Suite("helios server (the binary): argument checks")
struct ServerCommandTests {
    static func server(_ extra: [String], data: String) -> [String] {
        ["server", "--node-id", "1", "--rpc-addr", "127.0.0.1:1", "--peer", "1=127.0.0.1:1", "--data-dir", data] + extra
    }

    @Test("--segment-size takes KiB/MiB/GiB sizes and refuses nonsense naming the value", arguments: [
        ("lots", "is not a size"), ("12QB", "is not a size"), ("1KiB", "is outside 64KiB...4GiB"), ("8GiB", "is outside 64KiB...4GiB"),
    ])
    func segmentSizeRefused(value: String, message: String) async throws {
        try await TemporaryDirectory.with("server-args") { directory in
            let result = try await runHelios(Self.server(["--segment-size", value], data: directory.path))
            #expect(result.status == 64, "\(result.stderr)")
            #expect(result.stderr.contains("--segment-size") && result.stderr.contains(value) && result.stderr.contains(message), "\(result.stderr)")
        }
    }

    @Test("a server started with --segment-size 64KiB rolls its log at that size")
    func segmentSizeUsed() async throws {
        try await TemporaryDirectory.with("server-segments") { directory in
            let port = try FreePorts.pick(1)[0]
            let data = directory.appending("data")
            let arguments = ["server", "--node-id", "1", "--rpc-addr", "127.0.0.1:\(port)", "--peer", "1=127.0.0.1:\(port)",
                             "--bootstrap", "--data-dir", data, "--segment-size", "64KiB"]
            let processes = ChildProcesses()
            try processes.start("server", heliosBinary().path, arguments, log: directory.appending("server.log"))
            defer { processes.killAll() }
            // Bounded wait for the preallocated first segment: 64 KiB, not the default 64 MiB.
            let deadline = ContinuousClock.now + .seconds(20)
            var sizes: [Int] = []
            while ContinuousClock.now < deadline {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: data + "/log")) ?? []
                sizes = names.filter { $0.hasSuffix(".seg") }.compactMap {
                    (try? FileManager.default.attributesOfItem(atPath: data + "/log/" + $0)[.size] as? NSNumber)?.intValue
                }
                if !sizes.isEmpty { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(sizes == [64 << 10], "segment sizes \(sizes)")
        }
    }
}
