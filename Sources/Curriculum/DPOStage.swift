import Foundation
import Notebook
import TinyGPT

extension DPO {
    /// Everything measured about one model, for the before/after table.
    public struct Measurement: Sendable {
        public let preference: Stats
        public let behaviour: Behaviour
        public let tasks: SFT.Measurement
        public let kl: Double
        /// The concise rate with replies sampled at temperature 1 (`sampledConcise`), where
        /// greedy decoding hides how often the model still writes a trace.
        public let sampledConcise: Double
    }

    /// How many replies a measurement samples per simple question for `Measurement.sampledConcise`.
    public static let sampledConciseSamples = 4

    /// The preference files from data/dpo.
    public static func data() throws -> PreferenceData.Splits {
        guard let dir = DataFiles.defaultDataDirectory() else {
            throw DataFiles.DataError("cannot find the package's data/ folder (run from inside the package, or run `swift run make-data`)")
        }
        return try DataFiles.loadDPO(from: dir)
    }

    /// The files' training pairs this recipe trains on: all of them, but the stepwise pairs of
    /// tasks outside `settings.stepwiseTasks` (a pair's task is its question's, in the SFT files).
    public static func trainingPairs(_ data: PreferenceData.Splits, sft: Conversations.Splits,
                                     settings: Settings) -> [PreferenceData.Pair] {
        let task = sft.taskByQuestion
        return data.train.filter { p in
            p.family != .stepwise || task[p.prompt].map { settings.stepwiseTasks.contains($0) } ?? false
        }
    }

    /// What one DPO run produced.
    public struct Result {
        public let model: GPT
        public let log: Log
        public let before: Measurement
        public let after: Measurement
        public let onPolicy: Sampled

        public init(model: GPT, log: Log, before: Measurement, after: Measurement, onPolicy: Sampled) {
            self.model = model; self.log = log; self.before = before; self.after = after; self.onPolicy = onPolicy
        }
    }

    /// The report keys of stage `dpo`.
    public static func metrics(_ r: Result) -> [String: Double] {
        [
            "pref_acc_before": r.before.preference.accuracy, "pref_acc": r.after.preference.accuracy,
            "margin": r.after.preference.margin,
            "refusal_rate_before": r.before.behaviour.refusalRate, "refusal_rate": r.after.behaviour.refusalRate,
            "over_refusal_rate_before": r.before.behaviour.overRefusalRate, "over_refusal_rate": r.after.behaviour.overRefusalRate,
            "concise_rate_before": r.before.behaviour.conciseRate, "concise_rate": r.after.behaviour.conciseRate,
            "concise_rate_sampled_before": r.before.sampledConcise, "concise_rate_sampled": r.after.sampledConcise,
            "trace_rate_before": r.before.behaviour.traceRate, "trace_rate": r.after.behaviour.traceRate,
            "task_acc_before": r.before.tasks.taskAccuracy, "task_acc": r.after.tasks.taskAccuracy,
            "format_rate": r.after.tasks.formatRate, "multistep_acc": r.after.tasks.multiStepAccuracy,
            "kl": r.after.kl, "onpolicy_pairs": Double(r.onPolicy.pairs.count),
            "train_tokens": Double(r.log.tokensSeen), "train_seconds": r.log.seconds,
        ]
    }

    /// One DPO run, from its inputs to its saved checkpoint. lesson04 calls its steps one at a
    /// time; `run` (the tests' chain, `course`, `chat`) calls them all: one code path.
    public struct Stage {
        public var settings: Settings
        public let quick: Bool
        public let seed: UInt64
        /// On-policy correctness pairs: replies sampled per question (0: none), their
        /// temperature, and how many training arithmetic questions are asked.
        public var onPolicySamples = 6
        public var onPolicyTemperature: Float = 1
        public var onPolicyQuestionCount: Int

        /// The recipe for `quick` and `variant`, unless `settings` are given.
        public init(quick: Bool, seed: UInt64, variant: Variant = .dpo, settings: Settings? = nil) {
            self.settings = settings ?? recipe(quick: quick, seed: seed, variant: variant)
            self.quick = quick
            self.seed = seed
            onPolicyQuestionCount = quick ? 48 : 160
        }

        /// What training and measuring read, built once: the reference's log-probabilities of
        /// every pair are cached here, because the reference never changes.
        public struct Inputs {
            public let data: PreferenceData.Splits
            public let sft: Conversations.Splits
            /// The frozen reference; the policy starts as a copy of it.
            public let reference: GPT
            public let onPolicy: Sampled
            public let train: [RenderedPair]
            public let valid: [RenderedPair]
            public let trainReference: [Reference]
            public let validReference: [Reference]
        }

        /// The arithmetic questions on-policy pairs are sampled for (training prompts only).
        public func onPolicyQuestions(_ sft: Conversations.Splits) -> [Conversations.Conversation] {
            Array(sft.instructTrain.filter { $0.task == .arithmetic }.prefix(onPolicyQuestionCount))
        }

        /// The files' pairs plus on-policy pairs sampled from `reference` now (or `onPolicy`,
        /// sampled from it before), rendered, and the reference's log-probabilities of them.
        /// `data` and `sft` are loaded if not given.
        public func inputs(reference: GPT, data: PreferenceData.Splits? = nil, sft: Conversations.Splits? = nil,
                           onPolicy: Sampled? = nil) throws -> Inputs {
            let data = try data ?? DPO.data(), sft = try sft ?? SFT.data()
            let sampled = try onPolicy ?? (onPolicySamples > 0
                ? try onPolicyPairs(reference, onPolicyQuestions(sft), k: onPolicySamples, temperature: onPolicyTemperature, seed: seed)
                : Sampled())
            let upTo = settings.rejectedUpToDivergence, blockSize = reference.config.blockSize
            let train = try render(trainingPairs(data, sft: sft, settings: settings) + sampled.pairs,
                                   blockSize: blockSize, rejectedUpToDivergence: upTo)
            let valid = try render(data.valid, blockSize: blockSize, rejectedUpToDivergence: upTo)
            return Inputs(data: data, sft: sft, reference: reference, onPolicy: sampled, train: train, valid: valid,
                          trainReference: DPO.reference(reference, train), validReference: DPO.reference(reference, valid))
        }

        /// `model` against the reference on the held-out pairs, behaviours and SFT tasks.
        public func measure(_ model: GPT, _ inputs: Inputs) throws -> Measurement {
            Measurement(preference: evaluate(model, inputs.valid, reference: inputs.validReference, settings: settings),
                        behaviour: try measureBehaviour(model, inputs.data.valid),
                        tasks: try SFT.measure(model, SFT.evalSet(inputs.sft, quick: quick)),
                        kl: EntropyKL.meanKL(model, inputs.reference, inputs.valid.map(\.chosen)),
                        sampledConcise: try sampledConciseRate(model, inputs.data.valid, samples: sampledConciseSamples, seed: 0))
        }

        /// A copy of the reference trained on the pairs.
        public func train(_ inputs: Inputs, progress: (Int, Log) -> Void = { _, _ in }) throws -> (model: GPT, log: Log) {
            let policy = inputs.reference.copy()
            let log = try DPO.train(policy, pairs: inputs.train, reference: inputs.trainReference, valid: inputs.valid,
                                    validReference: inputs.validReference, settings: settings, progress: progress)
            return (policy, log)
        }

        /// The whole stage from `think`, which stays untouched as the frozen reference.
        public func run(from think: GPT, progress: (Int, Log) -> Void = { _, _ in }) throws -> Result {
            let inputs = try inputs(reference: think)
            let before = try measure(think, inputs)
            let trained = try train(inputs, progress: progress)
            return Result(model: trained.model, log: trained.log, before: before, after: try measure(trained.model, inputs),
                          onPolicy: inputs.onPolicy)
        }

        /// The report keys a checkpoint loaded, not trained in this process, keeps from the report.
        public static let trainingKeys = ["train_tokens", "train_seconds"]

        /// Writes the model as stage dpo with its metrics (and curves, if `trainedNow`) and
        /// returns the metrics. A model loaded rather than trained now has no log: the
        /// training numbers already in the report are kept.
        @discardableResult
        public func save(_ r: Result, trainedNow: Bool = true, to run: RunDirectory) throws -> [String: Double] {
            var metrics = DPO.metrics(r)
            if !trainedNow {
                let old = (try? Report.load(from: run.path))?[Curriculum.Stage.dpo.rawValue] ?? [:]
                for k in Self.trainingKeys { metrics[k] = old[k] }
            }
            metrics.merge(try FactsKept.metrics(chat: r.model, run: run)) { _, new in new }
            try saveStage(.dpo, model: r.model, step: settings.steps, metrics: metrics, to: run,
                          curves: trainedNow ? Curves(dpo: r.log) : nil)
            return metrics
        }
    }

    /// DPO from a copy of `think`, which also stays as the frozen reference (`Stage.run`).
    public static func run(from think: GPT, quick: Bool, seed: UInt64, settings: Settings? = nil,
                           progress: (Int, Log) -> Void = { _, _ in }) throws -> Result {
        try Stage(quick: quick, seed: seed, settings: settings).run(from: think, progress: progress)
    }

    /// The DPO model from `run`'s checkpoint, or, if there is none yet, trained now from the
    /// think model (itself trained first if missing) and saved with its metrics and curves.
    public static func loadOrTrain(run: RunDirectory, quick: Bool, seed: UInt64, say: (String) -> Void,
                                   progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
        try run.prepare()
        let path = run.checkpoint(.dpo)
        if FileManager.default.fileExists(atPath: path) {
            return try loadStage(.dpo, from: run).0
        }
        let think = try SFT.loadOrTrain(.think, run: run, quick: quick, seed: seed, say: say, progress: progress)
        say("No dpo model at \(path) yet: lesson04-dpo makes it, so it is trained now.")
        let stage = Stage(quick: quick, seed: seed), settings = stage.settings
        let result = try stage.run(from: think) { step, log in
            guard let s = log.train.last else { return }
            progress(TrainProgress(step: step, steps: settings.steps, loss: s.loss, lr: settings.schedule.lr(step - 1),
                                   tokensPerSecond: Double(log.tokensSeen) / max(log.seconds, 1e-9),
                                   evalLoss: log.heldOut.last(where: { $0.step == step })?.stats.loss))
        }
        try stage.save(result, to: run)
        return result.model
    }
}
