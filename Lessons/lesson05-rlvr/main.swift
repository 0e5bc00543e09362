// lesson05-rlvr: reinforcement learning with verifiable rewards, by GRPO (stage `rlvr`).
//
//     swift run lesson05-rlvr            # a few minutes (plus lessons 01-04 if their checkpoints are missing)
//     swift run lesson05-rlvr --quick    # seconds, tiny model
import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let nb = Notebook(
    name: "lesson05-rlvr",
    title: "Reinforcement learning with verifiable rewards: sample, check, reinforce what worked (GRPO)",
    intro: """
    SFT copied answers; DPO compared two answers someone had written. Now nobody writes \
    answers. The model answers arithmetic questions itself, many times each, a few lines of \
    code check every final answer, and training makes the replies that were right more likely \
    and the ones that were wrong less likely. This is RL with verifiable rewards (RLVR), with \
    GRPO, the group-relative method of DeepSeekMath and R1. It can only reinforce what the \
    model already sometimes gets right, so we first measure where that is, and train there.
    """,
    next: "swift run lesson06-compare")

let quick = nb.options.quick
let seed = nb.options.seed
var stage = GRPO.Stage(quick: quick, seed: seed)
/// Where RL starts: the dpo model of lesson04. Set to `.think` to start from lesson03's think model.
stage.start = .dpo
let settings = stage.settings
let startStage = stage.start
let tokenizer = Tokenizer.standard
nb.checkRunFolders([nb.run])

// What the steps share, each made on first use, so `--step N` works alone.
let data = Memo { try RLData.load() }
/// The starting model: the frozen reference, and where the policy starts.
let model = Memo { try stage.startingModel(run: nb.run, say: nb.say, progress: nb.trainingProgress(label: "lessons 01-04")) }
/// The difficulty filter's result and the held-out sets it implies.
let plan = Memo { () throws -> GRPO.Plan in
    let m = try model.get()
    let bar = nb.progress(total: RLData.Cell.all.count * settings.probePerCell, label: "probing")
    return try stage.plan(m, data: try data.get()) { done, total in
        bar.update(done)
        if done == total { bar.finish() }
    }
}
let start = Memo { try stage.measureStart(model.get(), plan.get()) }
let training = Memo { () throws -> (model: GPT, log: GRPO.Log) in
    let reference = try model.get(), plan = try plan.get()
    let bar = nb.progress(total: settings.steps, label: "GRPO")
    return try stage.train(reference: reference, plan) { step, log in
        guard let s = log.steps.last else { return }
        var metrics = [("reward", s.meanReward), ("pass@1", log.heldOut.last?.pass1 ?? .nan),
                       ("kl", s.kl), ("len", s.meanLength), ("all-equal", s.allEqualFraction)]
        if settings.innerEpochs > 1 { metrics.append(("clipped", s.clipFraction)) }
        bar.update(step, metrics: metrics)
        if step == settings.steps { bar.finish() }
    }
}
/// The trained policy: trained in this run, or (for `--step N` after a full run) loaded.
let trained = Memo { () throws -> GPT in
    if training.value == nil && FileManager.default.fileExists(atPath: nb.run.checkpoint(.rlvr)) { return try loadStage(.rlvr, from: nb.run).0 }
    return try training.get().model
}
let end = Memo { try stage.measureEnd(trained.get(), reference: model.get(), plan.get()) }

/// "47% ± 4": a rate and its standard error on n items.
func rate(_ p: Double, n: Int) -> String {
    "\(pct(p)) ± \(String(format: "%.0f", 100 * (p * (1 - p) / Double(max(n, 1))).squareRoot()))"
}

nb.step("The reward: a checker, not a judge", """
    RL needs a number for every reply. Here it comes from code: the verifier reads the final \
    answer after the <think> trace and gives 1 if it is exactly the right integer, 0 otherwise. \
    It is strict on purpose. A policy searches for whatever raises its reward, so any loophole \
    in the checker is something training will find: answering two numbers ("85 86"), never \
    closing the trace, or putting the right number somewhere in the working all earn nothing.
    """) {
    let cases: [(String, Int)] = [
        ("<think>ones 7+8=15, carry 1; tens 4+3+1=8; so 85</think>85<|end|>", 85),
        ("85<|end|>", 85), ("<think>so 85</think>86<|end|>", 85), ("85 86<|end|>", 85), ("85 apples<|end|>", 85),
        ("<think>ones 7+8=15, carry 1; tens 4+3+1=8; so 85", 85), ("-7<|end|>", -7),
    ]
    var rows: [[String]] = []
    for (text, answer) in cases {
        let reply = Verifier.parse(try tokenizer.encodeWithSpecials(text))
        rows.append([ReportCard.oneLine(text.replacingOccurrences(of: "<|end|>", with: "[end]"), 52), String(answer),
                     Verifier.finalInteger(reply).map(String.init) ?? "none", fmt(Verifier.reward(reply, expected: answer), 0)])
    }
    nb.table(["reply", "right answer", "final integer", "reward"], rows)
    nb.say("""
    The fourth and fifth rows score 0 on purpose: a checker that read only the first number would \
    pay for hedging and for trailing text. The sixth never stopped (it ran out of room), so it has \
    no final answer.
    """)
}

nb.step("Which prompts can teach: groups, advantages, and the edge", """
    GRPO asks each prompt G = \(settings.groupSize) times (temperature \(fmt(Double(settings.temperature), 1)), the \
    sampler with a KV cache) and scores every reply. Then it compares each reply with its own \
    group: the advantage is A = (r - mean) / (std + eps). A right reply among wrong siblings gets \
    a large positive A, the wrong ones a negative A. But if all G replies are right, or all \
    wrong, every reply equals the mean and every A is 0: the group cost G replies and teaches \
    nothing. So before training we probe: \(settings.probePerCell) training prompts from every rung of \
    every family's ladder (more digits, more operations, borrows), G replies each, and keep the \
    prompts at the edge, right sometimes but not always: those are the training prompts. The \
    greedy reply of each is decoded too. An edge prompt whose greedy reply is wrong has room: \
    the model can write the right answer but does not give it when asked once. A rung has room \
    when at least \(Int((settings.minRoomShare * Double(settings.probePerCell)).rounded())) of its \(settings.probePerCell) \
    probed prompts do; that is where pass@1 can rise.
    """) {
    let edge = try plan.get().edge
    // One group of each kind, so the three cases of A can be read off.
    for kind in GRPO.Edge.Kind.allCases {
        guard let g = edge.example(kind) else { continue }
        let right = g.samples.filter { $0.reward > 0 }.count
        nb.emit("    \(kind.rawValue): \(g.problem.prompt)  (right answer \(g.problem.answer)): \(right) of \(g.samples.count) right, "
                + "A = " + g.samples.map { fmt($0.advantage, 2) }.joined(separator: " "))
    }
    if let g = edge.example(.atEdge),
       let good = g.samples.first(where: { $0.reward > 0 }), let bad = g.samples.first(where: { $0.reward == 0 }) {
        nb.emit("      right: \(ReportCard.oneLine(good.reply.shown, nb.width - 15))")
        nb.emit("      wrong: \(ReportCard.oneLine(bad.reply.shown, nb.width - 15))")
    }
    nb.table(["rung", "probed", "always right", "never right", "at the edge", "with room", "right samples", "room"],
             edge.cells.map { c in
                 [c.cell.title, String(c.probed), String(c.always), String(c.never), String(c.edge), "\(c.room) (\(pct(c.roomShare)))",
                  "\(c.rightSamples) of \(c.probed * edge.groupSize)", edge.target.contains(c.cell) ? "yes" : "-"]
             })
    let probed = edge.probedCount, atEdge = edge.edgeCount
    let easy = edge.alwaysRight.map(\.title), hopeless = edge.neverRight.map(\.title)
    var reading = """
    \(atEdge) of \(probed) probed prompts are at the edge. The probe sampled \(edge.replies) replies \
    (\(edge.tokens) tokens) in \(fmt(edge.seconds, 1)) s. Without it, \(probed - atEdge) of every \(probed) \
    prompts drawn would be groups with A = 0 everywhere.
    """
    if !easy.isEmpty { reading += " Always right: \(easy.joined(separator: "; ")): nothing to add there." }
    if !hopeless.isEmpty { reading += " Never right: \(hopeless.joined(separator: "; ")): no right reply to reinforce." }
    reading += edge.anchorPrompts.isEmpty
        ? " RL trains on all \(edge.prompts.count) edge prompts, every one with room: greedy answers none of them right, so there is nothing to anchor."
        : " RL trains on all \(edge.prompts.count) edge prompts: half of every step from the \(edge.targetPrompts.count) with room, and half from the \(edge.anchorPrompts.count) it already answers right greedily, so that RL does not trade what the model does for what it learns."
    reading += """
     Its gain is measured on the rungs with room: \(edge.target.map(\.title).joined(separator: "; ")). \
    Nobody picked these rungs: the probe found them in whatever model lessons 01-04 made, so a \
    change upstream moves the choice, not the lesson's footing.
    """
    nb.say(reading)
    nb.result("edge prompts kept", "\(edge.prompts.count) of \(probed) probed; rungs with room: \(edge.target.map(\.title).joined(separator: "; "))")
}

nb.step("Before: pass@1, pass@8, and the noise", """
    The held-out prompts of the rungs with room, all of them, fixed before training: never \
    filtered one by one on the model's answers (keeping only the ones it got wrong would show a \
    "gain" on a second try by luck alone). pass@1 is the greedy reply, the one the model gives \
    when asked once: it does not depend on a seed. pass@8 is the chance that at least one of 8 \
    replies sampled at temperature 1 is right; "sampled pass@1" the share of those samples that \
    are right. Sampled numbers move with the seed, so the starting model is measured twice, with \
    two seeds: the gap between the two is what chance alone does.
    """) {
    let s = try start.get()
    let b = s.before, c = s.control, n = try plan.get().heldOut.count
    nb.table(["held-out, \(startStage.rawValue) model", "seed \(seed)", "seed \(GRPO.controlSeed(seed)) (control)"], [
        ["pass@1 (greedy)", rate(b.pass1, n: n), rate(c.pass1, n: n)],
        ["pass@8 (any of 8 samples)", pct(b.pass(at: 8)), pct(c.pass(at: 8))],
        ["sampled pass@1", pct(b.sampledAccuracy), pct(c.sampledAccuracy)],
        ["mean sampled reply length (tokens)", fmt(b.meanLength, 1), fmt(c.meanLength, 1)],
    ])
    nb.table(["rung with room", "prompts", "pass@1", "pass@8"], try plan.get().edge.target.map { cell in
        let m = b.cell(cell)
        return [cell.title, String(m.graded.count), pct(m.pass1), pct(m.pass(at: 8))]
    })
    let gap = b.pass(at: 8) - b.pass1
    let se = String(format: "%.0f", 100 * (b.pass1 * (1 - b.pass1) / Double(max(n, 1))).squareRoot())
    nb.say("""
    On \(n) held-out prompts the standard error of a rate near \(pct(b.pass1)) is about \
    \(se) point\(se == "1" ? "" : "s"); the two seeds' \
    sampled pass@1 differ by \(String(format: "%.1f", 100 * abs(b.sampledAccuracy - c.sampledAccuracy))) points and their \
    pass@8 by \(String(format: "%.0f", 100 * abs(b.pass(at: 8) - c.pass(at: 8)))). \
    pass@8 is \(String(format: "%.0f", 100 * gap)) points above greedy pass@1: that gap is the room RL has, replies \
    the model can write but does not write every time. \(s.others.graded.count) held-out prompts of \
    the other rungs are measured too (greedy pass@1 \(pct(s.others.pass1))): RL must not lose them.
    """)
    nb.result("before: pass@1 / pass@8 (control)", "\(pct(b.pass1)) / \(pct(b.pass(at: 8))) (\(pct(c.pass1)) / \(pct(c.pass(at: 8))))")
}

nb.step("Train with GRPO", """
    Each step: \(settings.promptsPerStep) edge prompts, \(settings.groupSize) replies each, rewards, advantages; \
    the frozen reference (a copy of the starting model) scores the same replies once; then one \
    AdamW step on the token-level loss, averaged over all reply tokens of the batch,

        ℓ = -A·ρ + β·k3,   k3 = π_ref/π - log(π_ref/π) - 1,   weight on grad log π = A·ρ + β·(π_ref/π - 1)

    with ρ = π/π_old = 1 here (each batch is used once; with several passes per batch ρ is \
    clipped to [1-ε, 1+ε], the PPO guard). k3 is a KL estimate that is never negative and is \
    0 at the reference. β = \(fmt(settings.beta, 2)), a firmer leash than the GRPO paper's 0.04, \
    because this tiny model takes large steps (learning rate \(settings.schedule.peak)). Its weight \
    β(π_ref/π - 1) is 0 at the reference, so it costs nothing at first and pulls harder the \
    further a token's probability moves. \(settings.steps) steps.

    The bar shows the mean reward of the step's replies, held-out pass@1 (greedy, every \
    \(settings.evalEvery) steps), the KL estimate, the mean reply length, and the share of groups \
    whose rewards were all equal (no signal).
    """) {
    let log = try training.get().log
    nb.chart(title: "mean reward of the sampled replies (smoothed) and held-out pass@1 (greedy), by step",
             series: [("reward", Curves.smoothed(log.rewardCurve)), ("held-out pass@1", log.heldOutCurve)], xLabel: "steps")
    nb.chart(title: "share of groups with all rewards equal (no signal), by step",
             series: [("all-equal groups", Curves.smoothed(log.allEqualCurve))], xLabel: "steps")
    nb.chart(title: "KL to the reference (k3, nats per reply token), by step", series: [("KL", Curves.smoothed(log.klCurve))], xLabel: "steps")
    let first = log.mean(\.meanReward, first: 0.1), last = log.mean(\.meanReward, last: 0.1)
    let eqFirst = log.mean(\.allEqualFraction, first: 0.1), eqLast = log.mean(\.allEqualFraction, last: 0.1)
    nb.say("""
    \(log.tokensSampled) reply tokens sampled and \(log.tokensTrained) token positions trained in \
    \(fmt(log.seconds, 1)) s (\(fmt(log.sampleSeconds, 1)) s of it sampling). Mean reward \(fmt(first, 3)) over \
    the first 10% of steps, \(fmt(last, 3)) over the last 10%; held-out pass@1 \
    \(pct(log.heldOut.first?.pass1 ?? .nan)) -> \(pct(log.heldOut.last?.pass1 ?? .nan)). All-equal groups: \
    \(pct(eqFirst)) of the first 10% of steps, \(pct(eqLast)) of the last. Every prompt was at the edge when \
    probed; as RL learns, some become always right and stop teaching, which is why the share grows. \
    (DAPO samples more prompts to replace such groups; a longer run would probe again.)
    """)
    nb.result("mean reward, first -> last 10% of steps", "\(fmt(first, 3)) -> \(fmt(last, 3))")
}

nb.step("Before and after", """
    The same held-out prompts, the same seed, the same measurement. KL is KL(π ‖ π_ref) over the \
    whole vocabulary, per reply token, at the positions of the after-model's sampled replies.
    """) {
    let plan = try plan.get(), s = try start.get(), e = try end.get()
    let b = s.before, a = e.after, n = plan.heldOut.count
    nb.table(["held-out, rungs with room", "\(startStage.rawValue)", "control", "rlvr"], [
        ["pass@1 (greedy)", pct(b.pass1), pct(s.control.pass1), pct(a.pass1)],
        ["pass@8 (any of 8 samples)", pct(b.pass(at: 8)), pct(s.control.pass(at: 8)), pct(a.pass(at: 8))],
        ["sampled pass@1", pct(b.sampledAccuracy), pct(s.control.sampledAccuracy), pct(a.sampledAccuracy)],
        ["greedy reply well-formed", pct(b.formatRate), pct(s.control.formatRate), pct(a.formatRate)],
        ["mean sampled reply length (tokens)", fmt(b.meanLength, 1), fmt(s.control.meanLength, 1), fmt(a.meanLength, 1)],
        ["KL to the reference (nats/token)", fmt(0, 3), fmt(0, 3), fmt(e.kl, 3)],
    ])
    let rungs = GRPO.rungChanges(target: plan.edge.target, others: plan.edge.others, before: b, after: a,
                                 othersBefore: s.others, othersAfter: e.others)
    nb.table(["rung", "room", "pass@1", "pass@8"], rungs.map { r in
        [r.cell.title, r.room ? "yes" : "-", "\(pct(r.pass1.before)) -> \(pct(r.pass1.after))",
         r.pass8.map { "\(pct($0.before)) -> \(pct($0.after))" } ?? "-"]
    })
    nb.table(["the lesson's target", "met?"], GRPO.targets(start: s, end: e).map { [$0.claim, $0.met ? "yes" : "no"] })
    let sharp = GRPO.sharpening(before: b, after: a)
    var story = """
    pass@1 \(pct(b.pass1)) -> \(pct(a.pass1)) (\(a.pass1 - b.pass1 >= 0 ? "+" : "")\(fmt(100 * (a.pass1 - b.pass1), 1)) points; \
    the control's sampled pass@1 sat \(fmt(100 * abs(b.sampledAccuracy - s.control.sampledAccuracy), 1)) points from the \
    first seed's). Sharpening or discovery? \(sharp.newlyRight) held-out problems went from a wrong greedy reply to a \
    right one. For \(sharp.sharpened) of them a right reply was already among the \(GRPO.passSamples) samples before: \
    RL turned "now and then, when sampled" into "every time". \(sharp.discovered) had no right sample before.
    """
    story += sharp.mostlySharpening
        ? " Mostly sharpening, then: pass@1 rises towards what pass@8 showed was there."
        : " A good part is new: what was rewarded on the training prompts carried over to problems where no sample had been right."
    let fell = GRPO.fell(rungs).map { "\($0.cell.title) \(pct($0.pass1.before)) -> \(pct($0.pass1.after))" }
    if !fell.isEmpty {
        story += " RL is not free: \(fell.joined(separator: ", ")). The average over the other rungs hides it; the table per rung does not. The reward is averaged over every prompt of a step, so an update that pays on one rung can cost another."
    }
    let zeroB = GRPO.wrongZeros(b), zeroA = GRPO.wrongZeros(a)
    if zeroA > zeroB + n / 10 {
        story += " Watch for a shortcut, though: \(zeroA) greedy replies now answer 0 where the answer is not 0 (\(zeroB) before). The reward is exact; a mix of prompts where 0 is often right can still teach a rule that is not arithmetic."
    }
    nb.say(story)
    nb.result("pass@1 before -> after", "\(pct(b.pass1)) -> \(pct(a.pass1))")
    nb.result("pass@8 before -> after", "\(pct(b.pass(at: 8))) -> \(pct(a.pass(at: 8)))")
}

nb.step("Side by side", """
    Held-out prompts, greedy replies before and after RL: first problems whose answer changed \
    from wrong to right, then some that are still wrong.
    """) {
    let b = try start.get().before, a = try end.get().after
    let pairs = Array(zip(b.graded, a.graded))
    let fixed = pairs.filter { !$0.0.greedyCorrect && $0.1.greedyCorrect }.prefix(4)
    let still = pairs.filter { !$0.1.greedyCorrect }.prefix(2)
    for (x, y) in fixed + still {
        nb.emit("")
        nb.emit("  user: \(x.problem.prompt)   (right answer \(x.problem.answer))")
        nb.emit("    \(startStage.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0))  \(ReportCard.oneLine(x.greedy.reply.shown, nb.width - 12))")
        nb.emit("    rlvr   \(ReportCard.oneLine(y.greedy.reply.shown, nb.width - 12))")
    }
}

nb.step("Save the results", """
    The RL model is written as stage rlvr, and its numbers go into report.json. Talk to it: swift \
    run chat --stage rlvr (add --quick for the tiny model).
    """) {
    let model = try trained.get(), log = training.value?.log  // nil: loaded, not trained in this run
    let result = GRPO.Result(model: model, log: log ?? GRPO.Log(), plan: try plan.get(), start: try start.get(), end: try end.get())
    let metrics = try stage.save(result, trainedNow: log != nil, to: nb.run)
    nb.produced(nb.run.checkpoint(.rlvr))
    let keys = ["pass1_before", "pass1", "pass1_control", "pass8_before", "pass8", "edge_prompts", "reward_first", "reward_last",
                "kl", "mean_len"]
    nb.table(["metric", "rlvr"], keys.map { [$0, metrics[$0].map { fmt($0) } ?? "-"] })
    nb.produced(URL(fileURLWithPath: nb.run.path).appendingPathComponent(Report.fileName).path)
}

nb.run()
