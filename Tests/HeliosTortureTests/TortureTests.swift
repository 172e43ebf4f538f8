import Foundation
import HeliosTesting
import Testing

/// The short CI version of `tools/torture`: the built `helios-torture` against real server processes.
@Suite("Fault rounds (short)", .serialized, .timeLimit(.minutes(5)))
struct TortureTests {
    @Test("eight rounds (leader, follower, all three killed; leader paused; follower and leader partitioned; a full disk; a slow disk): nothing acknowledged lost, equal digests, linearizable, clean logs")
    func shortRun() throws {
        // Partitions need network namespaces and disk faults a tmpfs and a cgroup (root); without
        // root the four process faults still run.
        let partitions = getuid() == 0
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let torture = directory.appendingPathComponent("helios-torture")
        let arguments = ["--rounds", partitions ? "8" : "4", "--seconds", "1", "--clients", "6", "--time-limit", "240",
                         "--helios", directory.appendingPathComponent("helios").path]
            + (partitions ? ["--partitions", "--disk-faults"] : [])
        // Bounded: the run stops itself after --time-limit; the 270 s limit is the backstop.
        let (status, text) = try ChildProcesses.runToEnd(torture.path, arguments, limit: 270)
        #expect(status == 0, "\(text)")
        #expect(text.contains("OK: no acknowledged write lost"), "\(text)")
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("round ") }.count == (partitions ? 8 : 4), "\(text)")
        if !partitions { Issue.record("network partitions and disk faults were not exercised: they need root") }
        if partitions {
            #expect(text.contains("fill server 3's disk"), "\(text)")
            if !text.contains("slow disk through") { Issue.record("no blkio/io cgroup on this machine: the slow-disk round did not run\n\(text)") }
        }
    }
}
