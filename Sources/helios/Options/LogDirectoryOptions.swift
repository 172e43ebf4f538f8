import ArgumentParser
import Foundation
import HeliosLog

/// `--data-dir`: a server data directory (its log is in `log/`) or a log directory itself.
struct LogDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The data directory (holding log/) or the log directory itself.")
    var dataDirectory: String

    /// The directory that holds the segment files.
    func logDirectory() throws -> String {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: dataDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("data directory \(dataDirectory) does not exist; pass the --data-dir of a Helios server")
        }
        let nested = dataDirectory + "/log"
        if fileManager.fileExists(atPath: nested, isDirectory: &isDirectory), isDirectory.boolValue {
            return nested
        }
        let names = (try? fileManager.contentsOfDirectory(atPath: dataDirectory)) ?? []
        if names.contains(where: { SegmentFileName.parse($0) != nil }) {
            return dataDirectory
        }
        throw ValidationError(
            "no Helios log in \(dataDirectory): expected segment files (*.seg) in \(nested) or in \(dataDirectory) itself")
    }

    /// The data directory's hard state file, if there is one.
    func hardStateDirectory() -> String? {
        let candidates = [dataDirectory, dataDirectory + "/log"]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/" + HardStateFile.fileName) }
    }
}
