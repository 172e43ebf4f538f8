/// The Raft hard state (current term, vote, commit index), stored in its own small file.
///
/// Written atomically: the new contents go to `hardstate.tmp`, which is synced, renamed over
/// `hardstate`, and the directory synced. A reader therefore sees the old or the new state, never a mix.
///
/// ```
/// offset size field
///      0    8 magic "HLHARDST"
///      8    4 version (1)
///     12    4 reserved (0)
///     16    8 term
///     24    8 voted for (0 = nobody)
///     32    8 commit index
///     40    4 reserved (0)
///     44    4 CRC32C of bytes 0..<44
/// ```
public struct HardStateFile: Sendable {
    /// The stored values.
    public struct Contents: Sendable, Equatable {
        public var term: UInt64
        public var votedFor: UInt64
        public var commitIndex: UInt64

        public init(term: UInt64 = 0, votedFor: UInt64 = 0, commitIndex: UInt64 = 0) {
            self.term = term
            self.votedFor = votedFor
            self.commitIndex = commitIndex
        }
    }

    static let magicValue: UInt64 = Array("HLHARDST".utf8).withUnsafeBytes { $0.loadLE(UInt64.self, at: 0) }
    static let size = 48
    /// The file name inside the directory.
    public static let fileName = "hardstate"

    public let directory: String
    public let fileSystem: any FileSystem
    var path: String { directory + "/" + Self.fileName }

    public init(directory: String, fileSystem: any FileSystem = PosixFileSystem()) {
        self.directory = directory
        self.fileSystem = fileSystem
    }

    /// The stored state; all zeros if none was ever saved.
    public func load() throws(LogError) -> Contents {
        guard fileSystem.fileExists(path) else { return Contents() }
        let bytes: [UInt8]
        do {
            let file = try fileSystem.openFile(path, create: false, readOnly: true)
            bytes = try file.readUpTo(Self.size + 1, at: 0)
        } catch {
            throw LogError.io(error, while: "reading the hard state")
        }
        guard let contents = Self.decode(bytes) else {
            throw LogError(
                code: .corruption,
                message: "hard state file \(path) is damaged (\(bytes.count) bytes, bad magic or CRC); it is replaced "
                    + "atomically, so this is not a torn write: restore the data directory from a backup or re-join "
                    + "this node to the cluster with an empty data directory",
                segment: Self.fileName, byteOffset: 0)
        }
        return contents
    }

    /// Replaces the stored state atomically and durably.
    public func save(_ contents: Contents) throws(LogError) {
        let temporary = path + ".tmp"
        do {
            let file = try fileSystem.openFile(temporary, create: true, readOnly: false)
            try file.truncate(to: 0)
            try file.write(Self.encode(contents), at: 0)
            try file.synchronize()
            try fileSystem.rename(temporary, to: path)
            try fileSystem.synchronizeDirectory(directory)
        } catch {
            throw LogError.io(error, while: "saving the hard state")
        }
    }

    static func encode(_ contents: Contents) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLE(magicValue)
        bytes.appendLE(UInt32(1))
        bytes.appendLE(UInt32(0))
        bytes.appendLE(contents.term)
        bytes.appendLE(contents.votedFor)
        bytes.appendLE(contents.commitIndex)
        bytes.appendLE(UInt32(0))
        bytes.appendLE(CRC32C.checksum(bytes))
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> Contents? {
        guard bytes.count == size else { return nil }
        return bytes.withUnsafeBytes { raw in
            guard raw.loadLE(UInt64.self, at: 0) == magicValue, raw.loadLE(UInt32.self, at: 8) == 1,
                raw.loadLE(UInt32.self, at: 44) == CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: raw[0..<44]))
            else { return nil }
            return Contents(
                term: raw.loadLE(UInt64.self, at: 16), votedFor: raw.loadLE(UInt64.self, at: 24),
                commitIndex: raw.loadLE(UInt64.self, at: 32))
        }
    }
}
