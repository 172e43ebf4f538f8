import HeliosLog
import Synchronization

/// Wraps a real file system and lets a test fail or delay chosen operations.
public final class FaultInjectingFileSystem: FileSystem, Sendable {
    /// What a hook decides for one operation.
    public enum Decision: Sendable {
        case proceed
        case fail(errno: Int32)
    }

    /// Called before every file `synchronize()` with the file's path; may block to hold a sync.
    public typealias Hook = @Sendable (_ path: String) -> Decision

    let base: any FileSystem
    private let hooks = Mutex<(sync: Hook?, write: Hook?)>((nil, nil))
    private let counters = Mutex<(syncs: Int, writes: Int)>((0, 0))

    public init(wrapping base: any FileSystem = PosixFileSystem()) {
        self.base = base
    }

    /// Sets the hook consulted before each file sync.
    public func onSynchronize(_ hook: Hook?) { hooks.withLock { $0.sync = hook } }
    /// Sets the hook consulted before each file write.
    public func onWrite(_ hook: Hook?) { hooks.withLock { $0.write = hook } }
    /// File syncs so far.
    public var syncCount: Int { counters.withLock { $0.syncs } }
    /// File writes so far.
    public var writeCount: Int { counters.withLock { $0.writes } }

    func beforeSync(_ path: String) throws(FileSystemError) {
        counters.withLock { $0.syncs += 1 }
        if let hook = hooks.withLock({ $0.sync }), case .fail(let errno) = hook(path) {
            throw FileSystemError(operation: "fdatasync", path: path, errno: errno, detail: "injected fault")
        }
    }

    func beforeWrite(_ path: String) throws(FileSystemError) {
        counters.withLock { $0.writes += 1 }
        if let hook = hooks.withLock({ $0.write }), case .fail(let errno) = hook(path) {
            throw FileSystemError(operation: "pwrite", path: path, errno: errno, detail: "injected fault")
        }
    }

    public func openFile(_ path: String, create: Bool, readOnly: Bool) throws(FileSystemError) -> any File {
        FaultInjectingFile(base: try base.openFile(path, create: create, readOnly: readOnly), owner: self)
    }

    public func contentsOfDirectory(_ path: String) throws(FileSystemError) -> [String] {
        try base.contentsOfDirectory(path)
    }

    public func createDirectory(_ path: String) throws(FileSystemError) { try base.createDirectory(path) }
    public func fileExists(_ path: String) -> Bool { base.fileExists(path) }
    public func removeFile(_ path: String) throws(FileSystemError) { try base.removeFile(path) }
    public func rename(_ source: String, to destination: String) throws(FileSystemError) {
        try base.rename(source, to: destination)
    }
    public func synchronizeDirectory(_ path: String) throws(FileSystemError) { try base.synchronizeDirectory(path) }
}

final class FaultInjectingFile: File, Sendable {
    let base: any File
    let owner: FaultInjectingFileSystem
    var path: String { base.path }

    init(base: any File, owner: FaultInjectingFileSystem) {
        self.base = base
        self.owner = owner
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FileSystemError) -> Int {
        try base.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileSystemError) {
        try owner.beforeWrite(path)
        try base.write(bytes, at: offset)
    }

    func synchronize() throws(FileSystemError) {
        try owner.beforeSync(path)
        try base.synchronize()
    }

    func truncate(to size: Int64) throws(FileSystemError) { try base.truncate(to: size) }
    func preallocate(to size: Int64) throws(FileSystemError) { try base.preallocate(to: size) }
    func size() throws(FileSystemError) -> Int64 { try base.size() }
}
