import HeliosProto
import SwiftProtobuf

/// Job files: YAML or JSON documents describing a job (see Formats/jobspec.md). Parsing fills in
/// Nomad's defaults, so what is registered (and what `helios job inspect` shows) is explicit.
public enum JobFile {
    /// Parses a job file's text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(JobFileError) -> Helios_V1_JobSpec {
        guard let root = try JobFileValue.parse(text, file: file) else {
            throw JobFileError(file: file, line: 0, path: "", message: "the file is empty; write a job with 'helios job init'")
        }
        let job = try JobFileReader(root, file: file, path: "")
        try job.rejectUnknown(["id", "name", "type", "priority", "datacenters", "constraints", "meta", "groups"])
        var spec = Helios_V1_JobSpec()
        spec.name = try job.requiredString("name")
        spec.id = try job.string("id") ?? spec.name
        switch try job.string("type") ?? "service" {
        case "service": spec.type = .service
        case "batch": spec.type = .batch
        case let other: throw job.error("type", "'\(other)' is not service or batch", line: job.value("type")?.line)
        }
        spec.priority = try job.int("priority", Int32(1)...100) ?? 50
        spec.datacenters = try job.stringList("datacenters") ?? ["dc1"]
        spec.constraints = try job.objects("constraints").map(constraint)
        spec.meta = try keyValues(job.stringMap("meta"))
        let groups = try job.objects("groups")
        guard !groups.isEmpty else { throw job.error("groups", "a job needs at least one group with a task") }
        for reader in groups { spec.groups.append(try group(reader, type: spec.type)) }
        var names: Set<String> = []
        for (g, group) in spec.groups.enumerated() where !names.insert(group.name).inserted {
            throw groups[g].error("name", "group '\(group.name)' is defined twice; group names must be unique")
        }
        return spec
    }

    static func group(_ reader: JobFileReader, type: Helios_V1_JobType) throws(JobFileError) -> Helios_V1_TaskGroup {
        try reader.rejectUnknown(["name", "count", "restart", "reschedule", "constraints", "spread", "meta", "tasks"])
        var group = Helios_V1_TaskGroup()
        group.name = try reader.requiredString("name")
        group.count = try reader.int("count", UInt32(0)...10_000) ?? 1
        group.restart = try restart(reader.object("restart"), type: type)
        group.reschedule = try reschedule(reader.object("reschedule"), type: type)
        group.constraints = try reader.objects("constraints").map(constraint)
        for spreadReader in try reader.objects("spread") {
            try spreadReader.rejectUnknown(["attribute", "weight"])
            var spread = Helios_V1_Spread()
            spread.attribute = try spreadReader.requiredString("attribute")
            spread.weight = try spreadReader.int("weight", UInt32(0)...100) ?? 50
            group.spreads.append(spread)
        }
        group.meta = try keyValues(reader.stringMap("meta"))
        let tasks = try reader.objects("tasks")
        guard !tasks.isEmpty else { throw reader.error("tasks", "a group needs at least one task") }
        for taskReader in tasks { group.tasks.append(try task(taskReader)) }
        var names: Set<String> = []
        for (t, task) in group.tasks.enumerated() where !names.insert(task.name).inserted {
            throw tasks[t].error("name", "task '\(task.name)' is defined twice in group '\(group.name)'")
        }
        return group
    }

    static func task(_ reader: JobFileReader) throws(JobFileError) -> Helios_V1_Task {
        try reader.rejectUnknown(["name", "driver", "command", "args", "env", "user", "resources", "kill_timeout", "kill_signal", "logs"])
        var task = Helios_V1_Task()
        task.name = try reader.requiredString("name")
        task.driver = try reader.string("driver") ?? "exec"
        guard task.driver == "exec" else {
            throw reader.error("driver", "'\(task.driver)' is not a driver Helios has; use exec", line: reader.value("driver")?.line)
        }
        task.command = try reader.requiredString("command")
        task.args = try reader.stringList("args") ?? []
        task.env = try keyValues(reader.stringMap("env"))
        task.user = try reader.string("user") ?? ""
        let resources = try reader.object("resources")
        try resources?.rejectUnknown(["cpu", "memory"])
        task.resources = .with {
            $0.cpuMhz = 100
            $0.memoryMb = 300
        }
        if let cpu = try resources?.int("cpu", UInt32(1)...1_000_000) { task.resources.cpuMhz = cpu }
        if let memory = try resources?.int("memory", UInt32(1)...16_777_216) { task.resources.memoryMb = memory }
        task.killTimeoutMs = try reader.durationMS("kill_timeout") ?? 5_000
        task.killSignal = try reader.string("kill_signal") ?? "SIGTERM"
        let logs = try reader.object("logs")
        try logs?.rejectUnknown(["max_files", "max_file_size"])
        task.logs = .with {
            $0.maxFiles = 10
            $0.maxFileSizeMb = 10
        }
        if let files = try logs?.int("max_files", UInt32(1)...1_000) { task.logs.maxFiles = files }
        if let size = try logs?.int("max_file_size", UInt32(1)...10_240) { task.logs.maxFileSizeMb = size }
        return task
    }

    static func restart(_ reader: JobFileReader?, type: Helios_V1_JobType) throws(JobFileError) -> Helios_V1_RestartPolicy {
        // Nomad's defaults: service 2 attempts in 30 min, batch 3 in 24 h; 15 s delay; mode fail.
        var policy = Helios_V1_RestartPolicy.with {
            $0.attempts = type == .batch ? 3 : 2
            $0.intervalMs = type == .batch ? 86_400_000 : 1_800_000
            $0.delayMs = 15_000
            $0.mode = .fail
        }
        guard let reader else { return policy }
        try reader.rejectUnknown(["attempts", "interval", "delay", "mode"])
        if let attempts = try reader.int("attempts", UInt32(0)...1_000) { policy.attempts = attempts }
        if let interval = try reader.durationMS("interval") { policy.intervalMs = interval }
        if let delay = try reader.durationMS("delay") { policy.delayMs = delay }
        switch try reader.string("mode") {
        case nil, "fail": break
        case "delay": policy.mode = .delay
        case let other?: throw reader.error("mode", "'\(other)' is not fail or delay", line: reader.value("mode")?.line)
        }
        return policy
    }

    static func reschedule(_ reader: JobFileReader?, type: Helios_V1_JobType) throws(JobFileError) -> Helios_V1_ReschedulePolicy {
        // Nomad's defaults: service unlimited, exponential from 30 s up to 1 h; batch once in 24 h after 5 s.
        var policy = Helios_V1_ReschedulePolicy.with {
            if type == .batch {
                $0.attempts = 1
                $0.intervalMs = 86_400_000
                $0.delayMs = 5_000
                $0.delayFunction = "constant"
            } else {
                $0.unlimited = true
                $0.delayMs = 30_000
                $0.delayFunction = "exponential"
                $0.maxDelayMs = 3_600_000
            }
        }
        guard let reader else { return policy }
        try reader.rejectUnknown(["attempts", "interval", "delay", "delay_function", "max_delay", "unlimited"])
        if let attempts = try reader.int("attempts", UInt32(0)...1_000) { policy.attempts = attempts }
        if let interval = try reader.durationMS("interval") { policy.intervalMs = interval }
        if let delay = try reader.durationMS("delay") { policy.delayMs = delay }
        if let maxDelay = try reader.durationMS("max_delay") { policy.maxDelayMs = maxDelay }
        if let unlimited = try reader.bool("unlimited") { policy.unlimited = unlimited }
        if let function = try reader.string("delay_function") {
            guard ["constant", "exponential", "fibonacci"].contains(function) else {
                throw reader.error(
                    "delay_function", "'\(function)' is not constant, exponential or fibonacci", line: reader.value("delay_function")?.line)
            }
            policy.delayFunction = function
        }
        return policy
    }

    static func constraint(_ reader: JobFileReader) throws(JobFileError) -> Helios_V1_Constraint {
        try reader.rejectUnknown(["attribute", "operator", "value"])
        var constraint = Helios_V1_Constraint()
        constraint.attribute = try reader.requiredString("attribute")
        constraint.value = try reader.string("value") ?? ""
        switch try reader.string("operator") ?? "=" {
        case "=", "==", "equal": constraint.operator = .equal
        case "!=", "not_equal": constraint.operator = .notEqual
        case "regexp": constraint.operator = .regexp
        case "version": constraint.operator = .version
        case "set_contains": constraint.operator = .setContains
        case let other:
            throw reader.error(
                "operator", "'\(other)' is not one of =, !=, regexp, version, set_contains", line: reader.value("operator")?.line)
        }
        return constraint
    }

    static func keyValues(_ pairs: [(String, String)]?) -> [Helios_V1_KeyValue] {
        (pairs ?? []).map { pair in
            .with {
                $0.key = pair.0
                $0.value = pair.1
            }
        }
    }
}
