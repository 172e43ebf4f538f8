import Logging

extension Logger {
    /// A logger that drops everything: for tests that provoke warnings on purpose.
    public static var quiet: Logger {
        Logger(label: "helios.test", factory: { _ in SwiftLogNoOpLogHandler() })
    }
}
