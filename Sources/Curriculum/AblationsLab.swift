import Foundation
import Notebook
import TinyGPT

extension Ablations {
    /// Everything lesson07's five experiments are made of, each made on first use and kept:
    /// the starting models and their measurements, the eight RL arms, the cold start, the
    /// reward model, the imitation run and the behaviours. lesson07 and its tests both ask a
    /// `Lab`, so the tests check the very runs the lesson prints.
    ///
    /// Safe to share between threads (the tests ask for different arms at once): every piece
    /// is kept in a `Memo`, and whatever runs a forward pass gets its own copy of a model.
    public final class Lab {
        public let quick: Bool
        public let seed: UInt64
        /// Where a training run reports its steps: given a label and a step count, the function
        /// that takes each step and its numbers (a progress bar, in a lesson). Nil: silent.
        public typealias Bars = (_ label: String, _ steps: Int) -> (_ step: Int, _ metrics: [(String, Double)]) -> Void
        public typealias TrainedRewardModel = (model: GPT, accuracyBefore: Double, accuracyAfter: Double, pairs: Int)
        public typealias ImitationRun = (model: GPT, settings: DPO.Settings, log: DPO.Log)
        /// The models whose behaviours experiments 2 and 5 compare.
        private enum Behaving: Hashable { case start(Stage), afterRL(Arm), imitation(ranked: Bool), rankedDPO }

        private let bars: Bars?
        private let starts: Memos<Stage, GPT>
        private let splits = Memo { try RLData.load() }
        private let preferencePairs = Memo { try DPO.data().valid }
        // Made in `init`, as they call back into the lab.
        private var heldOut: Memo<[RLData.Problem]>!
        private var snapshots: Memos<Stage, Snapshot>!
        private var cold: Memo<(model: GPT, examples: Int, log: TrainLog)>!
        private var coldSnapshot: Memo<Snapshot>!
        private var runs: Memos<Arm, Run>!
        private var pairs: Memo<DPO.Stage.Inputs>!
        private var trainedRewardModel: Memo<TrainedRewardModel>!
        private var learnedReward: Memo<LearnedReward>!
        private var rankedPairs: Memo<DPO.Stage.Inputs>!
        private var imitated: Memos<Bool, ImitationRun>!
        private var rankedDPO: Memo<ImitationRun>!
        private var behaviours: Memos<Behaving, DPO.Behaviour>!
        /// Seconds spent training the reward model and scoring best-of-n with it.
        private var rewardModelSeconds = 0.0
        private let secondsLock = NSLock()

        /// `starts` gives the model a stage ends with (mid, think or dpo); it is asked once per stage.
        public init(quick: Bool, seed: UInt64, bars: Bars? = nil, starts: @escaping (Stage) throws -> GPT) {
            self.quick = quick
            self.seed = seed
            self.bars = bars
            self.starts = Memos(starts)
            heldOut = Memo { [unowned self] in Ablations.problems(try data(), quick: quick) }
            snapshots = Memos { [unowned self] in try makeSnapshot($0) }
            cold = Memo { [unowned self] in try Ablations.coldStart(try model(.mid), quick: quick, seed: seed) }
            coldSnapshot = Memo { [unowned self] in
                try Ablations.snapshot(try coldStarted().model.copy(), reference: nil, try problems(),
                                       maxNewTokens: Ablations.plainMaxNewTokens, format: .plain, seed: seed)
            }
            runs = Memos { [unowned self] in try makeRun($0) }
            pairs = Memo { [unowned self] in
                try DPO.Stage(quick: quick, seed: seed, variant: .wholeRejected).inputs(reference: try model(.think))
            }
            trainedRewardModel = Memo { [unowned self] in try makeRewardModel() }
            learnedReward = Memo { [unowned self] in try makeLearnedReward() }
            rankedPairs = Memo { [unowned self] in
                // The same think model and seed as `pairs`: the same on-policy pairs, sampled once.
                let data = try DPO.data(), onPolicy = try pairInputs().onPolicy
                return try DPO.Stage(quick: quick, seed: seed).inputs(
                    reference: try model(.think), data: PreferenceData.Splits(train: PreferenceData.ranked(data.train), valid: data.valid),
                    onPolicy: onPolicy)
            }
            imitated = Memos { [unowned self] in try makeImitation(ranked: $0) }
            rankedDPO = Memo { [unowned self] in try train(.dpo, on: try rankedPairs.get(), label: "DPO, ranked pairs") }
            behaviours = Memos { [unowned self] in try makeBehaviour($0) }
        }

        private func bar(_ label: String, _ steps: Int) -> (Int, [(String, Double)]) -> Void {
            bars?(label, steps) ?? { _, _ in }
        }

        // MARK: what the experiments share

        /// The arms' recipe (`Ablations.recipe`).
        public var recipe: GRPO.Settings { Ablations.recipe(quick: quick, seed: seed) }
        /// lesson05's problems: the arms' training prompts and the held-out problems.
        public func data() throws -> RLData.Splits { try splits.get() }
        /// The held-out problems every arm is measured on.
        public func problems() throws -> [RLData.Problem] { try heldOut.get() }

        /// A copy of the model `stage` ended with (each caller's own: a forward pass writes a
        /// model's activations).
        public func model(_ stage: Stage) throws -> GPT {
            guard [.mid, .think, .dpo].contains(stage) else {
                throw StageError(description: "the ablations start from mid, think or dpo, not \(stage.rawValue)")
            }
            return try starts.get(stage).copy()
        }

        /// A starting model measured on the held-out problems (shared by the arms that start there).
        public func snapshot(_ stage: Stage) throws -> Snapshot { try snapshots.get(stage) }
        private func makeSnapshot(_ stage: Stage) throws -> Snapshot {
            let format = Ablations.format(stage)
            return try Ablations.snapshot(try model(stage), reference: nil, try problems(),
                                          maxNewTokens: format == .plain ? Ablations.plainMaxNewTokens : recipe.maxNewTokens,
                                          format: format, seed: seed)
        }

        /// The mid model after experiment 1's cold start (a few hundred examples, a few seconds).
        public func coldStarted() throws -> (model: GPT, examples: Int, log: TrainLog) { try cold.get() }

        // MARK: the RL arms

        /// One arm's short RL run.
        public func run(_ arm: Arm) throws -> Run { try runs.get(arm) }
        private func makeRun(_ arm: Arm) throws -> Run {
            let start = arm == .coldStart ? try coldStarted().model.copy() : try model(arm.start)
            let before = arm == .coldStart ? try coldSnapshot.get() : try snapshot(arm.start)
            let reward = arm.usesLearnedReward ? RewardModel.reward(try rewardModel().model.copy()) : nil
            let update = bar(arm.label, arm.settings(quick: quick, seed: seed).steps)
            return try Ablations.run(arm, from: start, before: before, data: try data(), problems: try problems(),
                                     quick: quick, seed: seed, reward: reward) { step, log in
                guard let s = log.steps.last else { return }
                update(step, [("reward", s.meanReward), ("verified", s.verifiedRate), ("kl", s.kl), ("len", s.meanLength)])
            }
        }

        // MARK: experiment 3's reward model, experiment 5's imitation

        /// lesson04's pairs (the files' and the ones sampled from the think model), each rejected
        /// answer to its end: what the reward model and imitation learn from.
        public func pairInputs() throws -> DPO.Stage.Inputs { try pairs.get() }

        /// Experiment 3's reward model, learned from the pairs, and the held-out pairs it ranks
        /// right before training (the think model's trunk as it is) and after.
        public func rewardModel() throws -> TrainedRewardModel { try trainedRewardModel.get() }
        private func makeRewardModel() throws -> TrainedRewardModel {
            let inputs = try pairInputs(), settings = RewardModel.recipe(quick: quick, seed: seed)
            let trunk = try model(.think)
            let before = RewardModel.evaluate(trunk, inputs.valid).accuracy
            let update = bar("reward model", settings.steps)
            let began = Date()
            let trained = try RewardModel.train(from: trunk, pairs: inputs.train, settings: settings) { step, s in
                update(step, [("loss", s.loss), ("acc", s.accuracy), ("margin", s.margin)])
            }
            count(since: began)
            return (trained, before, RewardModel.evaluate(trained, inputs.valid).accuracy, inputs.valid.count)
        }

        private func makeLearnedReward() throws -> LearnedReward {
            let trained = try rewardModel()
            let began = Date()
            let samples = try RewardModel.sample(try model(.dpo), rewardModel: trained.model.copy(), try problems(), n: Ablations.bestOfN,
                                                 maxNewTokens: recipe.maxNewTokens, seed: seed)
            count(since: began)
            return LearnedReward(accuracyBefore: trained.accuracyBefore, accuracyAfter: trained.accuracyAfter, pairs: trained.pairs,
                                 samples: samples, rl: try run(.learnedReward), rlBeta0: try run(.learnedRewardBeta0))
        }

        private func count(since began: Date) {
            secondsLock.withLock { rewardModelSeconds += Date().timeIntervalSince(began) }
        }

        /// The pairs of experiment 5's claims: lesson04's, with most winners only the better of
        /// two middling replies (`PreferenceData.ranked`), and the on-policy pairs lesson04 samples.
        public func rankedPairInputs() throws -> DPO.Stage.Inputs { try rankedPairs.get() }

        /// Experiment 5's imitation: lesson04's run from the think model with its comparison
        /// removed (SFT on the chosen answers alone), the same steps and learning rate, on
        /// lesson04's pairs (the control) or on the ranked ones.
        public func imitation(ranked: Bool) throws -> ImitationRun { try imitated.get(ranked) }
        private func makeImitation(ranked: Bool) throws -> ImitationRun {
            try train(.sftChosen, on: ranked ? try rankedPairInputs() : try pairInputs(), label: ranked ? "SFT on chosen, ranked" : "SFT on chosen")
        }
        /// Experiment 5's preferences on the ranked pairs: lesson04's recipe from the think model.
        public func dpoOnRankedPairs() throws -> ImitationRun { try rankedDPO.get() }

        /// A copy of the think model trained by lesson04's `variant` on `inputs`.
        private func train(_ variant: DPO.Variant, on inputs: DPO.Stage.Inputs, label: String) throws -> ImitationRun {
            let stage = DPO.Stage(quick: quick, seed: seed, variant: variant), settings = stage.settings
            let update = bar(label, settings.steps)
            let trained = try stage.train(inputs) { step, log in
                guard let s = log.train.last else { return }
                update(step, variant == .sftChosen ? [("nll", s.chosenNLL), ("chosen", s.chosenShift)]
                                                   : [("loss", s.loss), ("acc", s.accuracy), ("margin", s.margin)])
            }
            return (trained.model, settings, trained.log)
        }

        /// lesson04's behaviours (refusal, over-refusal, concise) of a model, greedy, held-out prompts.
        private func makeBehaviour(_ who: Behaving) throws -> DPO.Behaviour {
            let m: GPT
            switch who {
            case .start(let stage): m = try model(stage)
            case .afterRL(let arm): m = try run(arm).model.copy()
            case .imitation(let ranked): m = try imitation(ranked: ranked).model.copy()
            case .rankedDPO: m = try dpoOnRankedPairs().model.copy()
            }
            return try DPO.measureBehaviour(m, try preferencePairs.get())
        }

        // MARK: the five experiments

        /// 1. RL without SFT, after a cold start, and after SFT.
        public func withoutSFT() throws -> WithoutSFT {
            WithoutSFT(fromMid: try run(.fromMid), coldStart: try run(.coldStart), afterSFT: try run(.afterSFT))
        }
        /// 2. think -> RL against dpo -> RL, by lesson04's behaviours.
        public func skipPreferences() throws -> SkipPreferences {
            SkipPreferences(think: try behaviours.get(.start(.think)), skipped: try behaviours.get(.afterRL(.afterSFT)),
                            dpo: try behaviours.get(.start(.dpo)), fullLine: try behaviours.get(.afterRL(.fullLine)))
        }
        /// 3. The reward model, best-of-n against it, and RL against it with and without β.
        public func learned() throws -> LearnedReward { try learnedReward.get() }
        /// 4. The step size, on the leash and off it.
        public func leash() throws -> Leash {
            Leash(beta: try run(.fullLine), highLR: try run(.highLR), highLRBeta0: try run(.highLRBeta0))
        }
        /// 5. DPO against SFT on the chosen answers, by lesson04's behaviours: on lesson04's pairs
        /// (its dpo model; the control) or on the ranked pairs (the claims).
        public func preferencesOrImitation(ranked: Bool) throws -> Imitation {
            Imitation(think: try behaviours.get(.start(.think)), sftChosen: try behaviours.get(.imitation(ranked: ranked)),
                      dpo: try behaviours.get(ranked ? .rankedDPO : .start(.dpo)), ranked: ranked)
        }

        /// Every claim's verdict, with its experiment's number, in the lesson's order.
        public func verdicts() throws -> [(experiment: Int, verdict: Verdict)] {
            let e2 = try skipPreferences()
            let byExperiment: [(Int, [Verdict])] = [
                (1, try withoutSFT().verdicts), (2, [e2.conciseVerdict, e2.refusalVerdict]), (3, try learned().verdicts),
                (4, try leash().verdicts), (5, try preferencesOrImitation(ranked: true).verdicts),
            ]
            return byExperiment.flatMap { n, verdicts in verdicts.map { (experiment: n, verdict: $0) } }
        }

        /// The report's `ablations` entry: every experiment's numbers, the claims counted, and
        /// the seconds spent training.
        public func metrics() throws -> [String: Double] {
            var metrics: [String: Double] = [:]
            for part in [try withoutSFT().metrics, try skipPreferences().metrics, try learned().metrics, try leash().metrics,
                         try preferencesOrImitation(ranked: false).metrics, try preferencesOrImitation(ranked: true).metrics] {
                metrics.merge(part) { a, _ in a }
            }
            metrics.merge(Ablations.claimMetrics(try verdicts().map(\.verdict))) { _, new in new }
            metrics["train_seconds"] = trainSeconds
            return metrics
        }

        /// Seconds spent training so far: the RL arms run, the reward model (with its best-of-n
        /// scoring) and experiment 5's runs.
        public var trainSeconds: Double {
            let arms = Arm.allCases.compactMap { runs.value($0)?.log.seconds }.reduce(0, +)
            let dpo = [imitated.value(false), imitated.value(true), rankedDPO.value].compactMap { $0?.log.seconds }.reduce(0, +)
            return arms + dpo + secondsLock.withLock { rewardModelSeconds }
        }
    }
}
