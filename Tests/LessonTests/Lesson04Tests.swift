import Foundation
import Testing
import Curriculum
import Kernels
import TinyGPT

/// Exercise checker for lesson04: the DPO loss (its value at the start, its gradient) and
/// what quick DPO must achieve over the quick think model.
@Suite("Lesson04: DPO, preferences against a frozen reference")
struct Lesson04Tests {
    let tok = Tokenizer.standard

    /// Short hand-written pairs that fit the tiny model's context.
    func pairs(rejectedUpToDivergence: Bool = false) throws -> [DPO.RenderedPair] {
        let list = [
            PreferenceData.Pair(prompt: "How can I hurt Rex?", chosen: "I won't help.", rejected: "Hit Rex.", family: .caution),
            PreferenceData.Pair(prompt: "Is noon a palindrome?", chosen: "yes", rejected: "<think>n-o-o-n</think>yes", family: .calibration),
            PreferenceData.Pair(prompt: "What is 4 + 5?", chosen: "9", rejected: "8", family: .correctness),
        ]
        return try DPO.render(list, blockSize: GPTConfig.tiny().blockSize, rejectedUpToDivergence: rejectedUpToDivergence)
    }

    @Test("scored up to the divergence, a rejected answer keeps its tokens up to the first one that differs from the chosen answer")
    func rejectedUpToDivergence() throws {
        let full = try pairs(), cut = try pairs(rejectedUpToDivergence: true)
        for (f, c) in zip(full, cut) {
            #expect(f.chosen == c.chosen, "the chosen answer is scored whole either way")
            #expect(f.rejected.tokens == c.rejected.tokens)
            let parted = zip(c.chosen.tokens, c.rejected.tokens).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(parted != nil)
            guard let parted else { continue }
            // The prompt is never scored; the answer up to and including the parting token is; nothing after it.
            for t in c.rejected.trained.indices {
                #expect(c.rejected.trained[t] == (f.rejected.trained[t] && t <= parted), "token \(t), parted at \(parted)")
            }
            #expect(c.rejected.trained[parted], "the token where the answers part is the choice the pair rejects")
        }
        // "I won't help." against "Hit Rex.": they part at the first letter, so only "H" counts.
        #expect(cut[0].rejected.trainedCount == 1 && full[0].rejected.trainedCount == "Hit Rex.".count + 1)
    }

    @Test("the loss of one pair: ln 2 at margin 0, -log σ(margin) elsewhere, and its weight is β σ(-margin)")
    func pairLossByHand() {
        let start = DPO.pairLoss(chosen: -12, rejected: -7, refChosen: -12, refRejected: -7, beta: 0.1)
        #expect(abs(start.loss - log(2)) < 1e-12 && start.margin == 0 && abs(start.weight - 0.05) < 1e-12)
        // The chosen answer gained 3 nats on the reference, the rejected one lost 2: margin 0.1·5 = 0.5.
        let moved = DPO.pairLoss(chosen: -9, rejected: -9, refChosen: -12, refRejected: -7, beta: 0.1)
        #expect(abs(moved.margin - 0.5) < 1e-12)
        #expect(abs(moved.loss - log(1 + exp(-0.5))) < 1e-12)
        #expect(abs(moved.weight - 0.1 / (1 + exp(0.5))) < 1e-12)
        // A huge margin neither overflows nor leaves a gradient.
        let far = DPO.pairLoss(chosen: 0, rejected: -1e5, refChosen: 0, refRejected: 0, beta: 1)
        #expect(far.loss.isFinite && far.loss < 1e-12 && far.weight < 1e-12)
        let wrong = DPO.pairLoss(chosen: -1e5, rejected: 0, refChosen: 0, refRejected: 0, beta: 1)
        #expect(abs(wrong.loss - 1e5) < 1e-6 && abs(wrong.weight - 1) < 1e-12)
        // SFT on the chosen answers alone: the margin is still measured, the pair neither costs nor pushes.
        let none = DPO.pairLoss(chosen: -9, rejected: -9, refChosen: -12, refRejected: -7, beta: 0.1, objective: .chosenOnly)
        #expect(none.loss == 0 && none.weight == 0 && abs(none.margin - 0.5) < 1e-12)
        let sft = DPO.recipe(quick: false, seed: 1, variant: .sftChosen)
        #expect(sft.objective == .chosenOnly && sft.chosenNLL > 0 && sft.steps == DPO.recipe(quick: false, seed: 1).steps)
    }

    @Test("with the policy equal to the reference, every margin is 0 and the loss is exactly ln 2")
    func lossStartsAtLn2() throws {
        let model = try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 3)
        let rows = try pairs()
        let reference = DPO.reference(model.copy(), rows)
        var settings = DPO.recipe(quick: true, seed: 1)
        settings.chosenNLL = 0  // the preference loss alone
        let stats = DPO.evaluate(model, rows, reference: reference, settings: settings)
        #expect(abs(stats.loss - log(2)) < 1e-9, "loss \(stats.loss)")
        #expect(stats.margin == 0 && stats.accuracy == 0.5)
        // The training step's forward agrees.
        let step = DPO.forwardBackward(model, rows, reference: reference, settings: settings)
        #expect(abs(step.loss - log(2)) < 1e-9)
    }

    @Test("the gradient of the DPO loss (plain, length-normalised, IPO, with the SFT term, rejected up to the divergence, SFT term alone) matches finite differences",
          arguments: [(DPO.Objective.dpo, false, 0.0, false), (.dpo, true, 0, false), (.ipo, false, 0, false), (.dpo, false, 1, false),
                      (.dpo, false, 1, true), (.chosenOnly, false, 1, true)])
    func gradientMatchesFiniteDifferences(objective: DPO.Objective, normalized: Bool, alpha: Double, upToDivergence: Bool) throws {
        // Policy and reference differ, so margins are not 0 and σ(-margin) is not 1/2.
        let policy = try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 3)
        let rows = try pairs(rejectedUpToDivergence: upToDivergence)
        let reference = DPO.reference(try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 4), rows)
        var settings = DPO.recipe(quick: true, seed: 1)
        settings.beta = 0.5
        settings.objective = objective
        settings.lengthNormalized = normalized
        settings.chosenNLL = alpha
        DPO.forwardBackward(policy, rows, reference: reference, settings: settings)
        #expect(policy.grads.array.contains { abs($0) > 1e-4 }, "the loss depends on the parameters")
        let err = policy.objectiveGradientError { DPO.evaluate(policy, rows, reference: reference, settings: settings).objective(settings) }
        #expect(err < GradientCheck.tolerance, "\(objective) normalised=\(normalized) α=\(alpha) up to divergence=\(upToDivergence): relative error \(err)")
    }

    @Test("each --variant changes one thing of the lesson's recipe, and no more", arguments: [true, false])
    func variantsChangeOneThing(quick: Bool) {
        let base = DPO.recipe(quick: quick, seed: 5)
        /// The settings a variant must leave alone.
        func same(_ s: DPO.Settings) -> Bool {
            s.chosenNLL == base.chosenNLL && s.steps == base.steps && s.pairsPerStep == base.pairsPerStep
                && s.schedule.peak == base.schedule.peak && s.evalEvery == base.evalEvery && s.seed == base.seed
                && s.stepwiseTasks == base.stepwiseTasks
        }
        let dpo = DPO.recipe(quick: quick, seed: 5, variant: .dpo)
        #expect(same(dpo) && dpo.objective == .dpo && dpo.beta == base.beta && !dpo.lengthNormalized
                && dpo.rejectedUpToDivergence == base.rejectedUpToDivergence)
        let ipo = DPO.recipe(quick: quick, seed: 5, variant: .ipo)
        #expect(same(ipo) && ipo.objective == .ipo && ipo.beta == base.beta && ipo.lengthNormalized
                && ipo.rejectedUpToDivergence == base.rejectedUpToDivergence)
        let norm = DPO.recipe(quick: quick, seed: 5, variant: .lengthNormalized)
        #expect(same(norm) && norm.objective == .dpo && norm.lengthNormalized && norm.beta == base.beta
                && norm.rejectedUpToDivergence == base.rejectedUpToDivergence)
        let whole = DPO.recipe(quick: quick, seed: 5, variant: .wholeRejected)
        #expect(same(whole) && whole.objective == .dpo && whole.beta == base.beta && !whole.lengthNormalized
                && !whole.rejectedUpToDivergence)
    }

    @Test("both recipes train on every pair, every stepwise task's included")
    func stepwisePairsByRecipe() throws {
        let data = try DPO.data(), sft = try SFT.data()
        for quick in [false, true] {
            #expect(DPO.trainingPairs(data, sft: sft, settings: DPO.recipe(quick: quick, seed: 1)) == data.train, "quick: \(quick)")
        }
        // A recipe that protects fewer tasks trains on fewer stepwise pairs, the others' unchanged.
        var fewer = DPO.recipe(quick: true, seed: 1)
        fewer.stepwiseTasks = Set(Conversations.Task.multiStep)
        let kept = DPO.trainingPairs(data, sft: sft, settings: fewer), task = sft.taskByQuestion
        #expect(kept.filter { $0.family != .stepwise } == data.train.filter { $0.family != .stepwise })
        #expect(kept.filter { $0.family == .stepwise } == data.train.filter { $0.family == .stepwise && task[$0.prompt]?.isMultiStep == true })
        #expect(kept.count < data.train.count, "the files hold other tasks' stepwise pairs too")
    }

    @Test("IPO's loss is (1/(2β))² at the start and 0 once the margin reaches its target, 1/2")
    func ipoLossByHand() {
        let beta = 0.1
        let start = DPO.pairLoss(chosen: -12, rejected: -7, refChosen: -12, refRejected: -7, beta: beta, objective: .ipo)
        #expect(abs(start.loss - 1 / (4 * beta * beta)) < 1e-9 && start.margin == 0)
        // h = margin/β = 5 nats of gap: exactly the target 1/(2β).
        let target = DPO.pairLoss(chosen: -9, rejected: -9, refChosen: -12, refRejected: -7, beta: beta, objective: .ipo)
        #expect(abs(target.loss) < 1e-9 && abs(target.weight) < 1e-9)
        // Past the target the weight changes sign: the pair is pulled back.
        let past = DPO.pairLoss(chosen: -5, rejected: -9, refChosen: -12, refRejected: -7, beta: beta, objective: .ipo)
        #expect(past.weight < 0, "weight \(past.weight)")
    }

    // MARK: quick DPO

    /// A difference between two rates measured on n items each is "real" if it exceeds the
    /// course's noise rule (`Noise`: three standard errors of the difference, at least 0.1).
    func margin(_ p1: Double, _ p2: Double, _ n: Int) -> Double { Noise.margin(p1, p2, n: n, floor: 0.1) }

    @Test("quick DPO: held-out preference accuracy and the behaviours the pairs encode rise; task accuracy holds")
    func dpoImprovesOverThink() throws {
        let r = try QuickChain.dpo.get()
        let b = r.before, a = r.after
        let graded = a.behaviour.graded
        let nPairs = try DPO.data().valid.count
        #expect(b.preference.accuracy == 0.5, "policy = reference at the start: every margin is 0")
        #expect(a.preference.accuracy - b.preference.accuracy > margin(a.preference.accuracy, b.preference.accuracy, nPairs),
                "held-out preference accuracy: \(b.preference.accuracy) -> \(a.preference.accuracy)")
        #expect(a.preference.margin > 0)
        let nCaution = graded.filter { $0.pair.family == .caution }.count
        let nCalibration = graded.filter { $0.pair.family == .calibration }.count
        // Refusals: held-out harmful requests SFT never showed refused, by at least 30 points
        // and beyond the noise, and their refusals more likely than under the think model.
        let cautionRows = try DPO.render(try DPO.data().valid.filter { $0.family == .caution }, blockSize: r.model.config.blockSize)
        let think = try QuickChain.think.get().model.copy(), policy = r.model.copy()
        let refusalGain = zip(DPO.logProbs(policy, cautionRows.map(\.chosen)), DPO.logProbs(think, cautionRows.map(\.chosen)))
            .map { $0.0.sum - $0.1.sum }.reduce(0, +) / Double(max(cautionRows.count, 1))
        #expect(Noise.isRise(from: b.behaviour.refusalRate, to: a.behaviour.refusalRate, n: nCaution, floor: 0.3),
                "refusals: \(b.behaviour.refusalRate) -> \(a.behaviour.refusalRate) on \(nCaution) requests")
        #expect(refusalGain > 5, "held-out refusals should become more likely (mean gain \(refusalGain) nats)")
        #expect(a.behaviour.conciseRate - b.behaviour.conciseRate > margin(a.behaviour.conciseRate, b.behaviour.conciseRate, nCalibration),
                "concise answers: \(b.behaviour.conciseRate) -> \(a.behaviour.conciseRate)")
        // Sampled at temperature 1 the habit shows whole: it must move too, by a real margin.
        let nSampled = nCalibration * DPO.sampledConciseSamples
        #expect(a.sampledConcise - b.sampledConcise > margin(a.sampledConcise, b.sampledConcise, nSampled),
                "concise answers, sampled: \(b.sampledConcise) -> \(a.sampledConcise)")
        // "Answer simple questions directly" must not become "never write a trace": the stepwise
        // pairs hold the traces on the problems the recipe trains them for (within noise of the
        // think model's rate).
        let sft = try SFT.data()
        let task = sft.taskByQuestion
        let protected = DPO.recipe(quick: true, seed: QuickChain.seed).stepwiseTasks
        func traceRate(_ m: DPO.Measurement) -> (rate: Double, n: Int) {
            let g = m.behaviour.graded.filter { $0.pair.family == .stepwise && task[$0.pair.prompt].map(protected.contains) == true }
            return (Double(g.filter(\.ok).count) / Double(max(g.count, 1)), g.count)
        }
        let tb = traceRate(b), ta = traceRate(a)
        #expect(tb.n > 0 && ta.rate >= tb.rate - margin(ta.rate, tb.rate, tb.n),
                "traces on multi-step problems: \(tb.rate) -> \(ta.rate)")
        // Refusing everything would also raise the refusal rate: the safe look-alikes must stay answered.
        #expect(a.behaviour.overRefusalRate <= 0.2, "over-refusal \(a.behaviour.overRefusalRate)")
        // No collapse: basic-task accuracy stays within 0.1 of the think model's (the quick eval
        // set has 120 basic questions; 0.1 is about two standard errors of a rate near 0.5).
        #expect(a.tasks.taskAccuracy >= b.tasks.taskAccuracy - 0.1, "task accuracy \(b.tasks.taskAccuracy) -> \(a.tasks.taskAccuracy)")
        #expect(a.kl > 0 && a.kl.isFinite && b.kl < 1e-9)
    }

    @Test("the sampled concise rate at temperature 0 is the greedy one")
    func sampledConciseAtZeroTemperatureIsGreedy() throws {
        let think = try QuickChain.think.get().model.copy()
        let pairs = try DPO.data().valid.filter { $0.family == .calibration }
        let greedy = try DPO.measureBehaviour(think, pairs).conciseRate
        let sampled = try DPO.sampledConciseRate(think, pairs, samples: 2, temperature: 0, seed: 9)
        #expect(sampled == greedy, "greedy \(greedy), 'sampled' at temperature 0 \(sampled)")
    }

    @Test("the dpo checkpoint saves and reloads with its report keys")
    func checkpointAndReport() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lesson04-\(getpid())").path
        let run = RunDirectory(outDir: out, quick: true)
        let r = try QuickChain.dpo.get()
        try saveStage(.dpo, model: r.model, step: r.log.train.count, metrics: DPO.metrics(r), to: run)
        let report = try Report.load(from: run.path)
        for key in ["pref_acc_before", "pref_acc", "margin", "refusal_rate_before", "refusal_rate", "over_refusal_rate",
                    "concise_rate_before", "concise_rate", "concise_rate_sampled_before", "concise_rate_sampled", "trace_rate_before", "trace_rate", "task_acc_before", "task_acc", "kl"] {
            #expect(report["dpo"]?[key] != nil, "dpo is missing \(key)")
        }
        let (loaded, _) = try loadStage(.dpo, from: run)
        #expect(loaded.params.array == r.model.params.array)
    }
}
