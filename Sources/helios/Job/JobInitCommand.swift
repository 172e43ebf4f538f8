import ArgumentParser
import Foundation
import HeliosClient
import HeliosJobFile

/// `helios job init`: write a commented example job file.
struct JobInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Write a commented example job file.")

    @Flag(help: "Overwrite the file if it exists.")
    var force = false

    @Argument(help: "Where to write it.")
    var file: String = "example.yaml"

    func run() async throws {
        if FileManager.default.fileExists(atPath: file) && !force {
            throw CLIError("\(file) already exists; pass --force to overwrite it or name another file")
        }
        guard FileManager.default.createFile(atPath: file, contents: Data((JobFile.example + "\n").utf8)) else {
            throw CLIError("\(file): cannot be written (does the directory exist, is it writable?)")
        }
        print("Example job written to \(file); run it with 'helios job run \(file)'")
    }
}
