/// Finite-difference gradient checking: how we know every backward pass is right.
///
/// For a scalar loss L(x), the central difference (L(x+h) - L(x-h)) / 2h matches
/// dL/dx up to O(h²). We compare it with the backward pass's gradient over a set
/// of coordinates and report the relative error of the whole vector,
/// ||analytic - numeric|| / ||numeric||. In Float with the loss summed in Double,
/// a correct backward scores ~1e-4..1e-3; a wrong one (a missing term, a wrong
/// sign, a transposed index, a 5% scale error) scores above 1e-2.
public enum GradientCheck {
    /// The tolerance every gradient check in the project uses.
    public static let tolerance = 1e-2

    /// (L(x+h) - L(x-h)) / 2h for each listed coordinate of x (x is restored afterwards).
    public static func centralDifference(_ x: inout [Float], at indices: [Int], h: Float = 1e-2,
                                         loss: ([Float]) -> Double) -> [Double] {
        indices.map { i in
            let saved = x[i]
            x[i] = saved + h
            let plus = loss(x)
            x[i] = saved - h
            let minus = loss(x)
            x[i] = saved
            return (plus - minus) / (2 * Double(h))
        }
    }

    /// ||a - n|| / ||n|| over the checked coordinates (guarded against a zero gradient).
    public static func relativeError(_ analytic: [Double], _ numeric: [Double]) -> Double {
        var diff = 0.0, norm = 0.0
        for (a, n) in zip(analytic, numeric) { diff += (a - n) * (a - n); norm += n * n }
        return diff.squareRoot() / max(norm.squareRoot(), 1e-12)
    }

    /// All of 0..<n if n is small, else `count` seeded random indices.
    public static func sample(_ n: Int, count: Int = 120, seed: UInt64 = 7) -> [Int] {
        if n <= count { return Array(0..<n) }
        var rng = RNG(seed: seed)
        return (0..<count).map { _ in rng.int(below: n) }
    }

    /// The relative error between `analytic` and finite differences of loss(x).
    public static func check(_ x: inout [Float], analytic: [Float], h: Float = 1e-2, loss: ([Float]) -> Double) -> Double {
        let idx = sample(x.count)
        let numeric = centralDifference(&x, at: idx, h: h, loss: loss)
        return relativeError(idx.map { Double(analytic[$0]) }, numeric)
    }
}
