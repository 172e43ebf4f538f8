import Foundation
import GRPCCore
import HeliosAPI
import HeliosProto
import SwiftProtobuf

/// `helios.v1.AgentClient` on the agent's client RPC address: streams task logs from the rotated
/// files, following them across rotation when asked (like `nomad alloc logs -f`) until the allocation
/// stops running here or the agent shuts down.
struct AgentClientService: Helios_V1_AgentClient.SimpleServiceProtocol {
    let allocationsDirectory: String
    let followState: LogFollowState

    func logs(request: Helios_V1_LogsRequest, response: RPCWriter<Helios_V1_LogChunk>, context: ServerContext) async throws {
        let allocation = try resolveAllocation(request.allocationID)
        let logs = allocationsDirectory + "/" + allocation + "/logs"
        let task = try resolveTask(request.task, allocation: allocation, logs: logs)
        let reader = LogReader(directory: logs, task: task, stream: request.stderr ? "stderr" : "stdout")
        var position = reader.startForTail(lines: Int(request.tailLines))
        var sawFinished = false
        while !Task.isCancelled {
            if position == nil { position = reader.startForTail(lines: 0) }
            if let start = position {
                let (chunks, next) = reader.read(from: start)
                for chunk in chunks {
                    try await response.write(.with {
                        $0.file = chunk.file
                        $0.data = chunk.data
                    })
                }
                position = next
                if !chunks.isEmpty { continue }
            }
            guard request.follow, !followState.isStopping else { return }
            if !followState.isActive(allocation) {
                // Finished: read once more (bytes written just before the end), then end the stream.
                if sawFinished { return }
                sawFinished = true
                continue
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func resolveAllocation(_ id: String) throws -> String {
        guard !id.isEmpty, !id.contains("/"), !id.contains("..") else {
            throw RPCError(code: .invalidArgument, message: "allocation_id: '\(id)' is not an allocation id")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: allocationsDirectory)) ?? []
        if names.contains(id) { return id }
        let matches = names.filter { $0.hasPrefix(id) }
        guard matches.count == 1 else {
            throw RPCError(
                code: matches.isEmpty ? .notFound : .invalidArgument,
                message: matches.isEmpty ? "allocation \(id): not on this node" : "allocation_id: prefix '\(id)' matches several allocations")
        }
        return matches[0]
    }

    private func resolveTask(_ task: String, allocation: String, logs: String) throws -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: allocationsDirectory + "/" + allocation)) ?? []
        let tasks = names.filter { $0.hasSuffix(".executor.json") }.map { String($0.dropLast(".executor.json".count)) }.sorted()
        if task.isEmpty {
            guard tasks.count == 1 else {
                throw RPCError(code: .invalidArgument, message: "task: allocation \(allocation) has tasks \(tasks.joined(separator: ", ")); name one")
            }
            return tasks[0]
        }
        guard tasks.contains(task) else {
            throw RPCError(code: .notFound, message: "task \(task): not in allocation \(allocation) (tasks: \(tasks.joined(separator: ", ")))")
        }
        return task
    }
}
