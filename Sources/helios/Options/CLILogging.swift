import ArgumentParser
import Logging

/// The `--log-level` handling the long-running commands (server, agent, dev) share.
enum CLILogging {
    /// Refuses a level swift-log does not know, naming the valid ones.
    static func validate(_ level: String) throws {
        guard Logger.Level(rawValue: level) != nil else {
            throw ValidationError("--log-level '\(level)' is not one of trace, debug, info, notice, warning, error")
        }
    }

    /// Sends every logger to stderr at `level`.
    static func bootstrap(_ level: String, default fallback: Logger.Level = .info) {
        let resolved = Logger.Level(rawValue: level) ?? fallback
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = resolved
            return handler
        }
    }
}
