@testable import HeliosState
import HeliosTesting
import Testing

@Suite("ShardedDictionary")
struct ShardedDictionaryTests {
    @Test("behaves as a Dictionary through inserts, updates and removals while its shards split")
    func matchesDictionary() {
        var random = SeededRandom(seed: 11)
        var table = ShardedDictionary<String, Int>()
        var reference: [String: Int] = [:]
        for step in 0..<40_000 {
            let key = "alloc-\(Int.random(in: 0..<12_000, using: &random))"
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<6:
                table[key] = step
                reference[key] = step
            case 6:
                table[key] = nil
                reference[key] = nil
            case 7:
                table[key, default: 0] += 1
                reference[key, default: 0] += 1
            default:
                #expect(table.removeValue(forKey: key) == reference.removeValue(forKey: key))
            }
            #expect(table[key] == reference[key])
        }
        #expect(table.shardCount > 1, "12,000 keys split past \(ShardedDictionary<String, Int>.splitThreshold) per shard")
        #expect(table.count == reference.count)
        #expect(Dictionary(uniqueKeysWithValues: table.entries.map { ($0.key, $0.value) }) == reference)
        #expect(Set(table.keys) == Set(reference.keys))
        #expect(table.values.sorted() == reference.values.sorted())
    }

    @Test("a change after a copy copies the one shard it touches; the copy keeps the old value")
    func copyOnWritePerShard() {
        var table = ShardedDictionary<String, Int>()
        for i in 0..<50_000 { table["alloc-\(i)"] = i }
        #expect(table.shardCount >= 16)
        let view = table
        let before = Self.storage(table)
        table["alloc-7"] = -1
        table["alloc-7", default: 0] -= 1
        let after = Self.storage(table)
        #expect(zip(before, after).filter { $0 != $1 }.count == 1)
        #expect(view["alloc-7"] == 7)
        #expect(table["alloc-7"] == -2)
        #expect(Self.storage(view) == before, "the view's shards are untouched")
    }

    @Test("reserving capacity shards for the size up front; equality ignores sharding")
    func reserveAndEquality() {
        var reserved = ShardedDictionary<String, Int>()
        reserved.reserveCapacity(20_000)
        let shards = reserved.shardCount
        #expect(shards > 1)
        var grown = ShardedDictionary<String, Int>()
        for i in 0..<20_000 {
            reserved["job-\(i)"] = i
            grown["job-\(19_999 - i)"] = 19_999 - i
        }
        #expect(reserved.shardCount == shards, "filling a reserved table does not split it")
        #expect(reserved == grown)
        grown["job-3"] = 4
        #expect(reserved != grown)
    }

    @Test("ShardedSet behaves as a Set")
    func shardedSet() {
        var random = SeededRandom(seed: 5)
        var set = ShardedSet<String>()
        var reference = Set<String>()
        for _ in 0..<20_000 {
            let id = "eval-\(Int.random(in: 0..<6_000, using: &random))"
            if random.chance(0.7) {
                set.insert(id)
                reference.insert(id)
            } else {
                #expect(set.remove(id) == reference.remove(id))
            }
        }
        #expect(set.count == reference.count)
        #expect(Set(set) == reference)
        #expect(set == ShardedSet(reference))
        #expect(ShardedSet(["a", "b"]) == ["b", "a"])
    }

    /// The address of each shard's storage (a native `Dictionary` is one reference on Linux).
    static func storage<Key, Value>(_ table: ShardedDictionary<Key, Value>) -> [UInt] {
        precondition(MemoryLayout<[Key: Value]>.size == MemoryLayout<UInt>.size)
        return table.shards.map { unsafeBitCast($0, to: UInt.self) }
    }
}
