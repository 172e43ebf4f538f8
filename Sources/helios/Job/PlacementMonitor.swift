import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// Follows an evaluation and the allocations it created, printing each change (like Nomad's
/// evaluation monitor), until they are placed and running (service) or finished (batch).
struct PlacementMonitor {
    enum Outcome { case done, failed, timedOut }

    let client: HeliosClient
    let job: String
    let type: Helios_V1_JobType
    let evaluation: String

    func follow(timeout: Duration) async throws -> Outcome {
        let deadline = ContinuousClock.now + timeout
        var evaluationStatus = ""
        var allocationStatus: [String: String] = [:]
        print("==> Monitoring evaluation \"\(Format.short(evaluation))\"")
        while ContinuousClock.now < deadline {
            let response = try await client.job(job)
            guard let evaluationRecord = response.evaluations.first(where: { $0.id == evaluation }) else {
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            let status = evaluationRecord.status.name
            if status != evaluationStatus {
                if evaluationStatus.isEmpty {
                    print("    Evaluation triggered by \(Format.trigger(evaluationRecord.trigger)) of job \"\(job)\"")
                }
                let detail = evaluationRecord.statusDescription.isEmpty ? "" : " (\(evaluationRecord.statusDescription))"
                print("    Evaluation status: \(status)\(detail)")
                evaluationStatus = status
            }
            let mine = response.allocations.filter { $0.evaluationID == evaluation }
            for allocation in mine.sorted(by: { $0.name < $1.name }) {
                let now = allocation.clientStatus.name
                let before = allocationStatus[allocation.id]
                if before == nil {
                    print("    Allocation \"\(Format.short(allocation.id))\" created: node \"\(Format.short(allocation.nodeID))\", group \"\(allocation.taskGroup)\"")
                }
                if before != now {
                    let reason = allocation.clientDescription.isEmpty ? "" : " (\(allocation.clientDescription))"
                    print("    Allocation \"\(Format.short(allocation.id))\" status: \(now)\(reason)")
                    allocationStatus[allocation.id] = now
                }
            }
            if evaluationRecord.status == .failed || evaluationRecord.status == .blocked {
                print("==> Evaluation \"\(Format.short(evaluation))\" \(status): not every allocation could be placed")
                return .failed
            }
            // Placement failures leave a blocked evaluation behind (it places them when capacity appears).
            if evaluationRecord.status == .complete,
                let blocked = response.evaluations.first(where: { $0.previousEvaluation == evaluation && $0.status == .blocked })
            {
                print("==> Placement failures: \(evaluationRecord.statusDescription.isEmpty ? "not every allocation could be placed" : evaluationRecord.statusDescription)")
                print("    Evaluation \"\(Format.short(blocked.id))\" waits for capacity and places them when it appears (see 'helios node status')")
                return .failed
            }
            if evaluationRecord.status == .complete || evaluationRecord.status == .canceled {
                let finished = type == .batch
                    ? mine.allSatisfy { [.complete, .failed, .lost].contains($0.clientStatus) }
                    : mine.allSatisfy { $0.clientStatus != .pending }
                if finished {
                    let failed = mine.filter { [.failed, .lost].contains($0.clientStatus) }
                    if mine.isEmpty {
                        print("==> Evaluation \"\(Format.short(evaluation))\" complete: nothing to change")
                    } else if failed.isEmpty {
                        print("==> Job \"\(job)\": \(mine.count) allocation(s) \(type == .batch ? "complete" : "running")")
                    } else {
                        print("==> Job \"\(job)\": \(failed.count) of \(mine.count) allocation(s) failed; see 'helios alloc status \(Format.short(failed[0].id))'")
                    }
                    return failed.isEmpty ? .done : .failed
                }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        print("==> Still in progress after the timeout; follow with 'helios job status \(job)'")
        return .timedOut
    }
}
