import Foundation
import HeliosJobFile
import HeliosProto
import SwiftProtobuf

/// Parses the input as a job file: a job spec or a ``JobFileError`` that names the file, nothing else;
/// and a spec that parsed must survive its own JSON rendering (what `helios job inspect --json` prints
/// parses back to the same spec).
enum JobFileTarget: FuzzTarget {
    static let name = "jobfile"
    static let summary = "YAML/JSON job files: a spec or a JobFileError naming the file; parsed specs round-trip through JSON"

    static func seeds() throws -> [[UInt8]] {
        try exampleJobFiles().map(\.bytes) + [Array(JobFile.example.utf8)]
    }

    static func run(_ input: [UInt8]) -> String {
        let text = String(decoding: input, as: UTF8.self)
        let spec: Helios_V1_JobSpec
        do {
            spec = try JobFile.parse(text, file: "fuzz.yaml")
        } catch {
            guard error.description.hasPrefix("fuzz.yaml") else { violated("a JobFileError that does not start with the file name: \(error.description)") }
            return "refused"
        }
        do {
            let json = try spec.jsonString()
            let again = try Helios_V1_JobSpec(jsonString: json)
            guard again == spec else { violated("the parsed spec changed through JSON: \(json)") }
        } catch {
            violated("the parsed spec does not round-trip through JSON: \(error)")
        }
        return "parsed"
    }
}
