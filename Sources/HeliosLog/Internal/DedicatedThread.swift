import Glibc

/// Starts an OS thread that runs `body` once.
///
/// Blocking system calls (`pwrite`, `fdatasync`) run here instead of on Swift's cooperative thread
/// pool, which has only as many threads as cores.
func startDedicatedThread(name: String, _ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
    let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    precondition(result == 0, "pthread_create failed with \(result): the process is out of threads")
    pthread_detach(thread)
}
