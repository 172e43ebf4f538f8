import ArgumentParser
import Foundation
import HeliosClient
import HeliosJobFile
import HeliosProto
import SwiftProtobuf

/// Where a job spec comes from: a job file, or (with `--name`) a command line given inline.
struct JobSource: ParsableArguments {
    @Option(help: "Run the command given inline as a job with this name (instead of a job file).")
    var name: String?

    @Option(help: "With --name: service or batch.")
    var type: String = "batch"

    @Option(help: "With --name: how many allocations.")
    var count: UInt32 = 1

    @Option(help: "With --name: memory in MB.")
    var memory: UInt32 = 300

    @Option(help: "With --name: CPU in MHz.")
    var cpu: UInt32 = 100

    @Option(help: "With --name: an environment variable NAME=value (repeatable).")
    var env: [String] = []

    @Argument(parsing: .allUnrecognized, help: "A job file (YAML or JSON), or with --name the command and its arguments.")
    var arguments: [String] = []

    func validate() throws {
        if name == nil {
            guard arguments.count == 1 else {
                throw ValidationError(
                    arguments.isEmpty
                        ? "give a job file (helios job run job.yaml) or a command with --name (helios job run --name hello echo -- hi)"
                        : "give one job file, or --name NAME to run '\(arguments.joined(separator: " "))' inline")
            }
        } else {
            guard !commandLine.isEmpty else { throw ValidationError("--name \(name!) needs a command to run, e.g. echo -- 'hello'") }
            guard ["service", "batch"].contains(type) else { throw ValidationError("--type '\(type)' is not service or batch") }
            for entry in env where !entry.contains("=") { throw ValidationError("--env '\(entry)' is not NAME=value") }
        }
    }

    /// The inline command and its arguments, without the `--` separator.
    var commandLine: [String] {
        var parts = arguments
        if let separator = parts.firstIndex(of: "--") { parts.remove(at: separator) }
        return parts
    }

    /// The spec: parsed from the file, or built from the inline command.
    func spec() throws -> Helios_V1_JobSpec {
        guard let name else { return try Self.load(arguments[0]) }
        let command = commandLine
        return .with {
            $0.id = name
            $0.name = name
            $0.type = type == "service" ? .service : .batch
            $0.priority = 50
            $0.datacenters = ["dc1"]
            $0.groups = [.with {
                $0.name = name
                $0.count = count
                $0.tasks = [.with {
                    $0.name = name
                    $0.driver = "exec"
                    $0.command = command[0]
                    $0.args = Array(command.dropFirst())
                    $0.env = env.sorted().map { entry in
                        let parts = entry.split(separator: "=", maxSplits: 1)
                        return .with {
                            $0.key = String(parts[0])
                            $0.value = parts.count > 1 ? String(parts[1]) : ""
                        }
                    }
                    $0.resources = .with {
                        $0.cpuMhz = cpu
                        $0.memoryMb = memory
                    }
                    $0.killTimeoutMs = 5_000
                    $0.killSignal = "SIGTERM"
                    $0.logs = .with {
                        $0.maxFiles = 10
                        $0.maxFileSizeMb = 10
                    }
                }]
            }]
        }
    }

    /// Reads and parses a job file; `-` reads standard input.
    static func load(_ path: String) throws -> Helios_V1_JobSpec {
        let text: String
        if path == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError("job file \(path): no such file; write an example with 'helios job init', or run a command inline with --name")
            }
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("job file \(path): cannot be read (permissions?)") }
            text = String(decoding: data, as: UTF8.self)
        }
        do {
            return try JobFile.parse(text, file: path)
        } catch {
            throw CLIError("invalid job file \(error)")
        }
    }
}
