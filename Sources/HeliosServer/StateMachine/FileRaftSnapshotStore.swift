import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosSnapshot
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// Raft snapshots as snapshot files in `<data-dir>/snapshots/` (`Formats/snapshot.md`). A Raft
/// snapshot's data is the complete file, so what a follower receives is stored byte for byte.
final class FileRaftSnapshotStore: RaftSnapshotStore, Sendable {
    let directory: SnapshotDirectory
    private let cached = Mutex<Snapshot?>(nil)
    private let loaded = Mutex(false)

    init(directory: SnapshotDirectory) {
        self.directory = directory
    }

    func latest() throws -> Snapshot? {
        if loaded.withLock({ $0 }) { return cached.withLock { $0 } }
        var found: Snapshot?
        for entry in try directory.list().reversed() {
            do {
                let bytes = try directory.bytes(of: entry.name)
                let (header, position) = try SnapshotReader.peek(bytes: bytes, name: entry.name)
                found = Snapshot(
                    metadata: SnapshotMetadata(
                        index: header.index, term: header.term,
                        configuration: ConfigurationState(voters: Set(position.voters), learners: Set(position.learners))),
                    data: bytes)
                break
            } catch {
                directory.logger.warning("skipping a damaged snapshot", metadata: ["file": "\(entry.name)", "error": "\(error)"])
            }
        }
        cached.withLock { $0 = found }
        loaded.withLock { $0 = true }
        return found
    }

    func save(_ snapshot: Snapshot) throws {
        _ = try SnapshotReader.peek(bytes: snapshot.data, name: "snapshot \(snapshot.metadata.index)")
        try directory.write(bytes: snapshot.data, index: snapshot.metadata.index, term: snapshot.metadata.term)
        cached.withLock { $0 = snapshot }
        loaded.withLock { $0 = true }
    }
}
