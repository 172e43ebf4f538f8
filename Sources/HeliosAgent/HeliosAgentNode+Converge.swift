import Foundation
import GRPCCore
import HeliosAPI
import HeliosProto
import Logging
import SwiftProtobuf
import Synchronization

/// Converging the node to the allocations the servers want it to run.
extension HeliosAgentNode {
    /// Starts what should run and is not running, stops what runs and should not. Allocations that
    /// already finished here are never started again (the servers may not have seen the end yet).
    func converge(to allocations: [Allocation]) async {
        let desired = Dictionary(allocations.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        stopOrphanedExecutors(desired: desired)
        for (id, runner) in runners.withLock({ $0 }) {
            guard let allocation = desired[id] else {
                logger.info("allocation removed by the servers; stopping it", metadata: ["allocation": "\(id)"])
                runner.stop()
                continue
            }
            if allocation.desiredStatus != .run || allocation.clientStatus == .lost {
                runner.stop()
            } else {
                runner.restartIfRequested(generation: allocation.restartGeneration, task: allocation.restartTask)
            }
        }
        for allocation in allocations where allocation.desiredStatus == .run && !allocation.clientStatus.isTerminal {
            let known = runners.withLock { $0[allocation.id] != nil } || finished.withLock { $0.contains(allocation.id) }
            if known { continue }
            await start(allocation)
        }
    }

    /// The directory names under `allocs/` whose executors still run but that the servers no longer
    /// want here (purged while the agent was down): stopped once, at the first watch update.
    private func stopOrphanedExecutors(desired: [String: Allocation]) {
        guard orphansChecked.exchange(true, ordering: .relaxed) == false else { return }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: allocationsDirectory)) ?? []
        for id in names where desired[id] == nil || desired[id]!.desiredStatus != .run {
            for state in executorStates(of: id).values where !state.finished {
                logger.info("stopping a task of an allocation the servers no longer assign here", metadata: ["allocation": "\(id)"])
                driver.stop(state)
            }
        }
    }

    /// The executor states recorded for an allocation's tasks, by task name.
    func executorStates(of allocation: String) -> [String: ExecutorState] {
        let directory = allocationsDirectory + "/" + allocation
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var states: [String: ExecutorState] = [:]
        for name in names where name.hasSuffix(".state.json") {
            if let state = ExecutorState.load(directory + "/" + name) { states[String(name.dropLast(".state.json".count))] = state }
        }
        return states
    }

    private func start(_ allocation: Allocation) async {
        let job: JobSpec
        do {
            job = try await jobSpec(allocation.jobID, version: allocation.jobVersion)
        } catch {
            logger.warning("cannot fetch the job of an allocation; will retry", metadata: ["allocation": "\(allocation.id)", "error": "\(error)"])
            return
        }
        guard let group = job.groups.first(where: { $0.name == allocation.taskGroup }) else {
            fail(allocation, "job \(job.id) version \(allocation.jobVersion) has no group \(allocation.taskGroup)")
            return
        }
        let runner: AllocationRunner
        do {
            runner = try AllocationRunner(
                allocation: allocation, group: group, job: job, nodeID: configuration.nodeID, allocationsDirectory: allocationsDirectory,
                driver: driver, report: { [weak self] update in self?.enqueue(update) })
        } catch {
            fail(allocation, "cannot prepare the allocation directory: \(error)")
            return
        }
        let attach = executorStates(of: allocation.id)
        runners.withLock { $0[allocation.id] = runner }
        followState.setActive(allocation.id, true)
        logger.info(attach.isEmpty ? "starting allocation" : "re-attaching to allocation", metadata: [
            "allocation": "\(allocation.id)", "job": "\(allocation.jobID)", "group": "\(allocation.taskGroup)",
        ])
        Task {
            await runner.run(attach: attach)
            self.finished.withLock { _ = $0.insert(allocation.id) }
            self.runners.withLock { _ = $0.removeValue(forKey: allocation.id) }
            self.followState.setActive(allocation.id, false)
        }
    }

    private func fail(_ allocation: Allocation, _ reason: String) {
        logger.error("allocation failed before starting", metadata: ["allocation": "\(allocation.id)", "reason": "\(reason)"])
        finished.withLock { _ = $0.insert(allocation.id) }
        enqueue(.with {
            $0.allocationID = allocation.id
            $0.clientStatus = .failed
            $0.description_p = reason
        })
    }

    /// The spec of a job version (cached; fetched from the servers with a stale read).
    func jobSpec(_ job: String, version: UInt64) async throws -> JobSpec {
        let key = "\(job)@\(version)"
        if let cached = jobSpecs.withLock({ $0[key] }) { return cached }
        let response = try await servers.call { client in
            try await Helios_V1_Jobs.Client(wrapping: client).get(.with {
                $0.jobID = job
                $0.read.stale = true
            }, options: ServerPool.options)
        }
        guard let found = response.job.versions.first(where: { $0.version == version }) else {
            throw AgentError("job \(job) has no version \(version) on the server yet")
        }
        jobSpecs.withLock { $0[key] = found.spec }
        return found.spec
    }
}
