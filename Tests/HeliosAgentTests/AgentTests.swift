import Foundation
import GRPCCore
import HeliosAgent
import HeliosAPI
import HeliosProto
import HeliosTesting
import SwiftProtobuf
import Testing

/// Real servers, real agents, real processes on loopback.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct AgentTests {
    /// Collects a task's log through the server (which relays it from the agent).
    func logs(_ cluster: AgentCluster, _ allocation: String, stderr: Bool = false) async throws -> String {
        try await cluster.allocations.logs(.with {
            $0.allocationID = allocation
            $0.stderr = stderr
        }) { response in
            var text = ""
            for try await chunk in response.messages { text += String(decoding: chunk.data, as: UTF8.self) }
            return text
        }
    }

    @Test func aBatchTaskRunsToCompletionAndItsOutputIsInTheLogs() async throws {
        try await AgentCluster.with { cluster in
            try await cluster.startAgent("a1")
            _ = try await cluster.jobs.register(.with {
                $0.spec = taskJob("hello", command: "/bin/sh", ["-c", "echo 'It replicated!'; echo oops >&2"]) {
                    $0.tasks[0].env = [.with { $0.key = "GREETING"; $0.value = "hi" }]
                }
            })
            let done = try await cluster.waitForAllocations("hello", "complete") { $0.first?.clientStatus == .complete }
            #expect(done[0].taskStates.first?.events.contains { $0.type == "Terminated" && $0.exitCode == 0 } == true)
            #expect(try await logs(cluster, String(done[0].id.prefix(8))) == "It replicated!\n")
            #expect(try await logs(cluster, done[0].id, stderr: true) == "oops\n")
        }
    }

    @Test func aServiceKeepsRunningAndJobStopLeavesNoProcess() async throws {
        try await AgentCluster.with { cluster in
            try await cluster.startAgent("a1")
            _ = try await cluster.jobs.register(.with {
                // The shell starts a child too: the stop must take the whole process group.
                $0.spec = taskJob("svc", type: .service, command: "/bin/sh", ["-c", "sleep 300 & sleep 300"])
            })
            _ = try await cluster.waitForAllocations("svc", "running") { $0.first?.clientStatus == .running }
            try await Task.sleep(for: .milliseconds(500))
            let running = cluster.taskProcesses(agent: "a1")
            #expect(running.count == 1 && running.allSatisfy(\.alive))
            let pgid = running[0].pid
            _ = try await cluster.jobs.stop(.with { $0.jobID = "svc" })
            _ = try await cluster.waitForAllocations("svc", "stopped and complete") {
                $0.first?.desiredStatus == .stop && $0.first?.clientStatus == .complete
            }
            #expect(cluster.taskProcesses(agent: "a1").allSatisfy { !$0.alive })
            // Nothing of the group is left running (the background sleep included). Zombies waiting for
            // a reaper do not count: they run nothing and hold no resources but a pid.
            try await Task.sleep(for: .milliseconds(200))
            #expect(AgentCluster.liveMembers(ofGroup: pgid).isEmpty, "processes of group \(pgid) survived the stop")
        }
    }

    @Test func aFailingTaskIsRestartedPerPolicyThenFails() async throws {
        try await AgentCluster.with { cluster in
            try await cluster.startAgent("a1")
            _ = try await cluster.jobs.register(.with {
                $0.spec = taskJob("exit3", command: "/bin/sh", ["-c", "exit 3"]) {
                    $0.restart = .with {
                        $0.attempts = 2
                        $0.intervalMs = 60_000
                        $0.delayMs = 100
                        $0.mode = .fail
                    }
                    $0.reschedule = .with { $0.attempts = 0 }
                }
            })
            let failed = try await cluster.waitForAllocations("exit3", "failed") { $0.first?.clientStatus == .failed }
            let task = try #require(failed[0].taskStates.first)
            #expect(task.restarts == 2)
            #expect(task.events.filter { $0.type == "Terminated" && $0.exitCode == 3 }.count == 3)
            #expect(failed[0].clientDescription.contains("exhausted the restart policy"))
        }
    }

    @Test func aMissingBinaryFailsWithAClearEventAndTheAgentKeepsGoing() async throws {
        try await AgentCluster.with { cluster in
            try await cluster.startAgent("a1")
            _ = try await cluster.jobs.register(.with {
                $0.spec = taskJob("missing", command: "/no/such/binary") { $0.reschedule = .with { $0.attempts = 0 } }
            })
            let failed = try await cluster.waitForAllocations("missing", "failed") { $0.first?.clientStatus == .failed }
            let event = failed[0].taskStates.first?.events.first { $0.type == "Driver Failure" }
            #expect(event?.message.contains("/no/such/binary: No such file or directory") == true, "\(String(describing: event))")
            // A file that is not executable: permission denied, reported the same way.
            let script = cluster.directory.appending("not-executable.sh")
            _ = FileManager.default.createFile(atPath: script, contents: Data("#!/bin/sh\necho hi\n".utf8), attributes: [.posixPermissions: 0o644])
            _ = try await cluster.jobs.register(.with {
                $0.spec = taskJob("noexec", command: script) { $0.reschedule = .with { $0.attempts = 0 } }
            })
            let denied = try await cluster.waitForAllocations("noexec", "failed") { $0.first?.clientStatus == .failed }
            let deniedEvent = denied[0].taskStates.first?.events.first { $0.type == "Driver Failure" }
            #expect(deniedEvent?.message.contains("not-executable.sh: Permission denied") == true, "\(String(describing: deniedEvent))")
            // The agent still runs the next job.
            _ = try await cluster.jobs.register(.with { $0.spec = taskJob("fine", command: "/bin/true") })
            _ = try await cluster.waitForAllocations("fine", "complete") { $0.first?.clientStatus == .complete }
        }
    }

    @Test func aTaskRunsAsItsUserInADirectoryItOwns() async throws {
        guard getuid() == 0, getpwnam("nobody") != nil else {
            Issue.record("switching users needs root and a 'nobody' user; this test cannot check it here")
            return
        }
        try await AgentCluster.with { cluster in
            // Let other users traverse to the task directory (temporary directories are 0700).
            chmod(cluster.directory.path, 0o755)
            try await cluster.startAgent("a1")
            _ = try await cluster.jobs.register(.with {
                $0.spec = taskJob("who", command: "/bin/sh", ["-c", "id -un; touch owned && echo wrote"]) { $0.tasks[0].user = "nobody" }
            })
            let done = try await cluster.waitForAllocations("who", "complete") { [.complete, .failed].contains($0.first?.clientStatus) }
            #expect(done[0].clientStatus == .complete, "\(done[0].taskStates)")
            #expect(try await logs(cluster, done[0].id) == "nobody\nwrote\n")
            _ = try await cluster.jobs.register(.with {
                $0.spec = taskJob("ghost", command: "/bin/true") {
                    $0.tasks[0].user = "no-such-user-here"
                    $0.reschedule = .with { $0.attempts = 0 }
                }
            })
            let failed = try await cluster.waitForAllocations("ghost", "failed") { $0.first?.clientStatus == .failed }
            let event = failed[0].taskStates.first?.events.first { $0.type == "Driver Failure" }
            #expect(event?.message.contains("user 'no-such-user-here' does not exist on this node") == true, "\(String(describing: event))")
            #expect(failed[0].taskStates.first?.restarts == 0)
        }
    }

    @Test func aTaskOverItsMemoryLimitIsKilledAndTheEventSaysOOM() async throws {
        let attributes = NodeFingerprint.detect().attributes
        guard attributes["cgroup"] != "none" else {
            Issue.record("memory limits cannot be enforced here (\(attributes["driver.exec.limits"] ?? "")); this test needs writable cgroups (root)")
            return
        }
        try await AgentCluster.with { cluster in
            try await cluster.startAgent("a1")
            // 32 MB allowed; the task touches 256 MB.
            _ = try await cluster.jobs.register(.with {
                $0.spec = taskJob("hog", command: "/usr/bin/python3", ["-c", "b = bytearray(256 << 20); print('survived')"], memory: 32) {
                    $0.restart = .with { $0.attempts = 0; $0.mode = .fail }
                    $0.reschedule = .with { $0.attempts = 0 }
                }
            })
            let failed = try await cluster.waitForAllocations("hog", "failed") { $0.first?.clientStatus == .failed }
            let terminated = failed[0].taskStates.first?.events.first { $0.type == "Terminated" }
            #expect(terminated?.oomKilled == true)
            #expect(terminated?.message.contains("OOM") == true)
            #expect(try await logs(cluster, failed[0].id).contains("survived") == false)
        }
    }

    @Test func logsFollowAcrossRotation() async throws {
        try await AgentCluster.with { cluster in
            try await cluster.startAgent("a1")
            // 3 files of at most 1 MB: 2.5 MB of numbered lines, written slowly enough to follow.
            let script = "i=0; while [ $i -lt 26000 ]; do printf '%099d\\n' $i; i=$((i+1)); if [ $((i % 2000)) -eq 0 ]; then sleep 0.1; fi; done"
            _ = try await cluster.jobs.register(.with {
                $0.spec = taskJob("chatty", command: "/bin/sh", ["-c", script]) {
                    $0.tasks[0].logs = .with {
                        $0.maxFiles = 5
                        $0.maxFileSizeMb = 1
                    }
                }
            })
            let running = try await cluster.waitForAllocations("chatty", "started") { !($0.first?.taskStates.isEmpty ?? true) }
            let followed = try await cluster.allocations.logs(.with {
                $0.allocationID = running[0].id
                $0.follow = true
            }) { response in
                var lines = 0
                var files: Set<String> = []
                var pending: [UInt8] = []
                for try await chunk in response.messages {
                    files.insert(chunk.file)
                    pending.append(contentsOf: chunk.data)
                    // Split complete lines in one pass (chunks are up to 1 MB).
                    var start = 0
                    for i in pending.indices where pending[i] == UInt8(ascii: "\n") {
                        let line = String(decoding: pending[start..<i], as: UTF8.self)
                        if Int(line) != lines { Issue.record("line \(lines) out of order: '\(line.prefix(20))'") }
                        lines += 1
                        start = i + 1
                    }
                    pending.removeFirst(start)
                    if lines == 26000 { break }
                }
                return (lines, files)
            }
            #expect(followed.0 == 26000)
            #expect(followed.1.count >= 3, "followed \(followed.1.sorted())")
        }
    }

    @Test func restartingAnAgentReattachesWithoutDuplicates() async throws {
        try await AgentCluster.with { cluster in
            try await cluster.startAgent("a1")
            _ = try await cluster.jobs.register(.with { $0.spec = taskJob("svc", type: .service, command: "/bin/sleep", ["300"]) })
            _ = try await cluster.waitForAllocations("svc", "running") { $0.first?.clientStatus == .running }
            let before = cluster.taskProcesses(agent: "a1")
            await cluster.stopAgent("a1")
            #expect(cluster.taskProcesses(agent: "a1").map(\.alive) == [true], "the task survives the agent")
            try await cluster.startAgent("a1")
            let reattached = try await cluster.waitForAllocations("svc", "re-attached") {
                $0.first?.taskStates.first?.events.contains { $0.type == "Reattached" } == true
            }
            #expect(reattached.count == 1)
            #expect(cluster.taskProcesses(agent: "a1").map(\.pid) == before.map(\.pid), "same process, no duplicate")
        }
    }

    @Test func aDeadAgentsAllocationsAreReplacedOnAnotherAgent() async throws {
        try await AgentCluster.with(heartbeatTTL: .seconds(1)) { cluster in
            try await cluster.startAgent("a1")
            _ = try await cluster.jobs.register(.with { $0.spec = taskJob("svc", type: .service, command: "/bin/sleep", ["300"]) })
            let first = try await cluster.waitForAllocations("svc", "running on a1") { $0.first?.clientStatus == .running }
            #expect(first[0].nodeID == "a1")
            try await cluster.startAgent("a2")
            await cluster.stopAgent("a1")
            let replaced = try await cluster.waitForAllocations("svc", "a replacement running on a2") { allocations in
                allocations.contains { $0.nodeID == "a2" && $0.clientStatus == .running }
                    && allocations.contains { $0.nodeID == "a1" && $0.clientStatus == .lost }
            }
            #expect(replaced.first { $0.nodeID == "a2" }?.previousAllocation == first[0].id)
        }
    }
}
