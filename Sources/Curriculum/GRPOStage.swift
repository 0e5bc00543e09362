import Foundation
import Notebook
import TinyGPT

extension GRPO {
    /// The held-out problems of `cells`, the whole fixed set of each (`perCell` of each, if given).
    public static func heldOut(_ data: RLData.Splits, cells: [RLData.Cell], perCell: Int? = nil) -> [RLData.Problem] {
        var taken: [RLData.Cell: Int] = [:]
        return data.valid.filter { p in
            guard cells.contains(p.cell) else { return false }
            taken[p.cell, default: 0] += 1
            return taken[p.cell, default: 0] <= (perCell ?? Int.max)
        }
    }

    /// The sampling seed of the control measurement: the starting model measured a second
    /// time, so the sampled numbers' noise shows beside the gain.
    public static func controlSeed(_ seed: UInt64) -> UInt64 { seed &+ 101 }

    /// Samples per held-out problem for pass@8.
    public static let passSamples = 8

    /// The starting model measured: the target rungs' held-out problems (greedy and
    /// `passSamples` samples), the same again with the control seed, and the other rungs greedily.
    public struct Start: Sendable {
        public let before: Measurement
        public let control: Measurement
        public let others: Measurement
    }

    /// The trained policy measured as the start was (same problems, same seed), and its KL
    /// to the reference on the after-measurement's sampled replies.
    public struct End: Sendable {
        public let after: Measurement
        public let others: Measurement
        public let kl: Double
    }

    /// What one GRPO run produced.
    public struct Result {
        public let model: GPT
        public let log: Log
        /// The difficulty filter: which rungs and prompts RL trained on.
        public let edge: Edge
        /// The held-out problems of the target rungs, before and after (greedy + 8 samples).
        public let before: Measurement
        public let after: Measurement
        /// The starting model on the same problems with a second sampling seed.
        public let control: Measurement
        /// The other rungs, greedy only, before and after.
        public let othersBefore: Measurement
        public let othersAfter: Measurement
        /// KL(π ‖ π_ref) per token on the after-measurement's sampled replies.
        public let kl: Double

        public init(model: GPT, log: Log, edge: Edge, before: Measurement, after: Measurement, control: Measurement,
                    othersBefore: Measurement, othersAfter: Measurement, kl: Double) {
            self.model = model; self.log = log; self.edge = edge; self.before = before; self.after = after
            self.control = control; self.othersBefore = othersBefore; self.othersAfter = othersAfter; self.kl = kl
        }

        public init(model: GPT, log: Log, plan: Plan, start: Start, end: End) {
            self.init(model: model, log: log, edge: plan.edge, before: start.before, after: end.after, control: start.control,
                      othersBefore: start.others, othersAfter: end.others, kl: end.kl)
        }
    }

    /// The report keys of stage `rlvr`. Sampled pass@1 (`sampled_acc`) is measured on the
    /// starting model twice, with two seeds: `pass1_control` is the second, so the gap
    /// between it and `sampled_acc_before` is what sampling alone moves. (Greedy pass@1
    /// does not depend on the seed.)
    public static func metrics(_ r: Result) -> [String: Double] {
        [
            "pass1_before": r.before.pass1, "pass1": r.after.pass1,
            "pass8_before": r.before.pass(at: 8), "pass8": r.after.pass(at: 8),
            "sampled_acc_before": r.before.sampledAccuracy, "sampled_acc": r.after.sampledAccuracy,
            "pass1_control": r.control.sampledAccuracy, "pass8_control": r.control.pass(at: 8),
            "edge_prompts": Double(r.edge.prompts.count), "target_rungs": Double(r.edge.target.count),
            "probe_seconds": r.edge.seconds,
            "others_pass1_before": r.othersBefore.pass1, "others_pass1": r.othersAfter.pass1,
            "reward_first": r.log.mean(\.meanReward, first: 0.1), "reward_last": r.log.mean(\.meanReward, last: 0.1),
            "kl": r.kl, "mean_len_before": r.before.meanLength, "mean_len": r.after.meanLength,
            "train_tokens": Double(r.log.tokensTrained), "sampled_tokens": Double(r.log.tokensSampled),
            "train_seconds": r.log.seconds,
        ]
    }

    /// One GRPO run, from its starting model to its saved checkpoint. lesson05 calls its steps
    /// one at a time; `run` (the tests' chain, `course`, `chat`) calls them all: one code path.
    public struct Stage {
        public var settings: Settings
        public let quick: Bool
        public let seed: UInt64
        /// Where RL starts: the dpo model (lesson04), or the think model (lesson03).
        public var start: Curriculum.Stage = .dpo

        /// The recipe for `quick`, unless `settings` are given.
        public init(quick: Bool, seed: UInt64, settings: Settings? = nil) {
            self.settings = settings ?? recipe(quick: quick, seed: seed)
            self.quick = quick
            self.seed = seed
        }

        /// The model RL starts from, loaded from `run`, or trained now if missing.
        public func startingModel(run: RunDirectory, say: (String) -> Void,
                                  progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
            switch start {
            case .dpo: return try DPO.loadOrTrain(run: run, quick: quick, seed: seed, say: say, progress: progress)
            case .think: return try SFT.loadOrTrain(.think, run: run, quick: quick, seed: seed, say: say, progress: progress)
            default: throw StageError(description: "GRPO starts from the dpo or the think model, not from \(start.rawValue)")
            }
        }

        /// The difficulty filter on `data.train`, run on the starting model, and the held-out
        /// sets it implies. `progress` gets (prompts probed, prompts to probe).
        public func plan(_ start: GPT, data: RLData.Splits, progress: (Int, Int) -> Void = { _, _ in }) throws -> Plan {
            let edge = try findEdge(start, data.train, settings: settings, progress: progress)
            return Plan(edge: edge, heldOut: heldOut(data, cells: edge.target), others: heldOut(data, cells: edge.others))
        }

        public func measureStart(_ start: GPT, _ plan: Plan) throws -> Start {
            let room = settings.maxNewTokens
            return Start(before: try measure(start, plan.heldOut, n: passSamples, maxNewTokens: room, seed: seed),
                         control: try measure(start, plan.heldOut, n: passSamples, maxNewTokens: room, seed: controlSeed(seed)),
                         others: try measure(start, plan.others, n: 0, maxNewTokens: room, seed: seed))
        }

        /// A copy of `reference` trained on the plan's edge prompts.
        public func train(reference: GPT, _ plan: Plan, progress: (Int, Log) -> Void = { _, _ in }) throws -> (model: GPT, log: Log) {
            let policy = reference.copy()
            let log = try GRPO.train(policy, reference: reference, prompts: plan.edge.targetPrompts, anchors: plan.edge.anchorPrompts,
                                     heldOut: plan.heldOut, settings: settings, progress: progress)
            return (policy, log)
        }

        public func measureEnd(_ policy: GPT, reference: GPT, _ plan: Plan) throws -> End {
            let room = settings.maxNewTokens
            let after = try measure(policy, plan.heldOut, n: passSamples, maxNewTokens: room, seed: seed)
            return End(after: after, others: try measure(policy, plan.others, n: 0, maxNewTokens: room, seed: seed),
                       kl: meanKL(policy, reference, after))
        }

        /// The whole stage from `start`, which stays untouched as the frozen reference.
        public func run(from start: GPT, data: RLData.Splits? = nil, progress: (Int, Log) -> Void = { _, _ in }) throws -> Result {
            let plan = try plan(start, data: try data ?? RLData.load())
            let s = try measureStart(start, plan)
            let trained = try train(reference: start, plan, progress: progress)
            let e = try measureEnd(trained.model, reference: start, plan)
            return Result(model: trained.model, log: trained.log, plan: plan, start: s, end: e)
        }

        /// The report keys a checkpoint loaded, not trained in this process, keeps from the report.
        public static let trainingKeys = ["reward_first", "reward_last", "train_tokens", "sampled_tokens", "train_seconds"]

        /// Writes the model as stage rlvr with its metrics (and curves, if `trainedNow`) and
        /// returns the metrics. A model loaded rather than trained now has no log: the
        /// training numbers already in the report are kept.
        @discardableResult
        public func save(_ r: Result, trainedNow: Bool = true, to run: RunDirectory) throws -> [String: Double] {
            var metrics = GRPO.metrics(r)
            if !trainedNow {
                let old = (try? Report.load(from: run.path))?[Curriculum.Stage.rlvr.rawValue] ?? [:]
                for k in Self.trainingKeys { metrics[k] = old[k] }
            }
            metrics.merge(try FactsKept.metrics(chat: r.model, run: run)) { _, new in new }
            try saveStage(.rlvr, model: r.model, step: settings.steps, metrics: metrics, to: run,
                          curves: trainedNow ? Curves(rl: r.log) : nil)
            return metrics
        }
    }

    /// GRPO from a copy of `start`, which also stays as the frozen reference (`Stage.run`).
    public static func run(from start: GPT, quick: Bool, seed: UInt64, settings: Settings? = nil,
                           data: RLData.Splits? = nil, progress: (Int, Log) -> Void = { _, _ in }) throws -> Result {
        try Stage(quick: quick, seed: seed, settings: settings).run(from: start, data: data, progress: progress)
    }

    /// The rlvr model from `run`'s checkpoint, or, if there is none yet, trained now from
    /// the dpo model (itself trained first if missing) with the default recipe, and saved.
    public static func loadOrTrain(run: RunDirectory, quick: Bool, seed: UInt64, say: (String) -> Void,
                                   progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
        let path = run.checkpoint(.rlvr)
        if FileManager.default.fileExists(atPath: path) {
            return try loadStage(.rlvr, from: run).0
        }
        let stage = Stage(quick: quick, seed: seed), settings = stage.settings
        let start = try stage.startingModel(run: run, say: say, progress: progress)
        say("No rlvr model at \(path) yet: lesson05-rlvr makes it, so it is trained now.")
        let result = try stage.run(from: start) { step, log in
            let s = log.steps.last ?? Step()
            progress(TrainProgress(step: step, steps: settings.steps, loss: s.loss, lr: settings.schedule.lr(step - 1),
                                   tokensPerSecond: Double(log.tokensTrained) / max(log.seconds, 1e-9), evalLoss: nil))
        }
        try stage.save(result, to: run)
        return result.model
    }
}
