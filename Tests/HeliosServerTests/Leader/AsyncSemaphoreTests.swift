import Synchronization
import Testing

@testable import HeliosServer

/// Who got a permit, in order.
private final class Order: Sendable {
    let list = Mutex<[Int]>([])
}

@Suite("AsyncSemaphore")
struct AsyncSemaphoreTests {
    @Test("no more holders than permits; a waiter is told it waited and gets a released permit")
    func permits() async throws {
        let semaphore = AsyncSemaphore(permits: 2)
        #expect(await semaphore.acquire() == false)
        #expect(await semaphore.acquire() == false)
        let order = Order()
        let waiters = (1...2).map { n in
            Task {
                let waited = await semaphore.acquire()
                order.list.withLock { $0.append(n) }
                return waited
            }
        }
        // Both waiters must be parked before a permit comes back (bounded: 10 s).
        let deadline = ContinuousClock.now + .seconds(10)
        try await Task.sleep(for: .milliseconds(50))
        #expect(order.list.withLock { $0.isEmpty }, "no permit is free: nobody may get one")
        semaphore.release()
        while order.list.withLock({ $0.count }) < 1 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(order.list.withLock { $0.count } == 1, "one permit released: one waiter goes")
        semaphore.release()
        for waiter in waiters { #expect(await waiter.value == true) }
        #expect(order.list.withLock { $0.count } == 2)
        // Both holders give their permits back: two can be taken again without waiting.
        semaphore.release()
        semaphore.release()
        #expect(await semaphore.acquire() == false)
        #expect(await semaphore.acquire() == false)
    }
}
