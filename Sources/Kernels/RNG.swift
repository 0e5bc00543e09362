import Foundation

/// A small seeded random number generator (xoshiro256**, seeded by splitmix64).
///
/// Every random choice in the project (initial weights, data generation,
/// batch sampling, token sampling) goes through this type, so the same seed
/// gives the same numbers on every machine and every run. We do not use
/// Swift's `SystemRandomNumberGenerator` or `shuffled()`: their sequences are
/// not promised to stay the same across platforms or Swift versions.
public struct RNG {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&x); s1 = splitmix(&x); s2 = splitmix(&x); s3 = splitmix(&x)
    }

    @inline(__always) static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = RNG.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = RNG.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1), with 24 random bits (all a Float can hold).
    public mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) as a Double (53 random bits).
    public mutating func uniformDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniform integer in 0..<n (n > 0), without modulo bias.
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0, "RNG.int(below:) needs n > 0")
        let bound = UInt64(n)
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            if r >= threshold { return Int(r % bound) }
        }
    }

    /// A uniform integer in the closed range.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.upperBound - range.lowerBound + 1)
    }

    /// True with probability p.
    public mutating func chance(_ p: Double) -> Bool { uniformDouble() < p }

    /// One element of a non-empty array.
    public mutating func pick<T>(_ items: [T]) -> T { items[int(below: items.count)] }

    /// A standard normal sample (Box-Muller, computed in Double so every
    /// platform rounds the same way).
    public mutating func normal() -> Float {
        let u1 = max(uniformDouble(), 1e-300)
        let u2 = uniformDouble()
        return Float((-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2))
    }

    /// Fisher-Yates shuffle in place.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = int(below: i + 1)
            if i != j { items.swapAt(i, j) }
        }
    }

    /// Samples an index from n unnormalised non-negative weights.
    /// Falls back to the last index with positive weight if rounding leaves
    /// the draw past the end.
    public mutating func categorical(_ weights: UnsafePointer<Float>, count n: Int) -> Int {
        var total: Double = 0
        for i in 0..<n { total += Double(weights[i]) }
        let r = uniformDouble() * total
        var cumulative: Double = 0
        var last = 0
        for i in 0..<n where weights[i] > 0 {
            cumulative += Double(weights[i])
            last = i
            if r < cumulative { return i }
        }
        return last
    }

    public mutating func categorical(_ weights: [Float]) -> Int {
        weights.withUnsafeBufferPointer { categorical($0.baseAddress!, count: $0.count) }
    }
}
