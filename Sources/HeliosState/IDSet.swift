/// A set of ids for the by-job indexes: one per job, and most hold a few ids. Up to
/// ``smallLimit`` ids live in an array (inserting compares them; nothing is hashed), more in a `Set`.
/// Half the memory of a small `Set` and no hashing: loading a snapshot builds hundreds of thousands.
struct IDSet: Sendable {
    private enum Storage: Sendable {
        case small([String])
        case large(Set<String>)
    }

    private var storage: Storage

    /// Past this many ids an array's linear search costs more than hashing.
    static let smallLimit = 16

    init() { storage = .small([]) }

    var count: Int {
        switch storage {
        case .small(let ids): ids.count
        case .large(let ids): ids.count
        }
    }

    var isEmpty: Bool { count == 0 }

    func contains(_ id: String) -> Bool {
        switch storage {
        case .small(let ids): ids.contains(id)
        case .large(let ids): ids.contains(id)
        }
    }

    /// The ids in ascending order.
    func sorted() -> [String] {
        switch storage {
        case .small(let ids): ids.sorted()
        case .large(let ids): ids.sorted()
        }
    }

    /// Adds `id` unless it is there.
    mutating func insert(_ id: String) {
        switch storage {
        case .small(var ids):
            guard !ids.contains(id) else { return }
            storage = .small([])  // `ids` is now the only reference: the append happens in place
            if ids.count < Self.smallLimit {
                // Most jobs have a few allocations and evaluations: room for two from the start.
                if ids.isEmpty { ids.reserveCapacity(2) }
                ids.append(id)
                storage = .small(ids)
            } else {
                var large = Set(ids)
                large.insert(id)
                storage = .large(large)
            }
        case .large(var ids):
            storage = .small([])
            ids.insert(id)
            storage = .large(ids)
        }
    }

    /// Removes `id` if it is there.
    mutating func remove(_ id: String) {
        switch storage {
        case .small(var ids):
            guard let index = ids.firstIndex(of: id) else { return }
            storage = .small([])
            ids.remove(at: index)
            storage = .small(ids)
        case .large(var ids):
            storage = .small([])
            ids.remove(id)
            storage = .large(ids)
        }
    }
}

extension IDSet: Equatable {
    /// Equal when they hold the same ids, whatever their order or storage.
    static func == (lhs: IDSet, rhs: IDSet) -> Bool {
        lhs.count == rhs.count && lhs.sorted() == rhs.sorted()
    }
}

extension IDSet: Sequence {
    /// Iterates the ids in no particular order (``sorted()`` for a stable one).
    struct Iterator: IteratorProtocol {
        fileprivate enum Base {
            case small(IndexingIterator<[String]>)
            case large(Set<String>.Iterator)
        }
        fileprivate var base: Base

        mutating func next() -> String? {
            switch base {
            case .small(var iterator):
                defer { base = .small(iterator) }
                return iterator.next()
            case .large(var iterator):
                defer { base = .large(iterator) }
                return iterator.next()
            }
        }
    }

    func makeIterator() -> Iterator {
        switch storage {
        case .small(let ids): Iterator(base: .small(ids.makeIterator()))
        case .large(let ids): Iterator(base: .large(ids.makeIterator()))
        }
    }

    var underestimatedCount: Int { count }
}
