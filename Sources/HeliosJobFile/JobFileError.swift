/// A job file that cannot be used, with where and why: `web.yaml:12: groups[0].tasks[0].comand: unknown
/// key; did you mean 'command'?`.
public struct JobFileError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file as the user named it.
    public var file: String
    /// The 1-based line of the offending value (0 when unknown).
    public var line: Int
    /// The field path, e.g. `groups[0].tasks[1].resources.memory`.
    public var path: String
    /// What is wrong and what is expected.
    public var message: String

    /// Creates an error.
    public init(file: String, line: Int, path: String, message: String) {
        self.file = file
        self.line = line
        self.path = path
        self.message = message
    }

    public var description: String {
        let location = line > 0 ? "\(file):\(line)" : file
        return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}
