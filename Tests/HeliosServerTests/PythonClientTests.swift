import Foundation
import HeliosServer
import HeliosTesting
import Testing

extension ServerTests {
    /// Any gRPC client works: Python stubs generated from `Formats/proto` call a Helios cluster.
    @Suite struct PythonClient {
        static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path

        /// The interpreter `tools/test` prepared (`HELIOS_PYTHON`), or `.build/python` from `tools/python-env`.
        static var python: String? {
            if let configured = ProcessInfo.processInfo.environment["HELIOS_PYTHON"] { return configured }
            let local = repository + "/.build/python/bin/python"
            return FileManager.default.isExecutableFile(atPath: local) ? local : nil
        }

        /// On both server stacks: grpc-swift-2's server and the edge layer (`--rpc-stack edge`).
        @Test(arguments: ServerConfiguration.RPCStack.allCases)
        func aPythonGrpcioClientRegistersReadsAndStreams(stack: ServerConfiguration.RPCStack) async throws {
            guard let python = Self.python else {
                Issue.record("no Python with grpcio: run tools/test, or tools/python-env once before swift test")
                return
            }
            try await TemporaryDirectory.with("python") { stubs in
                let protos = Self.repository + "/Formats/proto"
                let files = try FileManager.default.subpathsOfDirectory(atPath: protos + "/helios")
                    .filter { $0.hasSuffix(".proto") }.map { "helios/" + $0 }.sorted()
                let generate = try await run(
                    python, ["-m", "grpc_tools.protoc", "-I", protos, "--python_out=\(stubs.path)", "--grpc_python_out=\(stubs.path)"] + files)
                #expect(generate.status == 0, "protoc for Python failed: \(generate.output)")
                try await TestCluster.with(rpcStack: stack) { cluster in
                    // A follower: the write is forwarded, the read is linearizable.
                    let leader = try await cluster.waitForLeader()
                    let follower = cluster.ids.first { $0 != leader }!
                    let result = try await run(
                        python, [Self.repository + "/Tests/HeliosServerTests/Python/grpc_client_check.py", stubs.path, cluster.peers[follower]!])
                    #expect(result.status == 0, "the Python client failed:\n\(result.output)")
                    #expect(result.output.contains("python grpc client: ok"))
                }
            }
        }

        /// Runs a process to completion (at most 60 s), returning its exit status and combined output.
        func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let reader = Task.detached { pipe.fileHandleForReading.readDataToEndOfFile() }
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning {
                process.terminate()  // our own child, by pid
                process.waitUntilExit()
            }
            let data = await reader.value
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }
}
