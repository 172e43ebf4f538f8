import HeliosLog
import HeliosState
import Logging

/// The snapshots of a data directory (`<data-dir>/snapshots/`): files named
/// `<index:020>-<term:020>.snap`, the newest `retain` kept.
public struct SnapshotDirectory: Sendable {
    public let path: String
    public let retain: Int
    let fileSystem: any FileSystem
    public let logger: Logger

    public init(path: String, retain: Int = 2, fileSystem: any FileSystem = PosixFileSystem(), logger: Logger = Logger(label: "helios.snapshots")) {
        self.path = path
        self.retain = max(1, retain)
        self.fileSystem = fileSystem
        self.logger = logger
    }

    /// A snapshot file's name for a position.
    public static func fileName(index: UInt64, term: UInt64) -> String {
        func pad(_ value: UInt64) -> String {
            let digits = String(value)
            return String(repeating: "0", count: 20 - digits.count) + digits
        }
        return "\(pad(index))-\(pad(term)).snap"
    }

    /// The snapshot files, oldest first: (file name, index, term).
    public func list() throws -> [(name: String, index: UInt64, term: UInt64)] {
        guard fileSystem.fileExists(path) else { return [] }
        return try fileSystem.contentsOfDirectory(path).compactMap { name -> (String, UInt64, UInt64)? in
            guard name.hasSuffix(".snap"), name.count == 46 else { return nil }
            let parts = name.dropLast(5).split(separator: "-")
            guard parts.count == 2, let index = UInt64(parts[0]), let term = UInt64(parts[1]) else { return nil }
            return (name, index, term)
        }.sorted { $0.1 < $1.1 }
    }

    /// Writes a snapshot of `state` and removes all but the newest `retain` snapshots.
    @discardableResult
    public func save(_ state: ClusterState, position: SnapshotPosition, createdAtMs: UInt64) throws -> SnapshotWriter.Summary {
        try fileSystem.createDirectory(path)
        let summary = try SnapshotWriter.write(
            state, position: position, createdAtMs: createdAtMs,
            to: path + "/" + Self.fileName(index: position.index, term: position.term), fileSystem: fileSystem)
        try prune()
        return summary
    }

    /// Stores a snapshot received as bytes (through Raft) after checking it completely.
    public func save(bytes: [UInt8]) throws -> SnapshotReader.Loaded {
        let loaded = try SnapshotReader.read(bytes: bytes, name: "received snapshot")
        try write(bytes: bytes, index: loaded.header.index, term: loaded.header.term)
        return loaded
    }

    /// Stores snapshot bytes that were already checked (header and frame), atomically.
    public func write(bytes: [UInt8], index: UInt64, term: UInt64) throws {
        try fileSystem.createDirectory(path)
        let name = Self.fileName(index: index, term: term)
        let file = try fileSystem.openFile(path + "/" + name + ".tmp", create: true, readOnly: false)
        try file.truncate(to: 0)
        try file.write(bytes, at: 0)
        try file.synchronize()
        try fileSystem.rename(path + "/" + name + ".tmp", to: path + "/" + name)
        try fileSystem.synchronizeDirectory(path)
        try prune()
    }

    /// The newest snapshot that reads back completely (at or below `index` if given). A damaged newer
    /// one is skipped with a warning naming it.
    public func newestValid(atOrBelow index: UInt64 = .max) throws -> SnapshotReader.Loaded? {
        for entry in try list().reversed() where entry.index <= index {
            do {
                return try SnapshotReader.read(path: path + "/" + entry.name, fileSystem: fileSystem)
            } catch {
                logger.warning(
                    "skipping a damaged snapshot; falling back to an older one",
                    metadata: ["file": "\(path)/\(entry.name)", "error": "\(error)"])
            }
        }
        return nil
    }

    /// The raw bytes of a snapshot file (to send through Raft).
    public func bytes(of name: String) throws -> [UInt8] {
        let file = try fileSystem.openFile(path + "/" + name, create: false, readOnly: true)
        return try file.readExactly(Int(try file.size()), at: 0)
    }

    private func prune() throws {
        let all = try list()
        guard all.count > retain else { return }
        for old in all.dropLast(retain) { try fileSystem.removeFile(path + "/" + old.name) }
        try fileSystem.synchronizeDirectory(path)
    }
}
