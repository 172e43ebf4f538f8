/// A dictionary kept as shards chosen by the key's hash, each shard its own copy-on-write buffer.
///
/// A copy of a ``ClusterState`` (a reader's view: a digest, a list, a snapshot being written) costs a
/// reference per table. With one `Dictionary` per table, the writer's next change to a table that
/// a view still shares copied every entry of it: a million allocations stalled apply (and the Raft
/// loop behind it) for tens of milliseconds per table. Here the change copies the one shard it
/// touches, at most ``splitThreshold`` entries.
///
/// A table starts as one shard (a lookup hashes once, as a `Dictionary`'s does) and doubles its
/// shards when one grows past ``splitThreshold`` (moving every entry once, as a `Dictionary`
/// does when it grows). Iteration order is unspecified, as a `Dictionary`'s; nothing the
/// projection computes depends on it.
struct ShardedDictionary<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// The shards; their count is a power of two, and key `k` is in shard `hash(k) & (count - 1)`.
    private(set) var shards: [[Key: Value]]

    /// A shard holding more entries than this splits (all shards double).
    static var splitThreshold: Int { 2_048 }

    init() { shards = [[:]] }

    /// A table of `entries` (a key given twice keeps its first value), built shard by shard: each
    /// key is hashed once for its shard, and each shard is built at its final size (a snapshot load
    /// builds sets of a million ids this way).
    init(entries: [(Key, Value)]) {
        var count = 1
        while entries.count > count * Self.splitThreshold / 2 { count *= 2 }
        guard count > 1 else {
            shards = [Dictionary(entries, uniquingKeysWith: { first, _ in first })]
            return
        }
        var parts = [[(Key, Value)]](repeating: [], count: count)
        for index in parts.indices { parts[index].reserveCapacity(entries.count / count + 16) }
        for entry in entries { parts[entry.0.hashValue & (count - 1)].append(entry) }
        shards = parts.map { Dictionary($0, uniquingKeysWith: { first, _ in first }) }
    }

    /// The shard of `key`. One shard: no hashing beyond the dictionary's own.
    @inline(__always)
    private func shard(of key: Key) -> Int {
        shards.count == 1 ? 0 : key.hashValue & (shards.count - 1)
    }

    /// The number of entries (adds up the shards' counts).
    var count: Int { shards.reduce(0) { $0 + $1.count } }

    var isEmpty: Bool { shards.allSatisfy(\.isEmpty) }

    /// How many shards the entries are in (for tests).
    var shardCount: Int { shards.count }

    /// The value for `key`; setting stores (or, with nil, removes) it.
    subscript(key: Key) -> Value? {
        get { shards[shard(of: key)][key] }
        _modify {
            let index = shard(of: key)
            yield &shards[index][key]
            splitIfNeeded(index)
        }
    }

    /// The value for `key`, or `defaultValue` stored first (as `Dictionary`'s).
    subscript(key: Key, default defaultValue: @autoclosure () -> Value) -> Value {
        get { shards[shard(of: key)][key] ?? defaultValue() }
        _modify {
            let index = shard(of: key)
            yield &shards[index][key, default: defaultValue()]
            splitIfNeeded(index)
        }
    }

    /// Removes `key` and returns its value.
    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        shards[shard(of: key)].removeValue(forKey: key)
    }

    /// The keys, in no particular order.
    var keys: some Collection<Key> {
        shards.lazy.flatMap(\.keys)
    }

    /// The values, in no particular order.
    var values: some Collection<Value> {
        shards.lazy.flatMap(\.values)
    }

    /// Every entry, in no particular order.
    var entries: some Collection<(key: Key, value: Value)> { shards.lazy.joined() }

    /// Makes room for `capacity` entries: the shards a table of that size has, each reserved for its
    /// share, so filling it (a snapshot's load) never splits or rehashes.
    mutating func reserveCapacity(_ capacity: Int) {
        var wanted = shards.count
        while capacity > wanted * Self.splitThreshold / 2 { wanted *= 2 }
        if wanted > shards.count { redistribute(into: wanted) }
        let share = capacity / shards.count + 1
        for index in shards.indices { shards[index].reserveCapacity(share) }
    }

    private mutating func splitIfNeeded(_ index: Int) {
        guard shards[index].count > Self.splitThreshold else { return }
        redistribute(into: shards.count * 2)
    }

    /// Moves every entry into `count` shards.
    private mutating func redistribute(into count: Int) {
        var moved = [[Key: Value]](repeating: [:], count: count)
        let share = self.count / count + 1
        for index in moved.indices { moved[index].reserveCapacity(share) }
        for shard in shards {
            for (key, value) in shard { moved[key.hashValue & (count - 1)][key] = value }
        }
        shards = moved
    }
}

extension ShardedDictionary: Equatable where Value: Equatable {
    /// The same keys with equal values (however the entries are sharded).
    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.count == rhs.count && lhs.entries.allSatisfy { rhs[$0.key] == $0.value }
    }
}

/// A set kept as shards, for the reason and in the way of ``ShardedDictionary`` (the by-node and
/// by-status indexes hold up to every allocation's id).
struct ShardedSet<Element: Hashable & Sendable>: Sendable, Sequence, Equatable {
    private var members = ShardedDictionary<Element, Bool>()

    init() {}

    init<S: Sequence<Element>>(_ elements: S) {
        members = ShardedDictionary(entries: elements.map { ($0, true) })
    }

    var count: Int { members.count }

    var isEmpty: Bool { members.isEmpty }

    func contains(_ element: Element) -> Bool { members[element] != nil }

    mutating func insert(_ element: Element) { members[element] = true }

    @discardableResult
    mutating func remove(_ element: Element) -> Element? {
        members.removeValue(forKey: element) == nil ? nil : element
    }

    mutating func formUnion<S: Sequence<Element>>(_ elements: S) {
        for element in elements { members[element] = true }
    }

    func makeIterator() -> some IteratorProtocol<Element> {
        members.keys.makeIterator()
    }
}

extension ShardedSet: ExpressibleByArrayLiteral {
    init(arrayLiteral elements: Element...) { self.init(elements) }
}
