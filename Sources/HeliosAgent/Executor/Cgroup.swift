import Foundation

/// Memory and CPU limits for one task through cgroups: v2 where the unified hierarchy is mounted at
/// /sys/fs/cgroup, else the v1 `memory` and `cpu` hierarchies. Each task gets `helios/<alloc>-<task>`.
/// When nothing is writable, ``enforcement`` says so (the limits are then not enforced, and the task
/// events tell the operator).
struct Cgroup {
    enum Version { case v1, v2 }

    let version: Version?
    /// The group directories created (v1: one per controller).
    let directories: [String]
    /// How the limits are enforced, or why they are not.
    let enforcement: String

    static let root = "/sys/fs/cgroup"

    /// Which cgroup version can be used here, and why not if neither.
    static func detect() -> (Version?, String) {
        let fm = FileManager.default
        if fm.fileExists(atPath: root + "/cgroup.controllers") {
            return fm.isWritableFile(atPath: root) ? (.v2, "cgroup v2") : (nil, "cgroup v2 at \(root) is not writable")
        }
        let memory = root + "/memory", cpu = root + "/cpu"
        if fm.isWritableFile(atPath: memory) && fm.isWritableFile(atPath: cpu) { return (.v1, "cgroup v1 (memory, cpu)") }
        return (nil, "no writable cgroup hierarchy (\(memory), \(cpu) or cgroup v2)")
    }

    /// Creates the task's group with its limits; never throws: a failure is reported in `enforcement`.
    static func create(name: String, memoryBytes: UInt64, cpuShares: UInt64) -> Cgroup {
        let (version, description) = detect()
        guard let version else { return Cgroup(version: nil, directories: [], enforcement: "limits not enforced: \(description)") }
        do {
            switch version {
            case .v2:
                let base = root + "/helios"
                try ensureDirectory(base)
                // Controllers must be enabled for the children of both the root and helios/.
                try? write("+memory +cpu", to: root + "/cgroup.subtree_control")
                try? write("+memory +cpu", to: base + "/cgroup.subtree_control")
                let directory = base + "/" + name
                try ensureDirectory(directory)
                if memoryBytes > 0 {
                    try write(String(memoryBytes), to: directory + "/memory.max")
                    try? write("0", to: directory + "/memory.swap.max")
                }
                // cpu.weight is 1...10000; Nomad's shares are MHz: scale 1024 shares ~ weight 100.
                if cpuShares > 0 { try write(String(max(1, min(10_000, cpuShares * 100 / 1024))), to: directory + "/cpu.weight") }
                return Cgroup(version: .v2, directories: [directory], enforcement: "\(description): memory.max \(memoryBytes), cpu.weight")
            case .v1:
                let memory = root + "/memory/helios/" + name
                let cpu = root + "/cpu/helios/" + name
                try ensureDirectory(root + "/memory/helios")
                try ensureDirectory(root + "/cpu/helios")
                try ensureDirectory(memory)
                try ensureDirectory(cpu)
                if memoryBytes > 0 {
                    try write(String(memoryBytes), to: memory + "/memory.limit_in_bytes")
                    // Without swap accounting a task could swap instead of being killed.
                    try? write("0", to: memory + "/memory.swappiness")
                }
                if cpuShares > 0 { try write(String(max(2, cpuShares)), to: cpu + "/cpu.shares") }
                return Cgroup(version: .v1, directories: [memory, cpu], enforcement: "\(description): memory.limit_in_bytes \(memoryBytes), cpu.shares \(cpuShares)")
            }
        } catch {
            return Cgroup(version: nil, directories: [], enforcement: "limits not enforced: \(error)")
        }
    }

    /// Moves `pid` (and so its future children) into the group.
    func add(_ pid: Int32) throws {
        for directory in directories { try Self.write(String(pid), to: directory + "/cgroup.procs") }
    }

    /// Moves `pid` back to the root groups (the executor itself, after it spawned the task).
    func removeToRoot(_ pid: Int32) {
        switch version {
        case .v2: try? Self.write(String(pid), to: Self.root + "/cgroup.procs")
        case .v1:
            try? Self.write(String(pid), to: Self.root + "/memory/cgroup.procs")
            try? Self.write(String(pid), to: Self.root + "/cpu/cgroup.procs")
        case nil: break
        }
    }

    /// Whether the kernel's OOM killer killed something in the group.
    var oomKilled: Bool {
        switch version {
        case .v2:
            return Self.counter("oom_kill", in: directories[0] + "/memory.events") > 0
        case .v1:
            return Self.counter("oom_kill", in: directories[0] + "/memory.oom_control") > 0
                || Self.counter("under_oom", in: directories[0] + "/memory.oom_control") > 0
        case nil:
            return false
        }
    }

    /// Removes the (empty) groups.
    func remove() {
        for directory in directories { rmdir(directory) }
    }

    private static func counter(_ key: String, in path: String) -> UInt64 {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return UInt64(parts[1]) ?? 0 }
        }
        return 0
    }

    private static func ensureDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw ExecutorError("cannot create cgroup \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func write(_ value: String, to path: String) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw ExecutorError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        guard written >= 0 else { throw ExecutorError("cannot write '\(value)' to \(path): \(String(cString: strerror(errno)))") }
    }
}
