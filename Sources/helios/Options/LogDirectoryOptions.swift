import ArgumentParser
import Foundation
import HeliosLog
import HeliosSnapshot
import Logging

/// `--data-dir` of the offline operator commands (`log inspect|dump|verify`, `snapshot compact`,
/// `state`): a server data directory (its log is in `log/`, its snapshots in `snapshots/`) or, for
/// the log commands, a log directory itself.
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

    /// Opens the log for offline work. A running server holds the log's lock: that is refused with
    /// the log's own message and `whenLocked`, what to do instead.
    func openLog(label: String, whenLocked: String? = nil) throws -> SegmentedLog {
        let directory = try logDirectory()
        var configuration = LogConfiguration()
        configuration.logger = Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            return try SegmentedLog.open(directory: directory, configuration: configuration)
        } catch {
            guard error.code == .locked else { throw error }
            Terminal.error("error: \(error.message)")
            if let whenLocked { Terminal.error(whenLocked) }
            throw ExitCode(1)
        }
    }

    /// The data directory's snapshots (beside its `log/`); a log directory given on its own has none.
    func snapshotDirectory(label: String) throws -> SnapshotDirectory {
        guard try logDirectory() != dataDirectory else {
            throw ValidationError(
                "\(dataDirectory) is a log directory; pass the server's data directory (the one holding log/ and snapshots/)")
        }
        return SnapshotDirectory(path: dataDirectory + "/snapshots", logger: Logger(label: label))
    }
}
