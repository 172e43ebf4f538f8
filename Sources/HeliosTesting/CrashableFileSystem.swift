import HeliosLog
import Synchronization

/// An in-memory file system that remembers what has been made durable, and on ``crash(_:)`` forgets
/// everything else, like a power cut (the LazyFS approach, without FUSE).
///
/// - File data is durable only after ``File/synchronize()`` on that file.
/// - Creations, renames and removals are durable only after ``FileSystem/synchronizeDirectory(_:)``
///   on the parent directory.
/// - A crash can also *tear* unsynced writes: each 512-byte sector of an unsynced write, and each
///   unsynced size change, independently survives or not.
///
/// A pure in-memory double: use it for crash-consistency properties; real-file tests cover the rest.
public final class CrashableFileSystem: FileSystem, Sendable {
    final class Node: Sendable {
        let data: Mutex<NodeData>
        init() { data = Mutex(NodeData()) }
    }

    struct NodeData {
        var current: [UInt8] = []
        var durable: [UInt8] = []
        /// Unsynced changes in order, replayed (partially) by a crash.
        var pending: [Change] = []
    }

    enum Change {
        case write(offset: Int, bytes: [UInt8])
        case resize(Int)
    }

    struct Tree {
        var current: [String: Node] = [:]
        var durable: [String: Node] = [:]
        var directories: Set<String> = []
        var syncCount = 0
        /// Mutations still allowed before the file system freezes (nil: unlimited).
        var mutationBudget: Int?
    }

    private let tree = Mutex(Tree())

    public init() {}

    /// After `count` more mutating calls (writes, syncs, truncations, renames, removals, creations),
    /// every mutating call fails with EIO: the moment the process "dies". Pass nil to lift the limit.
    public func freeze(afterMutations count: Int?) {
        tree.withLock { $0.mutationBudget = count }
    }

    /// Whether the freeze point has been reached.
    public var isFrozen: Bool { tree.withLock { $0.mutationBudget == 0 } }

    /// Consumes one mutation from the budget, or fails once it is spent.
    func mutate(_ operation: String, _ path: String) throws(FileSystemError) {
        let allowed: Bool = tree.withLock { tree in
            guard let budget = tree.mutationBudget else { return true }
            if budget == 0 { return false }
            tree.mutationBudget = budget - 1
            return true
        }
        if !allowed { throw FileSystemError(operation: operation, path: path, errno: 5, detail: "simulated crash") }
    }

    /// Number of `synchronize()` calls on files so far.
    public var fileSyncCount: Int { tree.withLock { $0.syncCount } }

    /// Forgets everything not made durable. With `tearing`, parts of unsynced writes survive.
    public func crash(_ random: inout SeededRandom, tearing: Bool = true) {
        var generator = random
        tree.withLock { tree in
            var survivors: [String: Node] = [:]
            for (path, node) in tree.durable {
                node.data.withLock { data in
                    var bytes = data.durable
                    if tearing {
                        for change in data.pending {
                            switch change {
                            case .resize(let size):
                                if generator.chance(0.5) { Self.resize(&bytes, to: size) }
                            case .write(let offset, let written):
                                var sector = 0
                                while sector < written.count {
                                    let start = offset + sector
                                    let end = min(((start / 512) + 1) * 512, offset + written.count)
                                    if generator.chance(0.5) {
                                        if bytes.count < end { Self.resize(&bytes, to: end) }
                                        bytes.replaceSubrange(start..<end, with: written[(start - offset)..<(end - offset)])
                                    }
                                    sector = end - offset
                                }
                            }
                        }
                    }
                    data.current = bytes
                    data.durable = bytes
                    data.pending = []
                }
                survivors[path] = node
            }
            tree.current = survivors
            tree.durable = survivors
        }
        random = generator
    }

    static func resize(_ bytes: inout [UInt8], to size: Int) {
        if size < bytes.count {
            bytes.removeLast(bytes.count - size)
        } else if size > bytes.count {
            bytes.append(contentsOf: repeatElement(0, count: size - bytes.count))
        }
    }

    /// The current bytes of a file (nil if it does not exist).
    public func contents(of path: String) -> [UInt8]? {
        tree.withLock { $0.current[path] }?.data.withLock { $0.current }
    }

    /// Replaces the current and durable bytes of an existing file (for corruption tests).
    public func overwrite(_ path: String, with bytes: [UInt8]) {
        tree.withLock { $0.current[path] }?.data.withLock { data in
            data.current = bytes
            data.durable = bytes
            data.pending = []
        }
    }

    // MARK: FileSystem

    public func openFile(_ path: String, create: Bool, readOnly: Bool) throws(FileSystemError) -> any File {
        if create && !fileExists(path) { try mutate("open", path) }
        let node: Node? = tree.withLock { tree in
            if let node = tree.current[path] { return node }
            guard create else { return nil }
            let node = Node()
            tree.current[path] = node
            return node
        }
        guard let node else { throw FileSystemError(operation: "open", path: path, errno: 2) }
        return MemoryFile(path: path, node: node, readOnly: readOnly, fileSystem: self)
    }

    public func contentsOfDirectory(_ path: String) throws(FileSystemError) -> [String] {
        let prefix = path + "/"
        return tree.withLock { tree in
            tree.current.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }
        }
    }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        _ = tree.withLock { $0.directories.insert(path) }
    }

    public func fileExists(_ path: String) -> Bool {
        tree.withLock { $0.current[path] != nil || $0.directories.contains(path) }
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        try mutate("unlink", path)
        let removed = tree.withLock { $0.current.removeValue(forKey: path) }
        if removed == nil { throw FileSystemError(operation: "unlink", path: path, errno: 2) }
    }

    public func rename(_ source: String, to destination: String) throws(FileSystemError) {
        try mutate("rename", source)
        let moved: Bool = tree.withLock { tree in
            guard let node = tree.current.removeValue(forKey: source) else { return false }
            tree.current[destination] = node
            return true
        }
        if !moved { throw FileSystemError(operation: "rename", path: source, errno: 2) }
    }

    public func synchronizeDirectory(_ path: String) throws(FileSystemError) {
        try mutate("fsync directory", path)
        let prefix = path + "/"
        tree.withLock { tree in
            tree.durable = tree.durable.filter { !$0.key.hasPrefix(prefix) }
            for (name, node) in tree.current where name.hasPrefix(prefix) { tree.durable[name] = node }
        }
    }

    func countSync() {
        tree.withLock { $0.syncCount += 1 }
    }
}

/// A file of ``CrashableFileSystem``.
final class MemoryFile: File, Sendable {
    let path: String
    let node: CrashableFileSystem.Node
    let readOnly: Bool
    let fileSystem: CrashableFileSystem

    init(path: String, node: CrashableFileSystem.Node, readOnly: Bool, fileSystem: CrashableFileSystem) {
        self.path = path
        self.node = node
        self.readOnly = readOnly
        self.fileSystem = fileSystem
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FileSystemError) -> Int {
        node.data.withLock { data in
            let start = Int(offset)
            guard start < data.current.count else { return 0 }
            let count = min(buffer.count, data.current.count - start)
            data.current.withUnsafeBytes { raw in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)]))
            }
            return count
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileSystemError) {
        if readOnly { throw FileSystemError(operation: "pwrite", path: path, errno: 9) }
        try fileSystem.mutate("pwrite", path)
        let written = Array(bytes)
        node.data.withLock { data in
            let start = Int(offset)
            if data.current.count < start + written.count {
                CrashableFileSystem.resize(&data.current, to: start + written.count)
            }
            data.current.replaceSubrange(start..<(start + written.count), with: written)
            data.pending.append(.write(offset: start, bytes: written))
        }
    }

    func synchronize() throws(FileSystemError) {
        try fileSystem.mutate("fdatasync", path)
        node.data.withLock { data in
            data.durable = data.current
            data.pending = []
        }
        fileSystem.countSync()
    }

    func truncate(to size: Int64) throws(FileSystemError) {
        try fileSystem.mutate("ftruncate", path)
        node.data.withLock { data in
            CrashableFileSystem.resize(&data.current, to: Int(size))
            data.pending.append(.resize(Int(size)))
        }
    }

    func preallocate(to size: Int64) throws(FileSystemError) {
        try fileSystem.mutate("posix_fallocate", path)
        node.data.withLock { data in
            if data.current.count < Int(size) {
                CrashableFileSystem.resize(&data.current, to: Int(size))
                data.pending.append(.resize(Int(size)))
            }
        }
    }

    func size() throws(FileSystemError) -> Int64 {
        node.data.withLock { Int64($0.current.count) }
    }
}
