import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Real disk faults, no mocks: one server's data directory on its own small tmpfs that a round fills
/// to the last byte (ENOSPC), and a block-I/O cgroup that throttles a server's writes to the real disk
/// (so each fdatasync takes tens of milliseconds). Needs root; everything is undone by ``tearDown()``.
final class DiskLab: Sendable {
    /// The mount point of the small file system (the data directory of ``fullDiskServer`` lives in it).
    let mount: String
    let fullDiskServer: UInt64 = 3
    /// The throttling cgroup, when this kernel offers one (cgroup v1 blkio or v2 io).
    let throttle: Throttle?

    init(directory: String) throws {
        guard getuid() == 0 else { throw TortureError("disk faults need root (a tmpfs mount, a blkio cgroup); run without --disk-faults") }
        mount = directory + "/server3-disk"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        // Big enough for the run's log and snapshots; tmpfs takes memory only for what is written.
        try runSystemTool(["/usr/bin/mount", "/bin/mount"], ["-t", "tmpfs", "-o", "size=512m", "tmpfs", mount])
        throttle = Throttle(path: directory, tag: "helios-torture-\(getpid())")
    }

    var fillerPath: String { mount + "/filler" }

    /// Takes every free byte of the small file system: the server's next segment, hard-state or
    /// snapshot file fails with ENOSPC. Returns the bytes taken.
    @discardableResult
    func fill() throws -> Int64 {
        let descriptor = open(fillerPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard descriptor >= 0 else { throw TortureError("cannot create \(fillerPath): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var taken: Int64 = 0
        let chunk = [UInt8](repeating: 0xA5, count: 1 << 20)
        var size = chunk.count
        // Megabytes while they fit, then ever smaller writes down to one byte.
        while size > 0 {
            let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, size) }
            if written > 0 {
                taken += Int64(written)
            } else if written < 0 && errno != ENOSPC {
                throw TortureError("filling \(mount) failed: \(String(cString: strerror(errno)))")
            } else {
                size /= 2
            }
        }
        return taken
    }

    /// Gives the space back.
    func drain() {
        unlink(fillerPath)
    }

    func tearDown() {
        drain()
        throttle?.tearDown()
        // Lazy: a server still holding files in it must not keep the mount around.
        _ = try? runSystemTool(["/usr/bin/umount", "/bin/umount"], ["-l", mount])
    }
}

extension DiskLab {
    /// A cgroup that limits writes to the disk under a directory to `writesPerSecond` operations per
    /// second: processes moved into it see slow fdatasyncs on real hardware.
    struct Throttle: Sendable {
        let group: String
        let version: Int
        let device: String

        static let writesPerSecond = 20

        /// nil when neither cgroup v1 blkio throttling nor the v2 io controller is available.
        init?(path: String, tag: String) {
            guard let device = Self.wholeDisk(of: path) else { return nil }
            self.device = device
            let v1 = "/sys/fs/cgroup/blkio"
            if FileManager.default.fileExists(atPath: v1 + "/blkio.throttle.write_iops_device") {
                group = v1 + "/" + tag
                version = 1
            } else if let controllers = try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8),
                      controllers.split(separator: " ").contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "io" }) {
                group = "/sys/fs/cgroup/" + tag
                version = 2
                try? "+io".write(toFile: "/sys/fs/cgroup/cgroup.subtree_control", atomically: false, encoding: .utf8)
            } else {
                return nil
            }
            do {
                try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: false)
                if version == 1 {
                    try "\(device) \(Self.writesPerSecond)".write(toFile: group + "/blkio.throttle.write_iops_device", atomically: false, encoding: .utf8)
                } else {
                    try "\(device) wiops=\(Self.writesPerSecond)".write(toFile: group + "/io.max", atomically: false, encoding: .utf8)
                }
            } catch {
                rmdir(group)
                return nil
            }
        }

        /// Moves `pid` (all its threads) into the throttled group; returns the group it was in.
        func slow(_ pid: Int32) throws -> String {
            let original = Self.currentGroup(of: pid, version: version)
            try "\(pid)".write(toFile: group + "/cgroup.procs", atomically: false, encoding: .utf8)
            return original
        }

        /// Moves `pid` back to `original`.
        func release(_ pid: Int32, to original: String) {
            try? "\(pid)".write(toFile: original + "/cgroup.procs", atomically: false, encoding: .utf8)
        }

        func tearDown() { rmdir(group) }

        var description: String { "cgroup v\(version) write limit of \(Self.writesPerSecond) operations/s on disk \(device)" }

        /// The cgroup directory `pid` is in for the throttling controller.
        static func currentGroup(of pid: Int32, version: Int) -> String {
            let lines = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8))?.split(separator: "\n") ?? []
            for line in lines {
                let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3 else { continue }
                if version == 1, parts[1].split(separator: ",").contains("blkio") { return "/sys/fs/cgroup/blkio" + parts[2] }
                if version == 2, parts[0] == "0" { return "/sys/fs/cgroup" + parts[2] }
            }
            return version == 1 ? "/sys/fs/cgroup/blkio" : "/sys/fs/cgroup"
        }

        /// "major:minor" of the whole disk holding `path` (throttling applies to disks, not partitions).
        static func wholeDisk(of path: String) -> String? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            let major = (info.st_dev >> 8) & 0xfff | ((info.st_dev >> 32) & ~0xfff)
            let minor = (info.st_dev & 0xff) | ((info.st_dev >> 12) & ~0xff)
            let sys = "/sys/dev/block/\(major):\(minor)"
            guard FileManager.default.fileExists(atPath: sys) else { return nil }  // tmpfs, overlay: no block device
            if FileManager.default.fileExists(atPath: sys + "/partition"),
               let parent = try? String(contentsOfFile: sys + "/../dev", encoding: .utf8) {
                return parent.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return "\(major):\(minor)"
        }
    }
}
