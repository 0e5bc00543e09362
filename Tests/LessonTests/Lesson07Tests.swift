import Foundation
import Testing
import Curriculum
import Kernels
import TinyGPT

/// lesson07's lab on the quick chain: the same runs the lesson makes, from the models the
/// other suites share, each made once per test run.
enum QuickAblations {
    static let lab = Ablations.Lab(quick: true, seed: QuickChain.seed) { stage in
        switch stage {
        case .mid: return try QuickChain.mid.get().model
        case .think: return try QuickChain.think.get().model
        case .dpo: return try QuickChain.dpo.get().model
        default: throw StageError(description: "the ablations start from mid, think or dpo, not \(stage.rawValue)")
        }
    }
}

/// Exercise checker for lesson07: the measuring tools by hand, and what the quick runs show,
/// each judged against a margin computed from the run's own numbers.
@Suite("Lesson07: ablations, each claim measured")
struct Lesson07Tests {
    let tok = Tokenizer.standard

    // MARK: the tools, by hand

    @Test("the default run's held-out problems keep every trained family's share")
    func heldOutProblemsKeepEveryFamily() throws {
        let d = try QuickAblations.lab.data()
        let all = GRPO.heldOut(d, cells: Ablations.cells), picked = Ablations.problems(d, quick: false)
        #expect(all.count > Ablations.heldOutCount && picked.count == Ablations.heldOutCount)
        let families = Set(all.map(\.family))
        for family in families {
            let n = picked.filter { $0.family == family }.count
            let fair = Double(Ablations.heldOutCount) / Double(families.count)
            #expect(abs(Double(n) - fair) < 1, "\(family.rawValue): \(n) of \(picked.count), a fair share is \(fair)")
        }
        #expect(Set(picked.map(\.prompt)).count == picked.count, "no problem twice")
    }

    @Test("noise: the course's rule, three standard errors of a difference of rates, never less than two items' worth")
    func noiseByHand() {
        // Two rates of 0.5 on 100 items each: 3·√(0.25/100 + 0.25/100) = 0.2121.
        #expect(abs(Ablations.noise([0.5, 0.5], n: 100) - 3 * 0.005.squareRoot()) < 1e-12)
        #expect(Ablations.noise([0.5, 0.5], n: 100) == Noise.margin(0.5, 0.5, n: 100, floor: 0), "the same rule as every lesson's")
        // Rates of 0 have no spread by the formula; the floor is 2/n.
        #expect(Ablations.noise([0, 0], n: 64) == 2.0 / 64)
        // A mean and its standard error: 1, 2, 3, 4 -> 2.5, √(var/n) with var = 5/3.
        let m = Ablations.Mean([1, 2, 3, 4])
        #expect(m.value == 2.5 && abs(m.standardError - (5.0 / 3 / 4).squareRoot()) < 1e-12)
        #expect(abs(Ablations.noise(m, m) - 3 * (2 * m.standardError * m.standardError).squareRoot()) < 1e-12)
        #expect(Ablations.Verdict(claim: "", effect: 0.2, margin: 0.1).holds)
        #expect(!Ablations.Verdict(claim: "", effect: 0.1, margin: 0.1).holds, "an effect equal to the noise does not count")
    }

    @Test("entropy and KL per reply token: ln V for a uniform model, KL 0 against itself, KL(uniform ‖ q) by hand")
    func entropyAndKLByHand() throws {
        let model = try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 3)
        let rows = [GRPO.row(prompt: try ChatTemplate.prompt("What is 4 + 5?"), completion: try tok.encodeWithSpecials("9<|end|>")),
                    GRPO.row(prompt: try ChatTemplate.prompt("Add 7 and 3."), completion: try tok.encodeWithSpecials("<think>so 10</think>10<|end|>"))]
        // A zero token embedding gives zero logits (they are lnf · wteᵀ): every next token equally likely.
        let uniform = model.copy()
        for i in 0..<(uniform.config.vocabSize * uniform.config.channels) { uniform.params.ptr[uniform.layout.wte + i] = 0 }
        let V = Double(tok.vocabSize)
        for s in EntropyKL.perToken(uniform, reference: uniform.copy(), rows) {
            #expect(abs(s.entropy - log(V)) < 1e-5 && abs(s.kl) < 1e-9)
        }
        // KL(uniform ‖ q) = Σ (1/V) log((1/V)/q_v) = -ln V - mean_v log q_v, at each reply position of row 0.
        let batch = ChatTemplate.batch([rows[0]])
        model.forward(batch.inputs, B: 1, T: batch.T)
        batch.targets.withUnsafeBufferPointer { _ = model.crossEntropy($0.baseAddress!) }
        var want = 0.0, n = 0
        for t in 0..<batch.T where batch.targets[t] >= 0 {
            let logs = (0..<tok.vocabSize).map { log(Double(model.probs[t * tok.vocabSize + $0])) }
            want += -log(V) - logs.reduce(0, +) / V
            n += 1
        }
        let got = EntropyKL.perToken(uniform, reference: model, [rows[0]])
        #expect(got.count == 1 && abs(got[0].kl - want / Double(n)) < 1e-4, "\(got) vs \(want / Double(n))")
        #expect(want > 0)
    }

    // MARK: the claims, on quick runs

    @Test("a reward model (quick) learns lesson04's pairs: held-out pairs ranked right far more often than by its untrained trunk")
    func rewardModelLearnsThePairs() throws {
        let rm = try QuickAblations.lab.rewardModel()
        #expect(Noise.isRise(from: rm.accuracyBefore, to: rm.accuracyAfter, n: rm.pairs, floor: 0.2), "held-out preference accuracy \(rm.accuracyBefore) -> \(rm.accuracyAfter)")
    }

    @Test("RL against the learned reward (quick): trained on its score, and without the leash the policy drifts much further from the reference")
    func rlAgainstTheLearnedReward() throws {
        let r = try QuickAblations.lab.run(.learnedReward), r0 = try QuickAblations.lab.run(.learnedRewardBeta0)
        #expect(r.settings.beta > 0 && r0.settings.beta == 0 && r.settings.reward.scoreConversations != nil)
        // The training reward is the reward model's score of each reply, not the verifier's 0 or 1.
        let rewards = r.log.steps.map(\.meanReward)
        #expect(rewards.contains { $0 != 0 && $0 != 1 }, "learned rewards \(rewards.prefix(5))")
        // Measured on the held-out problems, each arm by the verifier; the leash's effect by KL.
        let margin = Ablations.noise(r0.after.kl, r.after.kl)
        #expect(r0.after.kl.value - r.after.kl.value > margin, "KL: β \(r.after.kl.value), β = 0 \(r0.after.kl.value), needs > \(margin)")
    }

    @Test("RL from the mid model (quick), asked in its own text: it trains at its edge, its replies are harder to read than after SFT, and a cold start makes them readable")
    func rlFromMidInItsOwnText() throws {
        let e = try QuickAblations.lab.withoutSFT()
        let m = e.fromMid, c = e.coldStart, a = e.afterSFT
        #expect(m.settings.format == .plain && c.settings.format == .plain && a.settings.format == .chat)
        // Asked as "Q: 58 - 27 = ? A:", the mid model is sometimes right: the probe finds prompts
        // at its edge, its groups carry a signal, and the policy moves.
        #expect(m.edge?.prompts.isEmpty == false && m.signal > 0, "edge prompts \(m.edge?.prompts.count ?? 0), groups with a signal \(m.signal)")
        #expect(m.after.kl.value > 0, "KL to the reference \(m.after.kl.value)")
        // Experiment 1's arms are measured on their own rungs with room too, all of those rungs' held-out problems.
        #expect(m.rungsBefore.graded.map(\.problem) == GRPO.heldOut(try QuickAblations.lab.data(), cells: (m.edge?.target ?? []).filter(Ablations.cells.contains)))
        // Their end points are compared on every held-out problem of the arms' rungs, greedily.
        for r in [m, c, a] { #expect(r.allAfter.graded.map(\.problem) == GRPO.heldOut(try QuickAblations.lab.data(), cells: Ablations.cells)) }
        // The verifier reads the first line only; nothing teaches the mid model to stop there.
        #expect(e.readabilityVerdict.holds,
                "readable replies: mid -> RL \(m.after.formatRate), think -> RL \(a.after.formatRate), needs > \(e.readabilityVerdict.margin)")
        // A few hundred examples that stop after the answer line, and the same RL keeps them readable.
        #expect(e.coldStartVerdict.holds,
                "readable replies: mid -> RL \(m.after.formatRate), cold start -> RL \(c.after.formatRate), needs > \(e.coldStartVerdict.margin)")
    }

    @Test("SFT on the chosen answers (quick): the tiny model learns to refuse, and, as in the default run, draws the line: the safe look-alikes stay answered")
    func imitationRefusesWithoutTheLine() throws {
        let e = try QuickAblations.lab.preferencesOrImitation(ranked: false)
        #expect(try QuickAblations.lab.imitation(ranked: false).settings.objective == .chosenOnly)
        let pairs = try DPO.data().valid
        let before = e.think, after = e.sftChosen
        let nCaution = pairs.filter { $0.family == .caution }.count, nHelpful = pairs.filter { $0.family == .helpful }.count
        #expect(Noise.isRise(from: before.refusalRate, to: after.refusalRate, n: nCaution, floor: 0.1),
                "harmful requests refused: \(before.refusalRate) -> \(after.refusalRate)")
        // Every harmful request's chosen answer is a refusal and every look-alike's is help, so
        // imitating them teaches the line too (lesson07, experiment 5): the bound lesson04's quick test uses.
        #expect(!Noise.isRise(from: before.overRefusalRate, to: after.overRefusalRate, n: nHelpful, floor: 0.1) && after.overRefusalRate <= 0.2,
                "safe look-alikes refused: \(before.overRefusalRate) -> \(after.overRefusalRate)")
    }

    @Test("preferences or imitation (quick), on pairs whose winners are mostly only the better of two: DPO refuses more harmful requests, net of look-alikes refused, than SFT on the chosen answers")
    func rankedPairsPreferencesBeatImitation() throws {
        let e = try QuickAblations.lab.preferencesOrImitation(ranked: true)
        #expect(e.ranked && e.tradeOffVerdict.holds,
                "net refusals: SFT on chosen \(e.sftChosen.refusalRate - e.sftChosen.overRefusalRate), DPO \(e.dpo.refusalRate - e.dpo.overRefusalRate), needs > \(e.tradeOffVerdict.margin)")
    }

    @Test("the report keys of stage ablations")
    func reportKeys() throws {
        let e = try QuickAblations.lab.withoutSFT()
        // Any two runs can stand in for experiment 3's RL arms here: this checks the keys, not the values.
        let learned = Ablations.LearnedReward(accuracyBefore: 0.5, accuracyAfter: 0.9, pairs: 3,
                                              samples: RewardModel.Samples(rewards: [[0.1, 0.5, 0.9, 0.2]], verified: [[true, false, false, true]]),
                                              rl: e.afterSFT, rlBeta0: e.fromMid)
        var metrics = e.metrics
        metrics.merge(learned.metrics) { x, _ in x }
        metrics.merge(Ablations.claimMetrics(e.verdicts)) { x, _ in x }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lesson07-\(getpid())").path
        try Report.record(stage: "ablations", metrics: metrics, in: out)
        let report = try Report.load(from: out)
        #expect(report["ablations"]?["claims_total"] == 5)
        #expect(report["ablations"]?["claims_confirmed"] == Double(e.verdicts.filter(\.holds).count))
        for key in ["rl_from_mid_pass1_gain", "rl_from_mid_rungs_gain", "rl_from_mid_format", "cold_start_format", "cold_start_pass1",
                    "rl_after_sft_pass1_gain", "rm_pref_acc", "rm_peak_verified",
                    "rm_bestn_verified", "rm_rl_pass1", "rm_rl_beta0_pass1", "rm_rl_kl", "rm_rl_beta0_kl",
                    "claims_total", "claims_confirmed"] {
            #expect(report["ablations"]?[key] != nil, "ablations is missing \(key)")
        }
        // Best of 1, 2, 4 from four samples: the curve has three points, the pick of all four is the 0.9 (wrong).
        #expect(learned.curve.map(\.k) == [1, 2, 4] && learned.last.verified == 0 && learned.curve[0].verified == 0.5)
    }
}
