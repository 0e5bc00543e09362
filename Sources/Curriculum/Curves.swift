import Foundation

/// `<out>/curves/<stage>.json`: the training curves of one stage, kept so lesson06 can draw
/// every stage's curves side by side long after the lesson that trained it has ended.
///
///     { "stage": "base",
///       "series": [ { "chart": "loss (nats per token)", "name": "train", "steps": [1, 2, ...], "values": [4.58, 4.31, ...] },
///                   { "chart": "loss (nats per token)", "name": "held-out", "steps": [0, 50, ...], "values": [4.61, 2.02, ...] } ] }
///
/// Series with the same `chart` are drawn on one set of axes. report.json keeps one number
/// per metric; a curve is a list, so it gets a file of its own. `saveStage` writes it next
/// to the checkpoint whenever a stage is trained.
public struct Curves: Codable, Equatable, Sendable {
    /// One line of a chart: a value per training step (x = `steps[i]`, y = `values[i]`).
    public struct Series: Codable, Equatable, Sendable {
        public var chart: String
        public var name: String
        public var steps: [Int]
        public var values: [Double]

        /// Non-finite points are left out (JSON has no NaN, and a chart cannot draw one).
        public init(chart: String, name: String, steps: [Int], values: [Double]) {
            let kept = zip(steps, values).filter { $0.1.isFinite }
            self.chart = chart
            self.name = name
            self.steps = kept.map(\.0)
            self.values = kept.map(\.1)
        }
    }

    public var series: [Series]

    public init(series: [Series]) { self.series = series }

    /// The chart names, in the order their first series appears.
    public var charts: [String] {
        var seen: [String] = []
        for s in series where !seen.contains(s.chart) { seen.append(s.chart) }
        return seen
    }

    public static let lossChart = "loss (nats per token)"

    /// The curves of a next-token training run (pretraining, mid-training, SFT): the loss of
    /// every step's batch, and the held-out loss where it was measured (step 0 included).
    public init(_ log: TrainLog) {
        series = [
            Series(chart: Self.lossChart, name: "train", steps: log.trainLoss.indices.map { $0 + 1 }, values: log.trainLoss),
            Series(chart: Self.lossChart, name: "held-out", steps: log.evalLoss.map(\.step), values: log.evalLoss.map(\.loss)),
        ]
    }

    /// DPO's curves: loss, preference accuracy and margin on each step's pairs and on the
    /// held-out pairs, and how far the held-out answers' log-probabilities moved.
    public init(dpo log: DPO.Log) {
        let steps = log.train.indices.map { $0 + 1 }
        let held = log.heldOut.map(\.step)
        func pair(_ chart: String, _ f: (DPO.Stats) -> Double) -> [Series] {
            [Series(chart: chart, name: "train", steps: steps, values: log.train.map(f)),
             Series(chart: chart, name: "held-out", steps: held, values: log.heldOut.map { f($0.stats) })]
        }
        series = pair("DPO loss (ln 2 = 0.693 at the start)", \.loss) + pair("preference accuracy", \.accuracy)
            + pair("margin", \.margin) + [
                Series(chart: "held-out log π - log π_ref (nats per answer)", name: "chosen", steps: held,
                       values: log.heldOut.map(\.stats.chosenShift)),
                Series(chart: "held-out log π - log π_ref (nats per answer)", name: "rejected", steps: held,
                       values: log.heldOut.map(\.stats.rejectedShift)),
            ]
    }

    /// RLVR's curves: each step's mean reward, the verifier's rate on the same replies, KL to
    /// the reference, reply length, and the held-out greedy pass@1 where it was measured.
    public init(rl log: GRPO.Log) {
        let steps = log.steps.indices.map { $0 + 1 }
        series = [
            Series(chart: "reward per step", name: "mean reward", steps: steps, values: log.rewardCurve),
            Series(chart: "reward per step", name: "verified right", steps: steps, values: log.steps.map(\.verifiedRate)),
            Series(chart: "held-out pass@1 (greedy)", name: "pass@1", steps: log.heldOut.map(\.step), values: log.heldOut.map(\.pass1)),
            Series(chart: "KL to the reference (nats per token)", name: "KL", steps: steps, values: log.klCurve),
            Series(chart: "reply length (tokens)", name: "mean length", steps: steps, values: log.lengthCurve),
        ]
    }

    // MARK: drawing helpers

    /// A trailing moving average over `window` points (default: a twentieth of the run), so a
    /// short noisy run still shows its trend.
    public static func smoothed(_ xs: [Double], window: Int? = nil) -> [Double] {
        let w = max(1, window ?? xs.count / 20)
        return xs.indices.map { i in xs[max(0, i - w + 1)...i].reduce(0, +) / Double(min(i + 1, w)) }
    }

    /// Values measured every few steps, each held until the next measurement: one value per
    /// step 1...steps, so they can be drawn beside a per-step curve.
    public static func held(_ points: [(step: Int, value: Double)], steps: Int) -> [Double] {
        var out: [Double] = [], k = 0
        for step in 1...max(1, steps) {
            while k + 1 < points.count && points[k + 1].step <= step { k += 1 }
            out.append(points.isEmpty ? .nan : points[k].value)
        }
        return out
    }

    // MARK: the file

    public struct CurvesError: Error, CustomStringConvertible {
        public let description: String
    }

    /// What the file holds: the curves, and which stage they belong to.
    struct File: Codable {
        var stage: String
        var series: [Series]
    }

    /// Where a stage's curves live in a run directory.
    public static func path(_ stage: Stage, in run: RunDirectory) -> String {
        URL(fileURLWithPath: run.path).appendingPathComponent("curves").appendingPathComponent("\(stage.rawValue).json").path
    }

    /// Writes the stage's curves atomically (a temporary file, then renamed), replacing the old ones.
    public func save(_ stage: Stage, in run: RunDirectory) throws {
        let url = URL(fileURLWithPath: Self.path(stage, in: run))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(File(stage: stage.rawValue, series: series)).write(to: url, options: .atomic)
    }

    /// The stage's curves, or nil if none were recorded (a checkpoint written before curves
    /// were kept, or a stage not run yet). A file that exists but does not hold valid curves
    /// for this stage is an error that names the file and the problem.
    public static func load(_ stage: Stage, from run: RunDirectory) throws -> Curves? {
        let path = path(stage, in: run)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        func bad(_ why: String) -> CurvesError {
            CurvesError(description: "\(path): \(why). Move it away and rerun \(stage.lesson) to record the curves again.")
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch let error as DecodingError {
            throw bad("not valid curves (an object with \"stage\" and a list of \"series\"): \(describe(error))")
        } catch {
            throw bad("cannot be read: \(error.localizedDescription)")
        }
        guard file.stage == stage.rawValue else { throw bad("holds the curves of stage '\(file.stage)', expected '\(stage.rawValue)'") }
        for s in file.series {
            guard !s.name.isEmpty, !s.chart.isEmpty else { throw bad("a series has no name or no chart") }
            guard s.steps.count == s.values.count else {
                throw bad("series '\(s.name)' has \(s.steps.count) steps but \(s.values.count) values")
            }
            guard s.values.allSatisfy(\.isFinite) else { throw bad("series '\(s.name)' has a value that is not a finite number") }
        }
        return Curves(series: file.series)
    }

    /// A decoding error in one line: what was wrong, and where in the file.
    static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "" : " at " + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let c): return "not JSON\(at(c.codingPath))"
        case .keyNotFound(let key, let c): return "missing \"\(key.stringValue)\"\(at(c.codingPath))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "wrong kind of value\(at(c.codingPath))"
        @unknown default: return "\(error)"
        }
    }
}
