import HeliosProto
import SwiftProtobuf

/// The structural rules every job spec must satisfy before it enters the log (the API checks the
/// same rules first and reports them with field paths).
public enum JobSpecValidator {
    /// The first problem found, as `field: reason`, or nil if the spec is valid.
    public static func problem(in spec: JobSpec) -> String? {
        if spec.id.isEmpty { return "id: must not be empty" }
        if spec.id.count > 128 { return "id: longer than 128 characters" }
        if containsSpaceOrSlash(spec.id) { return "id: must not contain spaces or '/'" }
        if spec.type == .unspecified { return "type: must be service or batch" }
        if spec.groups.isEmpty { return "groups: a job needs at least one group" }
        var groupNames: Set<String> = []
        for (g, group) in spec.groups.enumerated() {
            if group.name.isEmpty { return "groups[\(g)].name: must not be empty" }
            if !groupNames.insert(group.name).inserted { return "groups[\(g)].name: duplicate group \(group.name)" }
            if group.count > 10_000 { return "groups[\(g)].count: \(group.count) is over the limit of 10000" }
            if group.tasks.isEmpty { return "groups[\(g)].tasks: a group needs at least one task" }
            var taskNames: Set<String> = []
            for (t, task) in group.tasks.enumerated() {
                var path: String { "groups[\(g)].tasks[\(t)]" }
                if task.name.isEmpty { return "\(path).name: must not be empty" }
                if !taskNames.insert(task.name).inserted { return "\(path).name: duplicate task \(task.name)" }
                if task.driver != "exec" { return "\(path).driver: unknown driver '\(task.driver)' (only exec is supported)" }
                if task.command.isEmpty { return "\(path).command: must not be empty" }
                if task.resources.cpuMhz == 0 { return "\(path).resources.cpu: must be positive" }
                if task.resources.memoryMb == 0 { return "\(path).resources.memory: must be positive" }
            }
        }
        return nil
    }

    /// Whether a character of `id` is whitespace or '/'. Apply runs this for every registration, so an
    /// ASCII id (nearly all) is checked by its bytes; for ASCII, a byte is whitespace exactly when its
    /// `Character` is (tab to carriage return, space; "\r\n" is one `Character` whose first scalar
    /// is whitespace, and so is its first byte). Anything else goes through `Character`, as before,
    /// so every id is judged as it always was.
    static func containsSpaceOrSlash(_ id: String) -> Bool {
        let ascii = id.utf8.withContiguousStorageIfAvailable { bytes -> Bool? in
            var found = false
            for byte in bytes {
                if byte >= 0x80 { return nil }
                if (0x09...0x0D).contains(byte) || byte == 0x20 || byte == 0x2F { found = true }
            }
            return found
        }
        if let ascii, let found = ascii { return found }
        return id.contains(where: { $0.isWhitespace || $0 == "/" })
    }
}
