import HeliosRaft

/// The replicated state machine of the simulation: a hash chain over the applied entries. Two nodes
/// that applied the same sequence have the same (index, hash); a snapshot is those 16 bytes.
struct SimulatedStateMachine: Equatable {
    var index: UInt64 = 0
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func apply(_ entry: Entry) {
        index = entry.index
        hash = Self.chain(hash, entry)
    }

    static func chain(_ hash: UInt64, _ entry: Entry) -> UInt64 {
        var h = hash
        func mix(_ byte: UInt8) {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        mix(entry.kind.rawValue)
        for byte in entry.data { mix(byte) }
        for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: entry.term >> UInt64(shift))) }
        return h
    }

    func encoded() -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: index >> UInt64($0 * 8)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: hash >> UInt64($0 * 8)) }
    }

    static func decode(_ bytes: [UInt8]) -> SimulatedStateMachine? {
        guard bytes.count == 16 else { return nil }
        var machine = SimulatedStateMachine()
        machine.index = (0..<8).reduce(0) { $0 | UInt64(bytes[$1]) << UInt64($1 * 8) }
        machine.hash = (0..<8).reduce(0) { $0 | UInt64(bytes[8 + $1]) << UInt64($1 * 8) }
        return machine
    }
}

/// A hash of an entry's content for the log-matching records.
func contentHash(_ entry: Entry) -> UInt64 { SimulatedStateMachine.chain(0x1234_5678, entry) }
