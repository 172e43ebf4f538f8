import HeliosTesting

/// The simulation draws its own choices from the seeded SplitMix64 the tests use (`SeededRandom`).
extension SeededRandom {
    /// Uniform in `0..<bound` (bound > 0).
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }

    /// Uniform in `range`.
    mutating func inRange(_ range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }
}
