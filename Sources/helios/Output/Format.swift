import Foundation
import HeliosProto
import SwiftProtobuf

/// Rendering values for people: relative times, statuses, short ids, optional color.
enum Format {
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// "3s ago", "5m ago", "2h ago", "4d ago" (or "-" for 0).
    static func ago(ms: UInt64, now: Date = Date()) -> String {
        guard ms > 0 else { return "-" }
        let seconds = max(0, Int(now.timeIntervalSince1970) - Int(ms / 1000))
        switch seconds {
        case ..<60: return "\(seconds)s ago"
        case ..<3600: return "\(seconds / 60)m\(seconds % 60 > 0 ? "\(seconds % 60)s" : "") ago"
        case ..<86_400: return "\(seconds / 3600)h\((seconds % 3600) / 60)m ago"
        default: return "\(seconds / 86_400)d\((seconds % 86_400) / 3600)h ago"
        }
    }

    /// A duration in ms as "250ms", "15s", "30m", "24h".
    static func duration(ms: UInt64) -> String {
        if ms == 0 { return "0s" }
        if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }

    /// The first 8 characters of an id (what people type, as in Nomad).
    static func short(_ id: String) -> String { String(id.prefix(8)) }

    static func desired(_ status: Helios_V1_AllocationDesiredStatus) -> String {
        switch status {
        case .run: "run"
        case .stop: "stop"
        case .evict: "evict"
        default: "unknown"
        }
    }

    static func jobStatus(_ status: Helios_V1_JobStatus, stopped: Bool) -> String {
        if stopped { return "dead (stopped)" }
        switch status {
        case .pending: return "pending"
        case .running: return "running"
        case .dead: return "dead"
        default: return "unknown"
        }
    }

    static func jobType(_ type: Helios_V1_JobType) -> String { type == .batch ? "batch" : "service" }

    static func nodeStatus(_ status: Helios_V1_NodeStatus) -> String {
        switch status {
        case .initializing: "initializing"
        case .ready: "ready"
        case .down: "down"
        default: "unknown"
        }
    }

    static func trigger(_ trigger: Helios_V1_EvaluationTrigger) -> String {
        switch trigger {
        case .jobRegister: "job-register"
        case .jobDeregister: "job-deregister"
        case .nodeUpdate: "node-update"
        case .nodeDrain: "node-drain"
        case .allocationFailure: "alloc-failure"
        case .planRetry: "plan-retry"
        case .reschedule: "reschedule"
        default: "unknown"
        }
    }

    /// Colors `text` when stdout is a terminal (green for good states, red for bad, yellow for in-between).
    static func colored(_ text: String) -> String {
        guard stdoutIsTerminal, ProcessInfo.processInfo.environment["NO_COLOR"] == nil else { return text }
        let code: String
        switch text {
        case "running", "ready", "complete", "eligible", "leader": code = "32"
        case "failed", "lost", "down", "dead", "ineligible": code = "31"
        case "pending", "initializing", "draining", "blocked": code = "33"
        default: return text
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// A message as pretty JSON (protobuf's JSON mapping, field names as in the .proto files).
    static func json(_ message: some SwiftProtobuf.Message) throws -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let compact = try message.jsonString(options: options)
        let object = try JSONSerialization.jsonObject(with: Data(compact.utf8))
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: pretty, as: UTF8.self)
    }

    /// Several messages as one pretty JSON array.
    static func json(_ messages: [some SwiftProtobuf.Message]) throws -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let objects = try messages.map { try JSONSerialization.jsonObject(with: Data(try $0.jsonString(options: options).utf8)) }
        let pretty = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: pretty, as: UTF8.self)
    }

    /// "key = value" lines, aligned.
    static func fields(_ pairs: [(String, String)]) -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + " = " + $0.1 }.joined(separator: "\n")
    }
}
