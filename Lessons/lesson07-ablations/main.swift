// lesson07-ablations: why the order of the stages matters, shown with numbers (report stage `ablations`).
//
//     swift run lesson07-ablations            # a few minutes (plus lessons 01-04 if their checkpoints are missing)
//     swift run lesson07-ablations --quick    # about a minute, tiny model
import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let nb = Notebook(
    name: "lesson07-ablations",
    title: "Ablations: why the stages come in this order, each claim tested by a short run",
    intro: """
    The course has made claims: RL needs a model that already sometimes gets it right; \
    preferences teach what a checker cannot; a learned reward can be pushed past what it knows; \
    the KL term keeps RL from wandering off. Here each claim becomes an experiment. An ablation changes \
    one thing and keeps everything else: the same RL code as lesson05, the same seed, the same \
    prompts and held-out problems, runs cut short to fit a lesson. Each experiment ends with a \
    verdict computed from its numbers: "confirmed" only when the effect is larger than what \
    measuring twice could show by chance, otherwise "not seen in this run".
    """,
    next: "swift test --filter Lesson07")

let quick = nb.options.quick
let seed = nb.options.seed
let recipe = Ablations.recipe(quick: quick, seed: seed)
/// lesson05's own recipe, which the arms shorten.
let lesson05 = GRPO.recipe(quick: quick, seed: seed)

/// The starting models (loaded, or trained now with their prerequisites if missing), the
/// arms, the reward model and the imitation run: each made on first use, so `--step N` works alone.
let progress = nb.trainingProgress(label: "lessons 01-04")
let lab = Ablations.Lab(quick: quick, seed: seed, bars: { label, steps in
    let bar = nb.progress(total: steps, label: label)
    return { step, metrics in
        bar.update(step, metrics: metrics)
        if step == steps { bar.finish() }
    }
}) { stage in
    let run = nb.run
    switch stage {
    case .mid: return try Midtrain.loadOrTrain(run: run, quick: quick, seed: seed, say: nb.say, progress: progress)
    case .think: return try SFT.loadOrTrain(.think, run: run, quick: quick, seed: seed, say: nb.say, progress: progress)
    case .dpo: return try DPO.loadOrTrain(run: run, quick: quick, seed: seed, say: nb.say, progress: progress)
    default: throw StageError(description: "the ablations start from mid, think or dpo, not \(stage.rawValue)")
    }
}
nb.checkRunFolders([nb.run])

/// The reply as the model wrote it, up to its [end], saying so when that is nothing.
func shown(_ r: Verifier.Reply) -> String { r.shown.isEmpty ? "(nothing: [end] at once)" : r.shown }

/// A learning rate as written in code (1e-3, not 0.0009999999).
func lr(_ x: Float) -> String { String(format: "%g", Double(x)) }

func signed(_ x: Double, _ digits: Int = 3) -> String { (x >= 0 ? "+" : "") + fmt(x, digits) }

/// The verdict as printed, and recorded in the summary.
func verdict(_ tag: String, _ v: Ablations.Verdict) {
    nb.say("Claim: \(v.claim). Measured effect \(signed(v.effect)); it must exceed \(fmt(v.margin)) (three standard errors, the course's noise rule) to count.")
    nb.result(tag, v.word)
}

/// Training curves smoothed over a few steps (short runs are noisy step to step).
func smooth(_ xs: [Double]) -> [Double] { Curves.smoothed(xs, window: xs.count / 8) }

/// The first held-out reply of a run, for a look at what the model writes.
func example(_ r: Ablations.Run) {
    guard let g = r.after.measurement.graded.first else { return }
    let asked = r.settings.format == .plain ? "Q: \(g.problem.expression ?? g.problem.prompt) = ? A:" : g.problem.prompt
    nb.emit("    \(r.settings.format == .plain ? "text" : "user"): \(asked)   (right answer \(g.problem.answer))")
    let text = r.settings.format == .plain ? r.settings.format.shown(g.greedy.reply) : shown(g.greedy.reply)
    nb.emit("    \(r.arm.label): \(ReportCard.oneLine(text, nb.width - 10 - r.arm.label.count))")
}

nb.step("The plan: eight short RL runs from four starting points, a reward model, and three short lesson04 runs", """
    Every arm is lesson05's GRPO: \(recipe.promptsPerStep) prompts a step, \(recipe.groupSize) replies each, \
    the verifier's reward, β = \(fmt(recipe.beta, 2)), learning rate \(lr(recipe.schedule.peak)), for \
    \(recipe.steps) steps (lesson05 trains for \(lesson05.steps) steps\(lesson05.groupSize == recipe.groupSize ? "" : " with \(lesson05.groupSize) replies each")\(lesson05.beta == recipe.beta ? "" : " and β = \(fmt(lesson05.beta, 2))"); eight short arms must fit in a few minutes). Each arm changes one thing. Experiment 1's arms \
    first probe their starting model, as lesson05 does (\(Ablations.probePerCell) training prompts per rung, \
    \(recipe.groupSize) samples each), and train where it is at the edge; the others share the seven rungs' prompts. All are measured on the same held-out problems (lesson05's, at most \(Ablations.heldOutCount)): greedy \
    pass@1, and \(Ablations.samplesPerProblem) sampled replies per problem for the entropy (how many ways \
    the model still considers, in nats per token), the KL to where it started, and how many \
    of its replies differ. Experiment 3 trains a reward model on lesson04's pairs, picks \
    the dpo model's replies by it, and runs RL with it as the reward; experiment 5 reruns lesson04 from the think model without \
    its comparison (SFT on the pairs' chosen answers), on lesson04's pairs and on pairs whose \
    winners are mostly only the better of two replies, and DPO on the latter.

    Below: the RL arms, then the three starting models, measured before any RL.
    """) {
    nb.table(["arm", "starts from", "what changes", "experiment"], Ablations.Arm.allCases.map { arm in
        let change: String
        switch arm {
        case .fromMid: change = "no SFT: asked in mid-training's own text"
        case .coldStart: change = "the same, after \(Ablations.coldStartExamples) examples that stop"
        case .afterSFT: change = "no preferences"
        case .fullLine: change = "nothing: the control"
        case .highLR: change = "learning rate x\(Int(Ablations.highLRFactor))"
        case .highLRBeta0: change = "learning rate x\(Int(Ablations.highLRFactor)) and β = 0"
        case .learnedReward: change = "the reward model's score as the reward"
        case .learnedRewardBeta0: change = "the same, β = 0"
        }
        let exp: String
        switch arm {
        case .fromMid, .coldStart: exp = "1"
        case .afterSFT: exp = "1, 2"
        case .fullLine: exp = "2, 4"
        case .highLR, .highLRBeta0: exp = "4"
        case .learnedReward, .learnedRewardBeta0: exp = "3"
        }
        return [arm.label, arm == .coldStart ? "mid + cold start" : arm.start.rawValue, change, exp]
    })
    var rows: [[String]] = []
    for stage in [Stage.mid, .think, .dpo] {
        let s = try lab.snapshot(stage)
        rows.append([stage.rawValue, Ablations.format(stage) == .plain ? "Q: ... A:" : "chat", pct(s.pass1),
                     pct(s.measurement.pass(at: Ablations.samplesPerProblem)), pct(s.formatRate), fmt(s.meanLength, 1), fmt(s.entropy.value, 2)])
    }
    nb.table(["start", "asked as", "pass@1", "pass@\(Ablations.samplesPerProblem)", "well-formed", "reply length", "entropy"], rows)
    nb.say("On \(try lab.problems().count) held-out problems; reply length in tokens, entropy in nats per reply token.")
    let mid = try lab.snapshot(.mid)
    nb.say("""
    The mid model has never seen the chat template, so it is asked in the text it learned \
    from: "Q: 58 - 27 = ? A:", and its answer is the rest of that line. "Well-formed" means, \
    for it, that it wrote that one line and ended the text: \(pct(mid.formatRate)) of its greedy \
    replies do; the others go on inventing questions. The chat models are well-formed when \
    they stop at [end] with an answer the verifier can read.
    """)
}

nb.step("Experiment 1 · RL without SFT (the R1-Zero question), and a cold start", """
    DeepSeek's R1-Zero ran RL straight on a pretrained model, with no SFT, and it learned to \
    reason; but its replies were hard to read, so R1 itself first got a small SFT "cold start". \
    Can our mid model do the same? It has never seen the chat template, so it is asked in its \
    own text ("Q: 58 - 27 = ? A:") and the verifier reads the rest of that line. Nothing in \
    this reward asks the model to stop after its answer. The cold start is \
    \(Ablations.coldStartExamples) two-digit sums from mid-training's own data, each written as \
    its answer line and then the end of the text: the model knows these answers already, so \
    what it learns is where to stop. Then the same RL.

    Claims: RL from the mid model raises its held-out pass@1 where it had room (RL needs no \
    SFT); its replies stay harder to read than those of RL after SFT; the cold start makes \
    them readable, at no cost in pass@1; and RL after SFT ends with more problems right than \
    RL from the mid model (a foundation first). Three runs, identical but for where they start.
    """) {
    let e = try lab.withoutSFT()
    let m = e.fromMid, c = e.coldStart, a = e.afterSFT
    let cold = try lab.coldStarted()
    nb.say("Cold start: \(cold.examples) examples, \(cold.log.trainLoss.count) steps of 8 in \(fmt(cold.log.seconds, 1)) s.")
    nb.chart(title: "training reward (mean over the step's replies, smoothed), by step",
             series: [m, c, a].map { ($0.arm.label, smooth($0.log.rewardCurve)) }, xLabel: "steps")
    nb.table(["arm", "pass@1 where it had room", "pass@1, all problems", "well-formed", "KL"], [m, c, a].map { r in
        [r.arm.label, "\(pct(r.rungsBefore.pass1)) -> \(pct(r.rungsAfter.pass1))", "\(pct(r.before.pass1)) -> \(pct(r.after.pass1))",
         "\(pct(r.before.formatRate)) -> \(pct(r.after.formatRate))", fmt(r.after.kl.value)]
    })
    for r in [m, c, a] {
        let rungs = (r.edge?.target ?? []).filter(Ablations.cells.contains).map(\.title)
        nb.say("\(r.arm.label): room on \(rungs.isEmpty ? "no rung" : rungs.joined(separator: ", ")) (\(r.rungsAfter.graded.count) held-out problems).")
    }
    nb.say("All problems: the \(m.after.problems) held-out problems every arm is measured on.")
    example(m)
    example(c)
    example(a)
    nb.say("""
    Where it had room, the mid model's pass@1 went \(pct(m.rungsBefore.pass1)) -> \(pct(m.rungsAfter.pass1)): RL \
    works from a model that has had no SFT, as long as it is asked in a form it knows. \
    Well-formed, for the mid model, means one answer line and then the end of the text: \
    \(pct(m.before.formatRate)) -> \(pct(m.after.formatRate)). The reward never paid for stopping, so RL had \
    no reason to teach it. After the cold start: \(pct(c.after.formatRate)) well-formed and \
    \(pct(c.after.pass1)) right, against \(pct(m.after.pass1)) without it. After SFT (and in the chat \
    template): \(pct(a.after.pass1)) right.

    The end points are compared on more problems than the snapshots sample: greedy replies \
    to all \(a.allAfter.graded.count) held-out problems of the arms' rungs. Right after RL: \
    \(pct(m.allAfter.pass1)) from mid, \(pct(c.allAfter.pass1)) after the cold start, \
    \(pct(a.allAfter.pass1)) after SFT.
    """)
    verdict("1 · RL from mid raises pass@1", e.fromMidVerdict)
    verdict("1 · RL from mid is harder to read", e.readabilityVerdict)
    verdict("1 · a cold start makes it readable", e.coldStartVerdict)
    verdict("1 · the cold start costs no pass@1", e.coldStartAccuracyVerdict)
    verdict("1 · RL after SFT ends higher than RL from mid", e.verdict)
}

nb.step("Experiment 2 · Skipping preferences", """
    RL with a verifier rewards right answers and nothing else. Answering a simple question \
    without a needless trace, or refusing to help hurt an animal while still helping to feed \
    it, are not things a checker of sums can see. lesson04 taught them with preference pairs.

    Claim: think -> RL (preferences skipped) is less concise, and refuses less, than \
    dpo -> RL (the full line), with the same RL. The behaviours are lesson04's measurement: \
    greedy replies to its held-out prompts.
    """) {
    let full = try lab.run(.fullLine), skipped = try lab.run(.afterSFT)
    let e = try lab.skipPreferences()
    let rows: [(String, (DPO.Behaviour) -> Double)] = [
        ("concise answers to simple questions", { $0.conciseRate }),
        ("harmful requests refused", { $0.refusalRate }),
        ("safe look-alikes refused (over-refusal)", { $0.overRefusalRate }),
    ]
    nb.table(["held-out", "think", "think -> RL", "dpo", "dpo -> RL"], rows.map { name, f in
        [name, pct(f(e.think)), pct(f(e.skipped)), pct(f(e.dpo)), pct(f(e.fullLine))]
    } + [["RL problems, pass@1", pct(skipped.before.pass1), pct(skipped.after.pass1), pct(full.before.pass1), pct(full.after.pass1)]])
    nb.chart(title: "training reward (smoothed), by step",
             series: [(skipped.arm.label, smooth(skipped.log.rewardCurve)), (full.arm.label, smooth(full.log.rewardCurve))],
             xLabel: "steps")
    let n = e.fullLine.graded.filter { $0.pair.family == .calibration }.count
    func moved(_ x: Double, _ y: Double) -> String {
        abs(y - x) <= Ablations.noise([x, y], n: n) ? "kept it (\(pct(x)) -> \(pct(y)))" : "moved it from \(pct(x)) to \(pct(y))"
    }
    nb.say("""
    Read the columns in pairs. RL rewards right sums and nothing else; what it does to the \
    other behaviours is a side effect. The share of concise answers: RL from think \(moved(e.think.conciseRate, e.skipped.conciseRate)); \
    RL from dpo \(moved(e.dpo.conciseRate, e.fullLine.conciseRate)). Without the preference stage \
    the concise answers were never taught, and RL does not teach them. \
    Refusals: \(pct(e.skipped.refusalRate)) without preferences, \(pct(e.fullLine.refusalRate)) with \
    them.\(e.dpo.refusalRate < 0.05 ? " lesson04 did not manage to teach refusals (its chapter says why), so here there is no refusal for RL to keep or lose." : "")
    """)
    verdict("2 · skipping preferences: less concise", e.conciseVerdict)
    verdict("2 · skipping preferences: fewer refusals", e.refusalVerdict)
}

nb.step("Experiment 3 · A learned reward, optimised too hard", """
    RLHF's reward is not a checker but a model, trained on preference pairs to score the \
    chosen answer above the rejected one (Bradley-Terry: P(chosen wins) = σ(r_c - r_r)). A \
    learned reward is right where its pairs taught it, and guesses elsewhere. Here a reward \
    model (a copy of the think model, whose output row for <|pad|> becomes the score) learns \
    lesson04's pairs. Then we push against it in the simplest way, best-of-n: the dpo model \
    writes \(Ablations.bestOfN) replies to each held-out RL problem, and of k of them the reward model \
    picks its favourite. The verifier says whether the pick is right; the reward model knows \
    it only through the few right-or-wrong pairs among lesson04's. Picking the best of k moves at most ln k - (k-1)/k nats away from the policy (the \
    KL of best-of-k): k is the leash here. Then we push the hard way: RL with the reward \
    model's score as the reward, with lesson05's leash and without it.

    Claims: the harder the learned reward is pushed (the larger k), the higher it scores, and \
    past some point the fewer of its picks are right (over-optimisation); RL against it \
    without the leash (β = 0) ends with fewer held-out answers right than it started with; \
    and the leash (β > 0) keeps more of them.
    """) {
    let e = try lab.learned()
    nb.say("""
    Held-out pairs ranked right: \(pct(e.accuracyBefore)) by the untrained trunk, \(pct(e.accuracyAfter)) by the \
    reward model (\(e.pairs) pairs it never trained on).
    """)
    nb.table(["k (best of)", "KL from the policy", "learned reward of the pick", "picks right (verifier)"], e.curve.map { c in
        [String(c.k), fmt(c.kl, 2), fmt(c.reward, 2), pct(c.verified)]
    })
    nb.chart(title: "verified rate of the reward model's pick, by k = 1, 2, 4, ...",
             series: [("picks right", e.curve.map(\.verified))], xLabel: "points, k = 1, 2, 4, ... \(e.last.k)")
    let len = e.samples.meanLength, first = e.curve.first?.verified ?? 0
    let reading = e.peak.verified < 0.05
        ? "This dpo model gets almost none of these problems right in any reply, so there is no right answer for the reward model to pass over: the claim cannot show here."
        : "Its favourites average \(fmt(len.top, 0)) characters against \(fmt(len.all, 0)) for all the replies: the reward model likes something its pairs never tied to being right, and the harder it picks, the more that something wins over the answer."
    nb.say("""
    The learned reward of the pick rises with every doubling of k, by construction: that is \
    what picking the best means. What it buys is the question. Right answers: \(pct(first)) for one \
    reply taken as it comes, \(pct(e.peak.verified)) at best (k = \(e.peak.k)), \(pct(e.last.verified)) when the reward \
    model picks from all \(e.last.k). \(reading) Lesson05's verifier cannot be pushed this way: its \
    best of k is right whenever any of the k is (pass@k), and more k only helps.
    """)
    if let g = e.samples.replies.first, let w = e.samples.rewards.first, let top = w.indices.max(by: { w[$0] < w[$1] }),
       let p = try lab.problems().first {
        nb.emit("    user: \(p.prompt)   (right answer \(p.answer))")
        nb.emit("    reward model's pick of \(g.count): \(ReportCard.oneLine(shown(g[top]), nb.width - 30))")
    }
    verdict("3 · a learned reward is over-optimised (best-of-k)", e.verdict)

    let r = e.rl, r0 = e.rlBeta0
    nb.say("""
    Best-of-k only chooses among replies the policy already writes. RL changes the policy: \
    \(r.settings.steps) steps from the dpo model, the reward model's score as the reward, the verifier \
    only watching. Its score is a logit, not a 0 or 1: what counts is which replies of a group \
    it ranks above the others.
    """)
    nb.chart(title: "learned reward of the training replies (smoothed), by step",
             series: [(r.arm.label, smooth(r.log.steps.map(\.meanReward))), (r0.arm.label, smooth(r0.log.steps.map(\.meanReward)))],
             xLabel: "steps")
    nb.chart(title: "share of the training replies the verifier accepts (smoothed), by step",
             series: [(r.arm.label, smooth(r.log.steps.map(\.verifiedRate))), (r0.arm.label, smooth(r0.log.steps.map(\.verifiedRate)))],
             xLabel: "steps")
    nb.table(["arm", "β", "learned reward, first -> last steps", "held-out pass@1", "well-formed", "KL"], [r, r0].map { x in
        [x.arm.label, fmt(x.settings.beta, 2), "\(fmt(x.rewardFirst, 2)) -> \(fmt(x.rewardLast, 2))",
         "\(pct(x.before.pass1)) -> \(pct(x.after.pass1))", pct(x.after.formatRate), fmt(x.after.kl.value)]
    })
    example(r)
    example(r0)
    nb.say("""
    The learned reward went from \(fmt(r.rewardFirst, 2)) to \(fmt(r.rewardLast, 2)) on the leash and from \
    \(fmt(r0.rewardFirst, 2)) to \(fmt(r0.rewardLast, 2)) without it (first and last quarter of the steps), while the held-out answers the verifier accepts went from \
    \(pct(r.before.pass1)) to \(pct(r.after.pass1)) and \(pct(r0.after.pass1)). The reward model learned from \
    lesson04's pairs, most of them about pets and about when to write a trace; it judges a \
    sum by what the right replies in its pairs looked like, not by adding. So the policy \
    learns what the reward model likes in a reply, and that is not the same as being right. \
    The leash slows this (KL \(fmt(r.after.kl.value)) \
    against \(fmt(r0.after.kl.value)) nats per token), it does not stop it: a learned reward is only as \
    good as the replies it was trained to judge, which is why RLHF keeps β, stops early, and \
    checks the policy with something other than its own reward.
    """)
    verdict("3 · RL against a learned reward, unleashed, loses right answers", e.rlVerdict)
    verdict("3 · the leash keeps more of them", e.leashVerdict)
}

nb.step("Experiment 4 · The step size, on the leash and off it", """
    The learning rate sets how far each step goes; AdamW scales steps to the learning rate \
    whatever the size of the gradient, so even a weak signal moves far. The KL term β·k3 pulls \
    every token back towards the reference, the harder the further it has moved. (At \
    lesson05's step, 40 steps against the exact verifier do not go far enough for β alone to \
    matter; experiment 3 showed it against a reward that can be gamed.)

    Claims: a learning rate 10x too high drifts further (KL to the reference, per reply \
    token) even on the leash; with no leash as well, the model collapses: its replies stop \
    being answers at all.
    """) {
    let e = try lab.leash()
    nb.chart(title: "KL to the reference (k3 on the step's replies, smoothed), by step",
             series: e.runs.map { ($0.arm.label, smooth($0.log.klCurve)) }, xLabel: "steps")
    nb.table(["arm", "lr", "β", "KL", "entropy", "distinct replies", "well-formed", "reply length", "pass@1"], e.runs.map { r in
        [r.arm.label, lr(r.settings.schedule.peak), fmt(r.settings.beta, 2), fmt(r.after.kl.value), fmt(r.after.entropy.value, 2),
         pct(r.after.distinct), pct(r.after.formatRate), fmt(r.after.meanLength, 1), pct(r.after.pass1)]
    } + [["start (dpo)", "", "", fmt(0), fmt(e.beta.before.entropy.value, 2), pct(e.beta.before.distinct),
          pct(e.beta.before.formatRate), fmt(e.beta.before.meanLength, 1), pct(e.beta.before.pass1)]])
    example(e.highLRBeta0)
    let c = e.highLRBeta0, h0 = e.beta.before.entropy.value, h1 = c.after.entropy.value
    let how = h1 < 0.5 * h0
        ? "Its entropy fell from \(fmt(h0, 2)) to \(fmt(h1, 2)) nats: it writes nearly the same thing whatever it is asked."
        : "Its entropy went from \(fmt(h0, 2)) to \(fmt(h1, 2)) nats: it did not settle on one reply, it lost the format (its sampled replies average \(fmt(c.after.meanLength, 0)) tokens; the room is \(c.settings.maxNewTokens))."
    let narrowed = e.runs.filter { $0.arm != c.arm && $0.after.entropy.value < 0.5 * h0 }.map(\.arm.label)
    let narrowText = narrowed.isEmpty ? "" : "\n\n" + """
        Entropy also fell below half the starting model's \(fmt(h0, 2)) nats in: \(narrowed.joined(separator: ", ")). \
        Those policies give nearly the same reply to every question: RL sharpened them onto what \
        the reward paid for, and there is little variety left to explore from. (The KL chart shows \
        how fast each got there.)
        """
    nb.say("""
    KL and entropy are measured after training, on \(Ablations.samplesPerProblem) sampled replies per held-out \
    problem. "Distinct replies" is the share of a problem's samples that differ from each other: \
    \(pct(1 / Double(Ablations.samplesPerProblem))) means the model wrote the same reply every time.

    Without the leash and with big steps, \(pct(c.after.formatRate)) of the greedy replies are well-formed \
    (the control: \(pct(e.beta.after.formatRate))). \(how) Nothing pulls it back: with β = 0 the only \
    force is the reward, and once no reply is ever right, every group is all-equal and even \
    that is gone; AdamW's momentum still carries the last big steps on.\(narrowText)
    """)
    verdict("4 · lr x\(Int(Ablations.highLRFactor)) drifts further", e.highLRVerdict)
    verdict("4 · lr x\(Int(Ablations.highLRFactor)) and β = 0 break the replies", e.collapseVerdict)
}

nb.step("Experiment 5 · Preferences or imitation", """
    Every pair of lesson04 has a chosen answer. Why not simply fine-tune on those, as in \
    lesson03? SFT shows the model what to write; a pair also says, for the same prompt, what \
    is worse. lesson04's pairs were written with the best reply as every winner, so imitating \
    the winners already teaches everything. Real comparisons are mostly between two middling \
    replies, and the winner is only the better one. So this runs twice, from the same think \
    model with lesson04's steps and learning rate: on lesson04's pairs (the control), and on \
    the same pairs ranked the way real ones come. For a harmful request, "\(PreferenceData.hedged("..."))" \
    (a warning, then doing it) beats doing it, and only one prompt in \(PreferenceData.rankedBestEvery) also has \
    the refusal beating that warning; for a simple question, a <think> trace beats rambling, \
    and only one in \(PreferenceData.rankedBestEvery) has the direct answer beating the trace.

    Claims: on the ranked pairs, DPO refuses more harmful requests (net of safe look-alikes \
    refused) and answers simple questions more concisely than SFT on the chosen answers alone.
    """) {
    let control = try lab.preferencesOrImitation(ranked: false), ranked = try lab.preferencesOrImitation(ranked: true)
    let run = try lab.imitation(ranked: true)
    nb.say("Each run: \(run.settings.steps) steps of \(run.settings.pairsPerStep) pairs, as many as lesson04's DPO.")
    let rows: [(String, (DPO.Behaviour) -> Double)] = [
        ("harmful requests refused", { $0.refusalRate }),
        ("safe look-alikes refused (over-refusal)", { $0.overRefusalRate }),
        ("refused, net of over-refusals", { $0.refusalRate - $0.overRefusalRate }),
        ("concise answers to simple questions", { $0.conciseRate }),
    ]
    nb.table(["held-out", "think", "best winners: SFT", "DPO (lesson04)", "ranked: SFT", "DPO"], rows.map { name, f in
        [name, pct(f(control.think)), pct(f(control.sftChosen)), pct(f(control.dpo)), pct(f(ranked.sftChosen)), pct(f(ranked.dpo))]
    })
    let pairs = PreferenceData.ranked(try DPO.data().train)
    let winners = pairs.filter { $0.family == .caution }, direct = pairs.filter { $0.family == .calibration }
    let refusals = Double(winners.filter { PreferenceData.isRefusal($0.chosen) }.count) / Double(max(winners.count, 1))
    let traces = Double(direct.filter { $0.chosen.hasPrefix(Tokenizer.Special.thinkStart.text) }.count) / Double(max(direct.count, 1))
    let c = control.sftChosen, s = ranked.sftChosen, d = ranked.dpo
    nb.say("""
    With the best replies as winners, imitation refused \(pct(c.refusalRate)) of the harmful requests \
    and \(pct(c.overRefusalRate)) of the safe look-alikes, DPO \(pct(control.dpo.refusalRate)) and \
    \(pct(control.dpo.overRefusalRate)): every harmful request's winner is a refusal and every \
    look-alike's is help, so the winners alone draw the line and SFT copies it.

    In the ranked pairs, \(pct(refusals)) of the harmful requests' winners are refusals and \
    \(pct(traces)) of the simple questions' winners are traces. Imitation copies the winners \
    as they come: it refused \(pct(s.refusalRate)) of the harmful requests and answered \
    \(pct(s.conciseRate)) of the simple questions directly. DPO, from the same pairs, refused \
    \(pct(d.refusalRate)) (and \(pct(d.overRefusalRate)) of the look-alikes) and answered \(pct(d.conciseRate)) directly. \
    \(ranked.tradeOffVerdict.holds ? "On the harmful requests it learned the order, refusal over warning over doing it, from the one prompt in \(PreferenceData.rankedBestEvery) that showed the top of it: a comparison can point past the replies most winners are; a demonstration cannot." : "On the harmful requests the order did not win over the winners it was shown.") \
    \(ranked.conciseVerdict.holds ? "On the simple questions too." : "On the simple questions it did not: the think model answered \(pct(ranked.think.conciseRate)) of them directly to begin with, and the comparisons that rank the direct answer above the trace, one question in \(PreferenceData.rankedBestEvery), did not move it on questions it never saw.")
    """)
    verdict("5 · ranked pairs: preferences refuse more than imitation", ranked.tradeOffVerdict)
    verdict("5 · ranked pairs: preferences are more concise than imitation", ranked.conciseVerdict)
}

nb.step("The verdicts, and the report", """
    Every claim, the effect that measures it, and what it had to exceed. The numbers go into \
    report.json under stage "ablations", one set per arm.
    """) {
    let verdicts = try lab.verdicts()
    nb.table(["#", "claim", "effect", "must exceed", "verdict"], verdicts.map { n, v in
        [String(n), ReportCard.oneLine(v.claim, max(30, nb.width - 50)), signed(v.effect), fmt(v.margin), v.word]
    })
    let metrics = try lab.metrics()
    try Report.record(stage: "ablations", metrics: metrics, in: nb.run.path)
    nb.say("""
    \(verdicts.filter(\.verdict.holds).count) of \(verdicts.count) claims confirmed in this run. A claim "not seen" \
    is not refuted: the runs are short and the models tiny, and the effect may be smaller than \
    the noise. GUIDE.md's chapter 07 lists the numbers of the default run and turns each \
    experiment into an exercise.
    """)
    nb.produced(URL(fileURLWithPath: nb.run.path).appendingPathComponent(Report.fileName).path)
}

nb.run()
