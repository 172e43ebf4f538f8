import Foundation
import HeliosProto
import SwiftProtobuf

/// What this machine offers, read from /proc and uname: cores, CPU MHz in total, memory, and the
/// attributes constraints match on (`kernel.name`, `kernel.version`, `os.name`, `cpu.arch`,
/// `unique.hostname`, `cpu.numcores`, `driver.exec`, `cgroup`).
public enum NodeFingerprint {
    public static func detect() -> (resources: Resources, attributes: [String: String]) {
        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let mhz = cpuMHz() ?? 1_000
        let memoryMB = (memoryKB() ?? 1_048_576) / 1024
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        var attributes: [String: String] = [
            "kernel.name": field(name.sysname).lowercased(),
            "kernel.version": field(name.release).split(separator: "-").first.map(String.init) ?? field(name.release),
            "cpu.arch": field(name.machine),
            "unique.hostname": field(name.nodename),
            "cpu.numcores": String(cores),
            "cpu.frequency": String(Int(mhz)),
            "memory.totalbytes": String(memoryMB << 20),
            "driver.exec": "1",
        ]
        if let os = osRelease() {
            attributes["os.name"] = os.name
            attributes["os.version"] = os.version
        }
        let (version, description) = Cgroup.detect()
        attributes["cgroup"] = version == nil ? "none" : (version == .v2 ? "v2" : "v1")
        attributes["driver.exec.limits"] = version == nil ? "not enforced: \(description)" : "enforced"
        let resources = Resources.with {
            $0.cpuMhz = UInt32(Double(cores) * mhz)
            $0.memoryMb = UInt32(memoryMB)
        }
        return (resources, attributes)
    }

    static func cpuMHz() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("cpu MHz") {
            if let value = line.split(separator: ":").last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) { return value }
        }
        return nil
    }

    static func memoryKB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            return line.split(separator: " ").compactMap { Int($0) }.first
        }
        return nil
    }

    static func osRelease() -> (name: String, version: String)? {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return nil }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        guard let id = values["ID"] else { return nil }
        return (id, values["VERSION_ID"] ?? "")
    }
}
