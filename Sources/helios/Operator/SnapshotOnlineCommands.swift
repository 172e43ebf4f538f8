import ArgumentParser
import Foundation
import HeliosClient
import HeliosLog
import HeliosSnapshot
import HeliosState
import Logging
import Synchronization

/// `helios operator snapshot save FILE`: a snapshot of a running cluster, through the API.
struct SnapshotSaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Save a snapshot of a running cluster's state to FILE (online; checked after download).")

    @OptionGroup var client: ClientOptions

    @Argument(help: "Where to write the snapshot.")
    var file: String

    func run() async throws {
        let temporary = file + ".part"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw CLIError("\(file): cannot be created (does the directory exist, is it writable?)")
        }
        let writer = ChunkWriter(handle)
        do {
            try await client.withClient { client in
                try await client.saveSnapshot { bytes in try writer.write(bytes) }
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        // Check it completely before it takes the final name.
        let loaded: SnapshotReader.Loaded
        do {
            loaded = try SnapshotReader.read(path: temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CLIError("the snapshot the server sent does not check out (\(error)); try again or another server")
        }
        _ = try? FileManager.default.removeItem(atPath: file)
        try FileManager.default.moveItem(atPath: temporary, toPath: file)
        print("Saved snapshot at index \(loaded.header.index) (term \(loaded.header.term)): \(formatBytes(Int64(writer.total))), "
              + "\(loaded.state.jobs.count) jobs, \(loaded.state.nodes.count) nodes, \(loaded.state.allocations.count) allocations -> \(file)")
    }
}

/// Appends chunks to a file handle, counting bytes.
final class ChunkWriter: Sendable {
    private let handle: Mutex<FileHandle>
    private let written = Atomic<Int>(0)
    init(_ handle: FileHandle) { self.handle = Mutex(handle) }
    var total: Int { written.load(ordering: .relaxed) }
    func write(_ bytes: [UInt8]) throws {
        try handle.withLock { try $0.write(contentsOf: bytes) }
        written.add(bytes.count, ordering: .relaxed)
    }
}

/// `helios operator snapshot restore FILE --data-dir DIR`: seed a new server data directory from a
/// saved snapshot (disaster recovery, as `etcdutl snapshot restore`).
struct SnapshotRestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Seed an empty server data directory from a snapshot file (offline disaster recovery).",
        discussion: """
            Restore the same file into each server's new data directory, then start the servers without \
            --bootstrap: they resume from the snapshot's index, term and Raft membership (so give them the \
            same node ids). The data directory must not hold a log yet.
            """)

    @Option(name: .customLong("data-dir"), help: "The new server data directory (created; must not hold a log).")
    var dataDirectory: String

    @Argument(help: "The snapshot file (from 'helios operator snapshot save').")
    var file: String

    func run() async throws {
        let loaded: SnapshotReader.Loaded
        do {
            loaded = try SnapshotReader.read(path: file)
        } catch {
            throw CLIError("snapshot \(file): \(error); it cannot be restored")
        }
        let logDirectory = dataDirectory + "/log"
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? []
        if !existing.isEmpty || FileManager.default.fileExists(atPath: dataDirectory + "/hardstate") {
            throw CLIError("\(dataDirectory) already holds a server's log; restore into a new, empty data directory")
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let snapshots = SnapshotDirectory(path: dataDirectory + "/snapshots", logger: Logger(label: "helios.restore"))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        try snapshots.write(bytes: bytes, index: loaded.header.index, term: loaded.header.term)
        // The log starts right after the snapshot (an empty base segment at index + 1).
        let log = try SegmentedLog.open(directory: logDirectory)
        try await log.purgePrefix(through: loaded.header.index)
        await log.close()
        try HardStateFile(directory: dataDirectory).save(.init(term: loaded.header.term, votedFor: 0, commitIndex: loaded.header.index))
        print("Restored snapshot at index \(loaded.header.index) (term \(loaded.header.term)) into \(dataDirectory): "
              + "\(loaded.state.jobs.count) jobs, \(loaded.state.nodes.count) nodes, \(loaded.state.allocations.count) allocations")
        print("Start the server with this --data-dir and without --bootstrap.")
    }
}
