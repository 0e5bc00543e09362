import Kernels

/// Random floats from a seeded RNG, scaled.
public func randomArray(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = RNG(seed: seed)
    return (0..<n).map { _ in scale * rng.normal() }
}

/// Σ out[i] · r[i] in Double: a scalar loss whose gradient with respect to out is r.
public func project(_ out: [Float], _ r: [Float]) -> Double {
    var s = 0.0
    for i in 0..<out.count { s += Double(out[i]) * Double(r[i]) }
    return s
}

/// The shared tolerance and checker, under the short name the tests use.
public typealias GradCheck = GradientCheck
