import ArgumentParser
import CCRC32C
import Foundation
import HeliosLog
import HeliosProto
import HeliosSnapshot
import HeliosState
import Logging
import SwiftProtobuf

/// `helios operator state --data-dir DIR [--at-index N] [--json]`: time travel for debugging.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Rebuild and print the cluster state of a stopped server at any index still in its log or snapshots.")

    @OptionGroup var directory: LogDirectoryOptions
    @Option(name: .customLong("at-index"), help: "The log index to rebuild the state at (default: the end of the log).")
    var atIndex: UInt64?
    @Flag(help: "Print the whole state as JSON.") var json = false

    func run() async throws {
        let dataDirectory = directory.dataDirectory
        let snapshots = try directory.snapshotDirectory(label: "helios.state")
        let log = try directory.openLog(label: "helios.state")
        if let atIndex, atIndex > log.lastIndex {
            await log.close()
            throw ValidationError("--at-index \(atIndex) is past the end of the log (last index \(log.lastIndex))")
        }
        let loaded: StateLoader.Loaded
        do {
            loaded = try StateLoader.load(log: log, snapshots: snapshots, through: atIndex)
        } catch {
            await log.close()
            Terminal.error("error: \(error); the oldest reachable index is the oldest snapshot's, or the log's first index \(log.firstIndex)")
            throw ExitCode(1)
        }
        await log.close()
        let state = loaded.state
        let digest = state.digest()
        if json {
            func array<M: SwiftProtobuf.Message>(_ items: [M]) throws -> String {
                "[" + (try items.map { try $0.jsonString() }).joined(separator: ",") + "]"
            }
            let members = try array(state.members.keys.sorted().map { state.members[$0]! })
            let evaluations = try array(state.evaluations.keys.sorted().map { state.evaluations[$0]! })
            let allocations = try array(state.allocations.keys.sorted().map { state.allocations[$0]! })
            print("""
                {"index":\(state.appliedIndex),"term":\(loaded.position.term),"voters":\(loaded.position.voters),\
                "learners":\(loaded.position.learners),"digest":"\(String(digest, radix: 16))",\
                "snapshotIndex":\(loaded.snapshotIndex),"replayedEvents":\(loaded.replayedEvents),"rejectedEvents":\(loaded.rejectedEvents),\
                "members":\(members),"jobs":\(try array(state.sortedJobs)),"nodes":\(try array(state.sortedNodes)),\
                "evaluations":\(evaluations),"allocations":\(allocations)}
                """)
            return
        }
        print("state of \(dataDirectory) at index \(state.appliedIndex) (term \(loaded.position.term)), digest \(String(digest, radix: 16))")
        print("from snapshot \(loaded.snapshotIndex) + \(loaded.replayedEvents) events (\(loaded.rejectedEvents) refused); voters \(loaded.position.voters)")
        print("")
        var jobs = TextTable("JOB", "TYPE", "VERSION", "STATUS", "ALLOCATIONS (running/total)")
        for job in state.sortedJobs {
            let allocations = state.allocations(ofJob: job.id)
            let running = allocations.filter { $0.clientStatus == .running }.count
            let type = job.versions.last?.spec.type == .batch ? "batch" : "service"
            jobs.append([job.id, type, "\(job.versions.last?.version ?? 0)", job.stopped ? "stopped" : "\(job.status)".replacingOccurrences(of: "JOB_STATUS_", with: "").lowercased(), "\(running)/\(allocations.count)"])
        }
        print(state.jobs.isEmpty ? "no jobs" : jobs.render())
        print("")
        var nodes = TextTable("NODE", "NAME", "STATUS", "ELIGIBLE", "CPU (used/total MHz)", "MEMORY (used/total MB)")
        for node in state.sortedNodes {
            let used = state.usedResources(onNode: node.id)
            nodes.append([node.id, node.name, "\(node.status)", node.eligible ? "yes" : "no", "\(used.cpu)/\(node.resources.cpuMhz)", "\(used.memory)/\(node.resources.memoryMb)"])
        }
        print(state.nodes.isEmpty ? "no nodes" : nodes.render())
        print("")
        print("\(state.evaluations.count) evaluations, \(state.allocations.count) allocations")
    }
}
