/// The appendEntries messages sent to one follower and not yet acknowledged: a ring of
/// (last index, bytes), bounded in count and bytes so a slow follower cannot absorb unbounded memory.
struct Inflights {
    private var buffer: [(index: UInt64, bytes: Int)] = []
    private var start = 0
    private(set) var count = 0
    private(set) var bytes = 0
    let capacity: Int
    let maxBytes: Int

    init(capacity: Int, maxBytes: Int) {
        self.capacity = max(1, capacity)
        self.maxBytes = maxBytes
    }

    var isFull: Bool { count == capacity || (maxBytes > 0 && bytes >= maxBytes) }

    /// Records a message whose last entry is `index`.
    mutating func add(index: UInt64, bytes size: Int) {
        precondition(!isFull, "inflights overflow")
        if buffer.isEmpty { buffer = Array(repeating: (0, 0), count: capacity) }
        buffer[(start + count) % capacity] = (index, size)
        count += 1
        bytes += size
    }

    /// Frees every message whose last index is `<= index`.
    mutating func free(through index: UInt64) {
        while count > 0 && buffer[start].index <= index {
            bytes -= buffer[start].bytes
            start = (start + 1) % capacity
            count -= 1
        }
        if count == 0 { start = 0 }
    }

    /// Frees the oldest message: lets a follower whose window filled with lost messages make progress
    /// (the next append either matches or is rejected, which resets the window).
    mutating func freeFirst() {
        guard count > 0 else { return }
        free(through: buffer[start].index)
    }

    mutating func reset() {
        start = 0
        count = 0
        bytes = 0
    }
}
