import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// What registering a spec changes, one line per difference, for `helios job plan`.
enum JobDiff {
    static func lines(from old: JobSpec?, to new: JobSpec, wasStopped: Bool) -> [String] {
        guard let old else { return ["+ job \(new.id) (\(new.groups.count) group(s), \(new.groups.reduce(0) { $0 + Int($1.count) }) allocation(s))"] }
        var lines: [String] = []
        if wasStopped { lines.append("~ job \(new.id): stopped -> running") }
        if old.type != new.type { lines.append("~ type: \(old.type) -> \(new.type)") }
        if old.priority != new.priority { lines.append("~ priority: \(old.priority) -> \(new.priority)") }
        if old.datacenters != new.datacenters { lines.append("~ datacenters: \(old.datacenters) -> \(new.datacenters)") }
        if old.constraints != new.constraints { lines.append("~ constraints changed") }
        if old.meta != new.meta { lines.append("~ meta changed") }
        let oldGroups = Dictionary(old.groups.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newGroups = Dictionary(new.groups.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for group in new.groups {
            guard let before = oldGroups[group.name] else {
                lines.append("+ group \(group.name) (count \(group.count))")
                continue
            }
            if before.count != group.count { lines.append("~ group \(group.name): count \(before.count) -> \(group.count)") }
            let oldTasks = Dictionary(before.tasks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for task in group.tasks {
                guard let previous = oldTasks[task.name] else {
                    lines.append("+ task \(group.name).\(task.name)")
                    continue
                }
                if previous.command != task.command || previous.args != task.args {
                    lines.append("~ task \(group.name).\(task.name): command changed")
                }
                if previous.env != task.env { lines.append("~ task \(group.name).\(task.name): env changed") }
                if previous.resources != task.resources {
                    lines.append("~ task \(group.name).\(task.name): resources cpu \(previous.resources.cpuMhz) -> \(task.resources.cpuMhz) MHz, memory \(previous.resources.memoryMb) -> \(task.resources.memoryMb) MB")
                }
                if otherSettings(previous) != otherSettings(task) { lines.append("~ task \(group.name).\(task.name): settings changed") }
            }
            for task in before.tasks where !group.tasks.contains(where: { $0.name == task.name }) {
                lines.append("- task \(group.name).\(task.name)")
            }
            if policies(before) != policies(group) { lines.append("~ group \(group.name): policies or constraints changed") }
        }
        for group in old.groups where newGroups[group.name] == nil { lines.append("- group \(group.name)") }
        return lines
    }

    /// A group without its count and tasks.
    private static func policies(_ group: Helios_V1_TaskGroup) -> Helios_V1_TaskGroup {
        var rest = group
        rest.count = 0
        rest.tasks = []
        return rest
    }

    /// A task without the fields reported separately.
    private static func otherSettings(_ task: Helios_V1_Task) -> Helios_V1_Task {
        var rest = task
        rest.command = ""
        rest.args = []
        rest.env = []
        rest.resources = Resources()
        return rest
    }
}
