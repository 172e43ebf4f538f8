import Foundation
import HeliosTesting

/// Runs a system tool (`ip`, `mount`, ...) to completion (60 s at most); its output becomes the
/// error when it fails.
@discardableResult
func runSystemTool(_ candidates: [String], _ arguments: [String]) throws -> String {
    let binary = candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    let (status, output) = try ChildProcesses.runToEnd(binary, arguments, limit: 60)
    guard status == 0 else {
        throw TortureError("\(binary) \(arguments.joined(separator: " ")) failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    return output
}
