import Foundation
import Kernels
import TinyGPT

/// lesson07: why the stages come in the order they do, each claim measured by short runs.
///
/// Experiments 1-4 are short GRPO runs (lesson05's recipe cut to a fraction of its steps)
/// from some starting model with one thing changed, measured on the same held-out RL
/// problems before and after; experiment 5 is lesson04's run with its comparison removed:
///
///     1. where RL starts: the mid model in its own text (no SFT, the "R1-Zero" question), the
///        mid model after a small cold start, or the think model;
///     2. whether preferences came first: think -> RL against think -> dpo -> RL;
///     3. the reward: a model learned from preference pairs, optimised by best-of-n and by RL,
///        with the leash (β > 0) and without it;
///     4. the step size: a learning rate 10x too high, with the leash and without it;
///     5. preferences or imitation: DPO on the pairs against SFT on their chosen answers.
///
/// Eight RL arms serve experiments 1-4: dpo -> RL with the recipe is the control of 2 and 4. Experiment 1 asks whether RL works from a given start, so its arms train where
/// their starting model is at the edge (`GRPO.findEdge`, as lesson05 does); the others
/// compare settings from one start, on the same prompts. All are measured on the same
/// held-out problems. Each experiment turns its arms into `Verdict`s: the measured effect next to the
/// noise it must clear, so the lesson prints "confirmed" or "not seen in this run" from the
/// numbers, and the tests assert the same comparisons.
public enum Ablations {
    // MARK: the arms

    /// The eight short RL runs.
    public enum Arm: String, CaseIterable, Sendable {
        /// 1. RL straight from the mid model, no SFT, asked in mid-training's own text (R1-Zero).
        case fromMid
        /// 1. The same, after a cold start: a few hundred examples of the answer line and the
        /// end of the text (`coldStart`), R1's fix for R1-Zero's unreadable replies.
        case coldStart
        /// 1 and 2. RL after SFT (the think model), preferences skipped.
        case afterSFT
        /// 2 and 4. The full line, dpo -> RL, with lesson05's recipe: the control.
        case fullLine
        /// 4. dpo -> RL with a learning rate 10x lesson05's.
        case highLR
        /// 4. both: 10x the learning rate and no leash.
        case highLRBeta0
        /// 3. dpo -> RL whose reward is the learned reward model, not the verifier.
        case learnedReward
        /// 3. the same without the KL leash (β = 0).
        case learnedRewardBeta0

        /// The stage the arm starts from.
        public var start: Stage {
            switch self {
            case .fromMid, .coldStart: return .mid
            case .afterSFT: return .think
            case .fullLine, .highLR, .highLRBeta0, .learnedReward, .learnedRewardBeta0: return .dpo
            }
        }

        /// A short label for tables, bars and charts.
        public var label: String {
            switch self {
            case .fromMid: return "mid -> RL"
            case .coldStart: return "cold start -> RL"
            case .afterSFT: return "think -> RL"
            case .fullLine: return "dpo -> RL"
            case .highLR: return "lr x10"
            case .highLRBeta0: return "lr x10, β = 0"
            case .learnedReward: return "learned reward"
            case .learnedRewardBeta0: return "learned reward, β = 0"
            }
        }

        /// Experiment 1's arms train at their starting model's edge and are also measured on the
        /// held-out problems of the rungs where it has room: where lesson05 measures its gain.
        public var trainsAtItsEdge: Bool { self == .fromMid || self == .coldStart || self == .afterSFT }

        /// Experiment 3's arms train against the reward model (`run`'s `reward`).
        public var usesLearnedReward: Bool { self == .learnedReward || self == .learnedRewardBeta0 }

        /// The arm's settings: `Ablations.recipe`, with the arm's one change.
        public func settings(quick: Bool, seed: UInt64) -> GRPO.Settings {
            var s = recipe(quick: quick, seed: seed)
            s.format = format(start)
            s.reward = s.format.verified
            if s.format == .plain { s.maxNewTokens = plainMaxNewTokens }
            switch self {
            case .fromMid, .coldStart, .afterSFT, .fullLine, .learnedReward: break
            case .learnedRewardBeta0: s.beta = 0
            case .highLR: s.schedule.peak *= highLRFactor
            case .highLRBeta0: s.schedule.peak *= highLRFactor; s.beta = 0
            }
            return s
        }
    }

    /// lesson05's recipe, with the same prompts per step and learning rate, for `stepsPerArm`
    /// steps. Eight replies per prompt and β = 0.3, whatever lesson05 uses: eight arms must fit
    /// in lesson07's time, and the β arms are read against this firmer leash. No held-out
    /// measurement during training: each arm is measured before and after (`snapshot`).
    public static func recipe(quick: Bool, seed: UInt64) -> GRPO.Settings {
        var s = GRPO.recipe(quick: quick, seed: seed)
        s.groupSize = 8
        s.beta = 0.3
        s.steps = stepsPerArm
        s.schedule = LRSchedule(peak: s.schedule.peak, warmup: min(s.schedule.warmup, s.steps / 4), total: s.steps,
                                minFraction: s.schedule.minFraction, decay: s.schedule.decay)
        s.evalEvery = s.steps
        s.evalPrompts = 0
        return s
    }

    /// Steps per arm: 40, as many as lesson05's quick run. With fewer, RL from the classroom
    /// think model had not yet found anything to reinforce (docs/experiments.md); eight arms
    /// must fit in lesson07's time.
    public static let stepsPerArm = 40

    /// Each starting model is asked in the form it knows: the mid model in mid-training's
    /// text ("Q: 58 - 27 = ? A:"), the chat models in the chat template. (In the chat
    /// template the mid model writes text of its own kind, never an answer a verifier can
    /// read: RL from it would test the template, not RL.)
    public static func format(_ start: Stage) -> GRPO.Format { start == .mid ? .plain : .chat }

    /// Room for a mid model's reply: the answer line and most of one more line, enough to see
    /// whether it stops after the answer or goes on inventing questions.
    public static let plainMaxNewTokens = 32

    /// R1's cold start, at our scale: SFT of the mid model on `coldStartExamples` two-digit
    /// sums and differences from mid-training's training split, in its own text, each reply
    /// the answer line and the end of the text (`GRPO.Format.plainExample`). The model already
    /// answers these; what it learns is where to stop. RL then runs in the same text.
    public static func coldStart(_ mid: GPT, quick: Bool, seed: UInt64) throws -> (model: GPT, examples: Int, log: TrainLog) {
        var pool = Arithmetic.problems(heldOut: false, level: Midtrain.recipe(quick: quick, seed: seed).level)
        var rng = RNG(seed: seed &+ 5)
        rng.shuffle(&pool)
        let rows = try pool.prefix(coldStartExamples).map { try GRPO.Format.plainExample($0.expression, answer: $0.answer) }
        let schedule = LRSchedule(peak: 3e-4, warmup: 5, total: coldStartSteps, minFraction: 0.1, decay: .cosine)
        let config = TrainConfig(steps: coldStartSteps, batchSize: 8, seqLen: 0, schedule: schedule, evalEvery: coldStartSteps, seed: seed)
        let model = mid.copy()
        let log = try SFT.train(model, rows: rows, evalBatches: [], config: config)
        return (model, rows.count, log)
    }

    /// A few hundred examples, seen between two and three times each: a cold start, not an SFT stage.
    public static let coldStartExamples = 300
    public static let coldStartSteps = 100

    /// "Too high": 10x lesson05's peak learning rate.
    public static let highLRFactor: Float = 10

    /// At most how many held-out problems each model is measured on (each snapshot samples
    /// them too, and there are twelve snapshots: a large part of the lesson's cost). Also the
    /// most held-out problems per rung on which experiment 1 measures the rungs with room.
    public static let heldOutCount = 64

    /// The rungs every arm trains and is measured on: those SFT taught (two-digit sums and
    /// differences, three-digit sums, two operations), n - n, and three-digit subtraction
    /// with a borrow. (lesson05 chooses its rungs by measuring its starting model; here every
    /// arm needs the same problems, whatever model it starts from.)
    public static let cells: [RLData.Cell] = [.init(.same, 1), .init(.same, 2), .init(.add, 2), .init(.add, 3),
                                              .init(.sub, 2), .init(.sub, 4), .init(.chain, 1)]

    /// The training prompts of every arm.
    public static func trainingPrompts(_ data: RLData.Splits) -> [RLData.Problem] {
        data.train.filter { cells.contains($0.cell) }
    }

    /// The held-out problems of `cells`, evenly thinned to `heldOutCount` so that every
    /// family keeps its share.
    public static func problems(_ data: RLData.Splits, quick: Bool) -> [RLData.Problem] {
        let all = GRPO.heldOut(data, cells: cells), want = heldOutCount
        guard all.count > want else { return all }
        // Family by family (in the order they first appear), the first of each: F families
        // share the `want` places as evenly as integers allow. (Taking every k-th problem
        // instead would follow the file's cycle of families and keep only some of them.)
        var families: [RLData.Family] = []
        for p in all where !families.contains(p.family) { families.append(p.family) }
        let F = families.count
        return families.enumerated().flatMap { k, family in
            all.filter { $0.family == family }.prefix(want * (k + 1) / F - want * k / F)
        }
    }

    /// Replies sampled per held-out problem to measure entropy, KL and variety.
    public static let samplesPerProblem = 3

    // MARK: measuring one model

    /// A mean over replies and its standard error (replies are the independent units;
    /// the tokens of one reply are not).
    public struct Mean: Sendable {
        public let value: Double
        public let standardError: Double
        public init(_ xs: [Double]) {
            let n = Double(xs.count)
            let mean = xs.isEmpty ? 0 : xs.reduce(0, +) / n
            let v = xs.count > 1 ? xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1) : 0
            value = mean
            standardError = xs.isEmpty ? 0 : (v / n).squareRoot()
        }
    }

    /// What we know about one model on the held-out problems.
    public struct Snapshot: Sendable {
        /// Greedy replies and `samplesPerProblem` samples at temperature 1, graded by the verifier.
        public let measurement: GRPO.Measurement
        /// KL(π ‖ π_ref) per reply token, along the sampled replies (0 for a starting model).
        public let kl: Mean
        /// Entropy of the next-token distribution, nats per reply token, along the sampled
        /// replies: how many ways the model still considers. RL lowers it as it sharpens;
        /// near 0 the model writes one thing whatever it is asked (collapse).
        public let entropy: Mean

        public var pass1: Double { measurement.pass1 }
        public var formatRate: Double { measurement.formatRate }
        public var meanLength: Double { measurement.meanLength }
        public var problems: Int { measurement.graded.count }
        /// Distinct replies among each problem's samples ÷ the samples: 1 when all differ,
        /// 1/n when the model writes the same reply every time.
        public var distinct: Double {
            let per = measurement.graded.map { g in Double(Set(g.samples.map(\.completion)).count) / Double(max(g.samples.count, 1)) }
            return per.isEmpty ? 0 : per.reduce(0, +) / Double(per.count)
        }
    }

    /// Measures `model` on `problems`: greedy pass@1, samples, and the entropy (and KL to
    /// `reference`, if given) along the samples.
    public static func snapshot(_ model: GPT, reference: GPT?, _ problems: [RLData.Problem], maxNewTokens: Int,
                                format: GRPO.Format = .chat, seed: UInt64) throws -> Snapshot {
        let m = try GRPO.measure(model, problems, n: samplesPerProblem, maxNewTokens: maxNewTokens, format: format, seed: seed)
        let rows = m.graded.flatMap { g in
            g.samples.filter { !$0.completion.isEmpty }.map { GRPO.row(prompt: g.prompt, completion: $0.completion) }
        }
        let t = EntropyKL.perToken(model, reference: reference, rows)
        return Snapshot(measurement: m, kl: Mean(t.map(\.kl)), entropy: Mean(t.map(\.entropy)))
    }

    // MARK: running one arm

    /// One short GRPO run, measured before and after.
    public struct Run {
        public let arm: Arm
        public let settings: GRPO.Settings
        /// The trained policy.
        public let model: GPT
        public let log: GRPO.Log
        public let before: Snapshot
        public let after: Snapshot
        /// What the probe found in the starting model: the prompts trained on and the rungs with
        /// room (experiment 1's arms; nil for the others).
        public let edge: GRPO.Edge?
        /// Greedy replies, before and after, on the held-out problems of the rungs with room
        /// (experiment 1's arms; empty for the others).
        public let rungsBefore: GRPO.Measurement
        public let rungsAfter: GRPO.Measurement
        /// Greedy replies after training to every held-out problem of `Ablations.cells`
        /// (experiment 1's arms; empty for the others): where the arms' end points are compared.
        public let allAfter: GRPO.Measurement

        /// Held-out greedy pass@1 on the rungs with room, after minus before.
        public var rungsGain: Double { rungsAfter.pass1 - rungsBefore.pass1 }
        /// Held-out greedy pass@1, after minus before.
        public var pass1Gain: Double { after.pass1 - before.pass1 }
        /// The training reward (whatever the arm's reward is): mean over the last quarter of
        /// the steps minus the mean over the first quarter.
        public var rewardFirst: Double { log.mean(\.meanReward, first: window) }
        public var rewardLast: Double { log.mean(\.meanReward, last: window) }
        public var rewardGain: Double { rewardLast - rewardFirst }
        /// The verifier's acceptance rate of the same training replies, the same two windows.
        public var verifiedFirst: Double { log.mean(\.verifiedRate, first: window) }
        public var verifiedLast: Double { log.mean(\.verifiedRate, last: window) }
        public var verifiedGain: Double { verifiedLast - verifiedFirst }
        /// Prompts in one window. A prompt's G replies are not independent of each other, so
        /// the prompt, not the reply, is the unit when judging a change of reward.
        public var windowPrompts: Int { max(1, Int((Double(log.steps.count) * window).rounded())) * settings.promptsPerStep }
        /// Share of all groups whose replies did not all get the same reward: the groups that
        /// carried a policy-gradient signal.
        public var signal: Double { log.steps.isEmpty ? 0 : 1 - log.steps.map(\.allEqualFraction).reduce(0, +) / Double(log.steps.count) }
    }

    /// The share of the steps at the start and at the end that reward gains compare.
    public static let window = 0.25

    /// Training prompts probed per rung: half of lesson05's, over the arms' few rungs.
    public static let probePerCell = 16

    /// Where `start` is at the edge, among the arms' training prompts (`GRPO.findEdge` with
    /// `settings`, `probePerCell` prompts per rung).
    public static func edge(_ start: GPT, data: RLData.Splits, settings: GRPO.Settings) throws -> GRPO.Edge {
        var probe = settings
        probe.probePerCell = probePerCell
        return try GRPO.findEdge(start, trainingPrompts(data), settings: probe)
    }

    /// Runs `arm` from a copy of `start` (another copy is the frozen reference), measured
    /// before (unless `before` is given: arms from the same start share it) and after on
    /// `problems`. Experiment 1's arms train as lesson05 does, on the edge prompts with room
    /// and as many anchors (`edge`, probed now unless given); the others on `trainingPrompts`.
    /// Experiment 3's arms need `reward` (`RewardModel.reward`); the others use the verifier.
    public static func run(_ arm: Arm, from start: GPT, before: Snapshot? = nil, edge: GRPO.Edge? = nil, data: RLData.Splits,
                           problems: [RLData.Problem], quick: Bool, seed: UInt64, reward: GRPO.Reward? = nil,
                           progress: (Int, GRPO.Log) -> Void = { _, _ in }) throws -> Run {
        var settings = arm.settings(quick: quick, seed: seed)
        if arm.usesLearnedReward {
            guard let reward else { throw StageError(description: "the arm '\(arm.label)' trains against a learned reward; pass one (RewardModel.reward)") }
            settings.reward = reward
        }
        let reference = start.copy(), policy = start.copy()
        let before = try before ?? snapshot(reference, reference: nil, problems, maxNewTokens: settings.maxNewTokens,
                                            format: settings.format, seed: seed)
        let edge = arm.trainsAtItsEdge ? try edge ?? Ablations.edge(start, data: data, settings: settings) : nil
        // With no prompt at the edge (or no probe), the arms' prompts, unfiltered.
        let room = edge?.targetPrompts ?? [], anchors = edge?.anchorPrompts ?? []
        let prompts = !room.isEmpty ? room : !anchors.isEmpty ? anchors : trainingPrompts(data)
        let rungs = GRPO.heldOut(data, cells: (edge?.target ?? []).filter(cells.contains), perCell: heldOutCount)
        func greedy(_ model: GPT) throws -> GRPO.Measurement {
            try GRPO.measure(model, rungs, n: 0, maxNewTokens: settings.maxNewTokens, format: settings.format, seed: seed)
        }
        let rungsBefore = try greedy(reference)
        let all = arm.trainsAtItsEdge ? GRPO.heldOut(data, cells: cells) : []
        let log = try GRPO.train(policy, reference: reference, prompts: prompts, anchors: room.isEmpty ? [] : anchors,
                                 heldOut: problems, settings: settings, progress: progress)
        let after = try snapshot(policy, reference: reference, problems, maxNewTokens: settings.maxNewTokens,
                                 format: settings.format, seed: seed)
        return Run(arm: arm, settings: settings, model: policy, log: log, before: before, after: after, edge: edge,
                   rungsBefore: rungsBefore, rungsAfter: try greedy(policy),
                   allAfter: try GRPO.measure(policy, all, n: 0, maxNewTokens: settings.maxNewTokens, format: settings.format, seed: seed))
    }

    // MARK: verdicts

    /// A claim, the effect that measures it, and the noise the effect must clear.
    public struct Verdict: Sendable {
        public let claim: String
        /// The measured effect, signed so that positive supports the claim.
        public let effect: Double
        /// What the effect must exceed to count: the noise rule's margin (`noise`).
        public let margin: Double
        public var holds: Bool { effect > margin }
        /// The verdict follows from the numbers, never from the script.
        public var word: String { holds ? "confirmed" : "not seen in this run" }

        public init(claim: String, effect: Double, margin: Double) {
            self.claim = claim; self.effect = effect; self.margin = margin
        }
    }

    /// The report's tally of a run's verdicts: `claims_total` and `claims_confirmed`.
    public static func claimMetrics(_ verdicts: [Verdict]) -> [String: Double] {
        ["claims_total": Double(verdicts.count), "claims_confirmed": Double(verdicts.filter(\.holds).count)]
    }

    /// The course's noise rule (`Noise`: three standard errors) for an effect made of several
    /// independent rates, each measured on `n` items. The floor is two items' worth (2/n), so
    /// that rates of exactly 0 or 1 (whose standard error is 0) do not make any change count.
    public static func noise(_ rates: [Double], n: Int) -> Double {
        Noise.margin(rates: rates, n: n, floor: 2 / Double(max(n, 1)))
    }

    /// The same rule for a difference of two independent means.
    public static func noise(_ a: Mean, _ b: Mean) -> Double {
        Noise.margin(standardErrors: a.standardError, b.standardError, floor: 0)
    }

    // MARK: 1. RL without SFT

    /// RL from the mid model (in its own text), from the mid model after a cold start (the
    /// same text) and from the think model (in the chat template), the same settings otherwise.
    public struct WithoutSFT {
        public let fromMid: Run
        public let coldStart: Run
        public let afterSFT: Run
        public init(fromMid: Run, coldStart: Run, afterSFT: Run) {
            self.fromMid = fromMid; self.coldStart = coldStart; self.afterSFT = afterSFT
        }

        /// RL works without SFT: asked in its own format, the mid model gets better at the
        /// sums where it had room (lesson05's measure of a gain).
        public var fromMidVerdict: Verdict {
            let m = fromMid
            return Verdict(claim: "RL straight from the mid model, asked in its own format, raises held-out pass@1 where it had room",
                           effect: m.rungsGain, margin: noise([m.rungsBefore.pass1, m.rungsAfter.pass1], n: m.rungsAfter.graded.count))
        }
        /// But its replies are hard to read: the reward reads the first line only, and nothing
        /// teaches the model to stop there.
        public var readabilityVerdict: Verdict {
            let a = afterSFT, m = fromMid
            return Verdict(claim: "RL from the mid model leaves replies harder to read (fewer stop after one answer) than RL after SFT",
                           effect: a.after.formatRate - m.after.formatRate,
                           margin: noise([a.after.formatRate, m.after.formatRate], n: a.after.problems))
        }
        /// R1's answer: a small cold start before the same RL makes the replies readable.
        public var coldStartVerdict: Verdict {
            let c = coldStart, m = fromMid
            return Verdict(claim: "A cold start of a few hundred examples before the same RL makes its replies readable",
                           effect: c.after.formatRate - m.after.formatRate,
                           margin: noise([c.after.formatRate, m.after.formatRate], n: c.after.problems))
        }
        /// And it costs no accuracy: pass@1 after RL is not lower than without the cold start
        /// by more than the noise (the margin is the noise, negated). Arms' end points are
        /// compared on every held-out problem (`allAfter`, greedy only): a few hundred
        /// resolve a difference the sampled snapshots' few dozen cannot.
        public var coldStartAccuracyVerdict: Verdict {
            let c = coldStart.allAfter, m = fromMid.allAfter
            return Verdict(claim: "The cold start costs no accuracy: pass@1 after RL not lower than RL from the mid model's",
                           effect: c.pass1 - m.pass1, margin: -noise([c.pass1, m.pass1], n: c.graded.count))
        }
        /// With SFT first, RL ends higher: more held-out problems right than RL straight from
        /// the mid model.
        public var verdict: Verdict {
            let a = afterSFT.allAfter, m = fromMid.allAfter
            return Verdict(claim: "RL after SFT ends with more held-out problems right than RL straight from the mid model",
                           effect: a.pass1 - m.pass1, margin: noise([a.pass1, m.pass1], n: a.graded.count))
        }
        public var verdicts: [Verdict] { [fromMidVerdict, readabilityVerdict, coldStartVerdict, coldStartAccuracyVerdict, verdict] }
        public var metrics: [String: Double] {
            ["rl_from_mid_pass1_before": fromMid.before.pass1, "rl_from_mid_pass1_gain": fromMid.pass1Gain,
             "rl_from_mid_rungs_before": fromMid.rungsBefore.pass1, "rl_from_mid_rungs_gain": fromMid.rungsGain,
             "rl_from_mid_reward_gain": fromMid.rewardGain, "rl_from_mid_signal": fromMid.signal,
             "rl_from_mid_format": fromMid.after.formatRate, "rl_from_mid_format_before": fromMid.before.formatRate,
             "cold_start_pass1_before": coldStart.before.pass1, "cold_start_pass1": coldStart.after.pass1,
             "cold_start_format_before": coldStart.before.formatRate, "cold_start_format": coldStart.after.formatRate,
             "rl_after_sft_pass1_before": afterSFT.before.pass1, "rl_after_sft_pass1_gain": afterSFT.pass1Gain,
             "rl_after_sft_rungs_before": afterSFT.rungsBefore.pass1, "rl_after_sft_rungs_gain": afterSFT.rungsGain,
             "rl_after_sft_reward_gain": afterSFT.rewardGain, "rl_after_sft_signal": afterSFT.signal,
             "rl_after_sft_format": afterSFT.after.formatRate, "rl_from_mid_pass1_all": fromMid.allAfter.pass1,
             "cold_start_pass1_all": coldStart.allAfter.pass1, "rl_after_sft_pass1_all": afterSFT.allAfter.pass1]
        }
    }

    // MARK: 2. skipping preferences

    /// `a` refuses more harmful requests than `b`, net of the safe look-alikes each refuses
    /// (lesson04's behaviours on its held-out prompts).
    static func moreNetRefusals(_ claim: String, _ a: DPO.Behaviour, than b: DPO.Behaviour) -> Verdict {
        let n = min(a.graded.filter { $0.pair.family == .caution }.count, a.graded.filter { $0.pair.family == .helpful }.count)
        return Verdict(claim: claim, effect: (a.refusalRate - a.overRefusalRate) - (b.refusalRate - b.overRefusalRate),
                       margin: noise([a.refusalRate, b.refusalRate, a.overRefusalRate, b.overRefusalRate], n: n))
    }

    /// `a` answers more simple questions concisely than `b`.
    static func moreConcise(_ claim: String, _ a: DPO.Behaviour, than b: DPO.Behaviour) -> Verdict {
        Verdict(claim: claim, effect: a.conciseRate - b.conciseRate,
                margin: noise([a.conciseRate, b.conciseRate], n: a.graded.filter { $0.pair.family == .calibration }.count))
    }

    /// The behaviours the preference pairs encode (lesson04's measurement, held-out prompts,
    /// greedy replies) of the two RL models: think -> RL (preferences skipped) and
    /// dpo -> RL (the full line), and of their starting models for reference.
    public struct SkipPreferences {
        public let think: DPO.Behaviour
        public let skipped: DPO.Behaviour
        public let dpo: DPO.Behaviour
        public let fullLine: DPO.Behaviour
        public init(think: DPO.Behaviour, skipped: DPO.Behaviour, dpo: DPO.Behaviour, fullLine: DPO.Behaviour) {
            self.think = think; self.skipped = skipped; self.dpo = dpo; self.fullLine = fullLine
        }

        /// Simple questions answered directly: the full line keeps what DPO taught, the
        /// skipped line never learned it.
        public var conciseVerdict: Verdict {
            moreConcise("skipping preferences leaves simple answers less concise", fullLine, than: skipped)
        }
        /// Harmful requests refused, net of safe look-alikes refused.
        public var refusalVerdict: Verdict {
            moreNetRefusals("skipping preferences leaves fewer harmful requests refused (net of over-refusals)", fullLine, than: skipped)
        }
        public var metrics: [String: Double] {
            ["skip_pref_concise": skipped.conciseRate, "full_line_concise": fullLine.conciseRate,
             "skip_pref_refusal": skipped.refusalRate, "full_line_refusal": fullLine.refusalRate,
             "skip_pref_over_refusal": skipped.overRefusalRate, "full_line_over_refusal": fullLine.overRefusalRate]
        }
    }

    // MARK: 3. a learned reward, over-optimised

    /// A reward model learned from lesson04's pairs (`RewardModel`), pushed against in two ways.
    /// Best-of-k: the dpo model samples `bestOfN` replies per held-out problem, the reward model
    /// ranks them, and for each k the expected verified rate and learned reward of its top pick
    /// among k. RL: two short GRPO runs from the dpo model whose reward is the reward model's
    /// score, with lesson05's leash and without it; the verifier only measures.
    public struct LearnedReward {
        /// Held-out preference accuracy of the untrained trunk and of the trained reward model.
        public let accuracyBefore: Double
        public let accuracyAfter: Double
        public let pairs: Int
        public let samples: RewardModel.Samples
        /// RL against the reward model, with β and with β = 0.
        public let rl: Run
        public let rlBeta0: Run
        public init(accuracyBefore: Double, accuracyAfter: Double, pairs: Int, samples: RewardModel.Samples, rl: Run, rlBeta0: Run) {
            self.accuracyBefore = accuracyBefore; self.accuracyAfter = accuracyAfter; self.pairs = pairs; self.samples = samples
            self.rl = rl; self.rlBeta0 = rlBeta0
        }

        /// k = 1, 2, 4, ... n: the verified rate, the learned reward and KL(best-of-k ‖ policy).
        public var curve: [(k: Int, verified: Double, reward: Double, kl: Double)] {
            var out: [(Int, Double, Double, Double)] = []
            var k = 1
            while k <= samples.n {
                let b = RewardModel.bestOf(k, samples)
                out.append((k, b.verified, b.reward, RewardModel.bestOfKL(k)))
                k *= 2
            }
            return out
        }
        /// The best verified rate along the curve, and the last (the hardest push).
        public var peak: (k: Int, verified: Double) {
            let c = curve.max { $0.verified < $1.verified } ?? (1, 0, 0, 0)
            return (c.k, c.verified)
        }
        public var last: (k: Int, verified: Double, reward: Double) {
            let c = curve.last ?? (1, 0, 0, 0)
            return (c.k, c.verified, c.reward)
        }

        /// Pushed hardest, the learned reward is at its highest and the verified rate has
        /// fallen below its own peak: optimising the proxy past a point hurts the goal.
        public var verdict: Verdict {
            Verdict(claim: "the harder a learned reward is optimised, the higher it scores and the fewer answers are right past a point",
                    effect: peak.verified - last.verified,
                    margin: noise([peak.verified, last.verified], n: samples.problems))
        }
        /// Unleashed, RL climbs the learned reward and loses the answers the verifier accepted before.
        public var rlVerdict: Verdict {
            Verdict(claim: "RL against the learned reward, without the leash, leaves fewer held-out answers right than before",
                    effect: rlBeta0.before.pass1 - rlBeta0.after.pass1,
                    margin: noise([rlBeta0.before.pass1, rlBeta0.after.pass1], n: rlBeta0.after.problems))
        }
        /// The leash is what slows the hack: with β > 0 more of the right answers survive.
        public var leashVerdict: Verdict {
            Verdict(claim: "against a learned reward, the leash (β > 0) keeps more held-out answers right than β = 0",
                    effect: rl.after.pass1 - rlBeta0.after.pass1, margin: noise([rl.after.pass1, rlBeta0.after.pass1], n: rl.after.problems))
        }
        public var verdicts: [Verdict] { [verdict, rlVerdict, leashVerdict] }
        public var metrics: [String: Double] {
            ["rm_pref_acc_before": accuracyBefore, "rm_pref_acc": accuracyAfter,
             "rm_best1_verified": curve.first?.verified ?? .nan, "rm_peak_verified": peak.verified, "rm_peak_k": Double(peak.k),
             "rm_bestn_verified": last.verified, "rm_bestn_reward": last.reward, "rm_best1_reward": curve.first?.reward ?? .nan,
             "rm_bestn_k": Double(last.k),
             "rm_rl_pass1_before": rl.before.pass1, "rm_rl_pass1": rl.after.pass1, "rm_rl_beta0_pass1": rlBeta0.after.pass1,
             "rm_rl_kl": rl.after.kl.value, "rm_rl_beta0_kl": rlBeta0.after.kl.value,
             "rm_rl_reward_first": rl.rewardFirst, "rm_rl_reward_last": rl.rewardLast,
             "rm_rl_beta0_reward_last": rlBeta0.rewardLast]
        }
    }

    /// Replies per problem for best-of-n: enough for the push to go well past the peak.
    public static let bestOfN = 32

    // MARK: 4. the leash and the step size

    /// The step size: lesson05's learning rate against 10x that rate, with and without the leash.
    /// (What β alone does shows against a learned reward, experiment 3: with the exact verifier
    /// and lesson05's step, 40 steps do not go far enough for it to matter.)
    public struct Leash {
        public let beta: Run
        public let highLR: Run
        public let highLRBeta0: Run
        public init(beta: Run, highLR: Run, highLRBeta0: Run) {
            self.beta = beta; self.highLR = highLR; self.highLRBeta0 = highLRBeta0
        }

        /// A learning rate 10x too high drifts further, even on the leash.
        public var highLRVerdict: Verdict {
            Verdict(claim: "a learning rate 10x too high drifts further, even with β > 0",
                    effect: highLR.after.kl.value - beta.after.kl.value, margin: noise(highLR.after.kl, beta.after.kl))
        }
        /// 10x the rate and no leash: the replies stop being usable answers at all. (How they
        /// break varies: the tiny model collapses onto ending every reply at once, entropy near
        /// 0; the classroom one onto runs of one digit until it runs out of room. Both leave
        /// nothing well-formed, which is what this verdict measures.)
        public var collapseVerdict: Verdict {
            Verdict(claim: "10x the learning rate without the leash breaks the replies (fewer well-formed)",
                    effect: beta.after.formatRate - highLRBeta0.after.formatRate,
                    margin: noise([beta.after.formatRate, highLRBeta0.after.formatRate], n: beta.after.problems))
        }
        public var verdicts: [Verdict] { [highLRVerdict, collapseVerdict] }
        public var runs: [Run] { [beta, highLR, highLRBeta0] }
        public var metrics: [String: Double] {
            ["beta_kl": beta.after.kl.value,
             "high_lr_kl": highLR.after.kl.value, "high_lr_beta0_kl": highLRBeta0.after.kl.value,
             "entropy_before": beta.before.entropy.value,
             "beta_entropy": beta.after.entropy.value,
             "high_lr_entropy": highLR.after.entropy.value, "high_lr_beta0_entropy": highLRBeta0.after.entropy.value,
             "beta_distinct": beta.after.distinct,
             "high_lr_distinct": highLR.after.distinct, "high_lr_beta0_distinct": highLRBeta0.after.distinct,
             "beta_pass1": beta.after.pass1,
             "high_lr_pass1": highLR.after.pass1, "high_lr_beta0_pass1": highLRBeta0.after.pass1,
             "beta_format": beta.after.formatRate, "high_lr_beta0_format": highLRBeta0.after.formatRate]
        }
    }

    // MARK: 5. preferences or imitation

    /// From the same think model, the same pairs, steps and learning rate: DPO against SFT on
    /// the chosen answers alone (`DPO.Variant.sftChosen`), measured by lesson04's behaviours on
    /// its held-out prompts. SFT sees what to write; only DPO also sees what not to write, for
    /// the same prompt. Run twice: on lesson04's pairs, whose winners are the best replies
    /// there are (`ranked` false: the control), and on `PreferenceData.ranked` pairs, whose
    /// winners are mostly only the better of two middling replies (the claims).
    public struct Imitation {
        public let think: DPO.Behaviour
        public let sftChosen: DPO.Behaviour
        public let dpo: DPO.Behaviour
        /// The pairs were `PreferenceData.ranked`'s, not lesson04's.
        public let ranked: Bool
        public init(think: DPO.Behaviour, sftChosen: DPO.Behaviour, dpo: DPO.Behaviour, ranked: Bool) {
            self.think = think; self.sftChosen = sftChosen; self.dpo = dpo; self.ranked = ranked
        }

        private var which: String { ranked ? "when most winners are only the better of two" : "with the best replies as winners" }
        /// Caution and help at once: harmful requests refused minus safe look-alikes refused.
        public var tradeOffVerdict: Verdict {
            moreNetRefusals("\(which), preferences refuse more harmful requests (net of over-refusals) than SFT on the chosen answers",
                            dpo, than: sftChosen)
        }
        /// Simple questions answered directly, without a needless trace.
        public var conciseVerdict: Verdict {
            moreConcise("\(which), preferences answer simple questions more concisely than SFT on the chosen answers", dpo, than: sftChosen)
        }
        public var verdicts: [Verdict] { [tradeOffVerdict, conciseVerdict] }
        public var metrics: [String: Double] {
            let prefix = ranked ? "ranked_" : ""
            return [prefix + "sft_chosen_refusal": sftChosen.refusalRate, prefix + "sft_chosen_over_refusal": sftChosen.overRefusalRate,
                    prefix + "sft_chosen_concise": sftChosen.conciseRate, prefix + "dpo_refusal": dpo.refusalRate,
                    prefix + "dpo_over_refusal": dpo.overRefusalRate, prefix + "dpo_concise": dpo.conciseRate]
        }
    }
}
