import Foundation

/// The course's one rule for "is this change real": a difference of two rates counts only
/// if it is larger than three standard errors of the difference, and than a floor.
///
/// Three standard errors: a difference that large comes from measuring the same thing twice
/// far less than once in a hundred times. The floor stops rates of exactly 0 or 1, whose
/// standard error is 0, from making any change count; lessons, tests and ablations pass the
/// smallest change their claim is about.
public enum Noise {
    /// How many standard errors a change must clear.
    public static let standardErrors = 3.0

    /// The standard error of a difference of two rates `a` and `b`, each measured on `n`
    /// items (treated as independent, which over-states it for the same items measured
    /// twice: the rule errs towards "not seen").
    public static func standardError(_ a: Double, _ b: Double, n: Int) -> Double {
        ((a * (1 - a) + b * (1 - b)) / Double(max(n, 1))).squareRoot()
    }

    /// What a change from `a` to `b` (rates on `n` items) must exceed: 3 standard errors, at least `floor`.
    public static func margin(_ a: Double, _ b: Double, n: Int, floor: Double) -> Double {
        max(floor, standardErrors * standardError(a, b, n: n))
    }

    /// What a sum or difference of several independent rates, each measured on `n` items,
    /// must exceed: 3 standard errors (√(Σ p(1-p)/n)), at least `floor`. (An effect such as
    /// "gain of arm A minus gain of arm B" involves four rates.)
    public static func margin(rates: [Double], n: Int, floor: Double) -> Double {
        max(floor, standardErrors * (rates.map { $0 * (1 - $0) }.reduce(0, +) / Double(max(n, 1))).squareRoot())
    }

    /// What a difference of two independent means must exceed, from their standard errors:
    /// 3 standard errors of the difference, at least `floor`.
    public static func margin(standardErrors a: Double, _ b: Double, floor: Double) -> Double {
        max(floor, standardErrors * (a * a + b * b).squareRoot())
    }

    /// Is the rise from `a` to `b` real?
    public static func isRise(from a: Double, to b: Double, n: Int, floor: Double) -> Bool {
        b - a > margin(a, b, n: n, floor: floor)
    }
}
