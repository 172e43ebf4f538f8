import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time (user + system) used so far by a set of processes and by this process, read at the
/// start and end of a measured window so the benchmark can report CPU per operation for each system
/// next to its throughput: on a machine the servers and the load generator share, throughput follows
/// CPU per operation.
struct CPUMeter: Sendable {
    /// The processes counted as the system under test (the servers the benchmark started).
    var pids: [Int32]
    /// The one among `pids` that leads (its share is reported apart from the followers').
    var leader: Int32?

    struct Reading: Sendable {
        /// Seconds of CPU used by `pids` (all their threads) since they started.
        var servers: Double
        /// The part of `servers` used by the leader.
        var leader: Double
        /// Seconds of CPU used by this process (the load generator) since it started.
        var generator: Double
    }

    func read() -> Reading {
        var reading = Reading(servers: 0, leader: 0, generator: Self.ownSeconds())
        for pid in pids {
            let seconds = Self.processSeconds(pid)
            reading.servers += seconds
            if pid == leader { reading.leader += seconds }
        }
        return reading
    }

    /// User + system time of `pid` from `/proc/<pid>/stat` (fields 14 and 15, in clock ticks), or 0
    /// once it has exited.
    static func processSeconds(_ pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// User + system time of this process (every thread).
    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
