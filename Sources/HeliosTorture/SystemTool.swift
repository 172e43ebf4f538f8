import Foundation

/// Runs a system tool (`ip`, `mount`, ...) to completion; its output becomes the error when it fails.
@discardableResult
func runSystemTool(_ candidates: [String], _ arguments: [String]) throws -> String {
    let binary = candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw TortureError("\(binary) \(arguments.joined(separator: " ")) failed: \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    return text
}
