import Foundation

/// A fresh directory under the system temporary directory, removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    public let path: String

    /// Creates `…/helios-<label>-<random>`.
    public init(_ label: String = "test") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/helios-\(label)-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// `path/name`.
    public func appending(_ name: String) -> String { path + "/" + name }

    /// Deletes the directory and everything in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Runs `body` with a fresh directory and removes it afterwards, whatever happens.
    public static func with<R>(_ label: String = "test", _ body: (TemporaryDirectory) async throws -> R) async throws -> R {
        let directory = try TemporaryDirectory(label)
        defer { directory.remove() }
        return try await body(directory)
    }

    /// Copies every regular file of this directory into a new temporary directory.
    public func copy(label: String = "copy") throws -> TemporaryDirectory {
        let target = try TemporaryDirectory(label)
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            try FileManager.default.copyItem(atPath: appending(name), toPath: target.appending(name))
        }
        return target
    }
}
