import Foundation

/// What a lesson spends its time on. Library code marks its phases; whatever is not
/// inside one (loading data, rendering rows, printing) is "other".
public enum Phase: String, CaseIterable, Sendable {
    /// Forward and backward passes and optimizer steps.
    case train
    /// Writing replies token by token (greedy evaluations included): the KV-cache loop.
    case sample
    /// Forward-only passes that score text: held-out losses, reference log-probabilities.
    case eval

    public var label: String {
        switch self {
        case .train: return "training"
        case .sample: return "sampling"
        case .eval: return "evaluation"
        }
    }
}

/// Seconds per phase, accumulated over the whole process.
///
/// `PhaseClock.measure(.train) { ... }` charges the block's time to `.train`. Phases nest and
/// the innermost one is charged: an evaluation run inside a training loop counts as
/// evaluation, not twice. Each thread keeps its own stack (tests run suites in parallel);
/// the totals are shared.
public enum PhaseClock {
    /// One thread's open phases, innermost last, and when the innermost was last charged.
    private final class Stack {
        var phases: [Phase] = []
        var since = 0.0
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var charged: [Phase: Double] = [:]
    private static let key = "PhaseClock.stack"

    private static var stack: Stack {
        if let s = Thread.current.threadDictionary[key] as? Stack { return s }
        let s = Stack()
        Thread.current.threadDictionary[key] = s
        return s
    }

    private static func now() -> Double { ProcessInfo.processInfo.systemUptime }

    private static func charge(_ s: Stack, until t: Double) {
        guard let top = s.phases.last else { return }
        lock.lock()
        charged[top, default: 0] += t - s.since
        lock.unlock()
    }

    /// Runs `body`, charging its time (less any inner phases') to `phase`.
    public static func measure<T>(_ phase: Phase, _ body: () throws -> T) rethrows -> T {
        let s = stack
        let t = now()
        charge(s, until: t)
        s.phases.append(phase)
        s.since = t
        defer {
            let t = now()
            charge(s, until: t)
            s.phases.removeLast()
            s.since = t
        }
        return try body()
    }

    /// Seconds charged to each phase so far, by every thread.
    public static func totals() -> [Phase: Double] {
        lock.lock()
        defer { lock.unlock() }
        return charged
    }
}

/// Where one program's wall time went: each phase, and the rest.
public struct TimeSplit: Equatable, Sendable {
    public var total: Double
    public var seconds: [Phase: Double]

    public init(total: Double, seconds: [Phase: Double]) {
        self.total = total
        self.seconds = seconds
    }

    /// The split between two readings of `PhaseClock.totals()` taken `total` seconds apart.
    public init(total: Double, from start: [Phase: Double], to end: [Phase: Double]) {
        self.total = total
        seconds = Dictionary(uniqueKeysWithValues: Phase.allCases.map { ($0, max(0, (end[$0] ?? 0) - (start[$0] ?? 0))) })
    }

    /// Wall time in no phase (never below zero: the phases are read a moment before the total).
    public var other: Double { max(0, total - Phase.allCases.reduce(0) { $0 + (seconds[$1] ?? 0) }) }

    /// "1m 49s: training 1m 20s, sampling 15 s, evaluation 10 s, other 4.0 s".
    public var line: String {
        let parts = Phase.allCases.compactMap { p in (seconds[p] ?? 0) > 0 ? "\(p.label) \(formatDuration(seconds[p] ?? 0))" : nil }
        guard !parts.isEmpty else { return formatDuration(total) }  // a program whose time is all in other programs
        return "\(formatDuration(total)): " + (parts + ["other \(formatDuration(other))"]).joined(separator: ", ")
    }

    /// The JSON object `course` collects: `{"total": s, "train": s, "sample": s, "eval": s, "other": s}`.
    public var json: [String: Double] {
        var d = ["total": total, "other": other]
        for p in Phase.allCases { d[p.rawValue] = seconds[p] ?? 0 }
        return d
    }

    /// Reads `json` back; nil if a key is missing or not a number.
    public init?(json: [String: Any]) {
        guard let total = json["total"] as? Double else { return nil }
        var seconds: [Phase: Double] = [:]
        for p in Phase.allCases {
            guard let s = json[p.rawValue] as? Double else { return nil }
            seconds[p] = s
        }
        self.init(total: total, seconds: seconds)
    }
}
