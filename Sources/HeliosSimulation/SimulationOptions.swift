import HeliosTesting

/// The knobs of one simulated run. ``random(seed:)`` draws them from the seed, so a seed alone
/// reproduces a run.
public struct SimulationOptions: Sendable, CustomStringConvertible {
    public var seed: UInt64
    /// Voters at the start.
    public var nodes: Int = 3
    /// Simulated microseconds of the faulty phase.
    public var faultyDuration: UInt64 = 1_500_000
    /// Simulated microseconds allowed, after faults stop, for a leader to emerge and a write to commit.
    public var livenessBudget: UInt64 = 3_000_000
    /// Microseconds per tick (each node's rate varies by up to ±`tickSkew`).
    public var tickInterval: UInt64 = 10_000
    public var tickSkew: Double = 0.2
    /// Network: one-way delay range (µs), loss, duplication.
    public var minDelay: UInt64 = 200
    public var maxDelay: UInt64 = 5_000
    public var dropRate: Double = 0.02
    public var duplicateRate: Double = 0.01
    /// Disk: fsync latency range (µs); slow disks take up to `slowDiskFactor` times longer.
    public var minFsync: UInt64 = 100
    public var maxFsync: UInt64 = 2_000
    public var slowDiskFactor: UInt64 = 20
    /// Mean microseconds between fault events (crash, partition, heal, ...).
    public var faultInterval: UInt64 = 150_000
    /// Mean microseconds between client proposals.
    public var proposalInterval: UInt64 = 8_000
    /// Take snapshots and compact logs (forces InstallSnapshot to lagging nodes).
    public var snapshots = true
    /// Partition the network (symmetric and asymmetric).
    public var partitions = true
    /// Add and remove members.
    public var membershipChanges = true
    /// Transfer leadership now and then.
    public var transfers = true
    /// Issue linearizable reads.
    public var reads = true
    /// Snapshot chunk size (small, so snapshots take several chunks).
    public var snapshotChunkBytes = 64
    /// Apply a Ready's committed entries while it persists when they are durable already, as the
    /// real driver does (``ReplicationCore/canApplyBeforePersisting(durableIndex:)``).
    public var applyBeforePersisting = true
    /// Break the Ready contract on purpose: send acknowledgements before persisting. Only for proving
    /// that the checker catches lost writes.
    public var unsafeAcknowledgeBeforePersist = false

    public init(seed: UInt64) { self.seed = seed }

    /// Parameters drawn from the seed (the faulty phase varies in intensity between runs).
    public static func random(seed: UInt64) -> SimulationOptions {
        var random = SeededRandom(seed: seed ^ 0x5EED)
        var options = SimulationOptions(seed: seed)
        options.nodes = [3, 3, 5, 5, 4][Int(random.below(5))]
        options.dropRate = [0, 0.01, 0.05, 0.15][Int(random.below(4))]
        options.duplicateRate = [0, 0.01, 0.05][Int(random.below(3))]
        options.maxDelay = [2_000, 8_000, 30_000][Int(random.below(3))]
        options.faultInterval = [60_000, 150_000, 400_000][Int(random.below(3))]
        options.tickSkew = [0, 0.2, 0.5][Int(random.below(3))]
        options.snapshots = random.chance(0.7)
        options.membershipChanges = random.chance(0.5)
        options.transfers = random.chance(0.5)
        return options
    }

    public var description: String {
        "seed \(seed): \(nodes) nodes, drop \(dropRate), dup \(duplicateRate), delay \(minDelay)-\(maxDelay)µs, "
            + "faults every ~\(faultInterval / 1000)ms, skew \(tickSkew), snapshots \(snapshots), "
            + "membership \(membershipChanges), transfers \(transfers), reads \(reads)"
    }
}
