import HeliosTesting

/// A seeded byte mutator in libFuzzer's spirit (bit flips, random bytes, inserts, deletes, copies,
/// splices of two seeds): what CI runs where no libFuzzer build is at hand, reproducible from its seed.
struct Mutator {
    var random: SeededRandom
    let seeds: [[UInt8]]

    init(seed: UInt64, seeds: [[UInt8]]) {
        random = SeededRandom(seed: seed)
        self.seeds = seeds.isEmpty ? [[]] : seeds
    }

    mutating func next() -> [UInt8] {
        var bytes = seeds[Int(random.next() % UInt64(seeds.count))]
        for _ in 0..<(1 + Int(random.next() % 4)) { mutate(&bytes) }
        return bytes
    }

    private mutating func position(in bytes: [UInt8]) -> Int { bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count)) }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let at = position(in: bytes)
        let length = 1 + Int(random.next() % 16)
        switch random.next() % 7 {
        case 0 where !bytes.isEmpty:
            bytes[at] ^= UInt8(1 << (random.next() % 8))
        case 1 where !bytes.isEmpty:
            // Interesting values: boundaries of the integer widths the formats use.
            let values: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF]
            bytes[at] = random.chance(0.5) ? values[Int(random.next() % 5)] : UInt8(truncatingIfNeeded: random.next())
        case 2:
            bytes.insert(contentsOf: random.bytes(length), at: at)
        case 3 where !bytes.isEmpty:
            bytes.removeSubrange(at..<min(bytes.count, at + length))
        case 4 where !bytes.isEmpty:
            let from = position(in: bytes)
            let chunk = Array(bytes[from..<min(bytes.count, from + length)])
            bytes.insert(contentsOf: chunk, at: at)
        case 5:
            let other = seeds[Int(random.next() % UInt64(seeds.count))]
            let from = position(in: other)
            bytes = Array(bytes[..<at]) + other[from...]
        default:
            bytes.removeSubrange(at...)
        }
    }
}
