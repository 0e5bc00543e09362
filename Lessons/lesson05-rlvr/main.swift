// lesson05-rlvr: reinforcement learning with verifiable rewards, by GRPO (stage `rlvr`).
//
//     swift run lesson05-rlvr            # ~2 minutes on 2 cores where `bench` trains 18,000 tokens/s (plus lessons 01-04 if their checkpoints are missing)
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
    model already sometimes gets right, so we first measure where that is.
    """,
    next: "swift run lesson06-compare")

let quick = nb.options.quick
let seed = nb.options.seed
let settings = GRPO.recipe(quick: quick, seed: seed)
/// Where RL starts: the dpo model of lesson04. Set to `.think` to start from lesson03's think model.
let startStage = Stage.dpo
let tokenizer = Tokenizer.standard

/// State shared by the steps. Each piece is made on first use, so `--step N` works alone.
final class State {
    var splits: RLData.Splits?
    var startModel: GPT?
    var policy: GPT?
    var log: GRPO.Log?
    var before: GRPO.Measurement?
    var after: GRPO.Measurement?
    var families: GRPO.Measurement?
    var kl: Double?

    func data() throws -> RLData.Splits {
        if let s = splits { return s }
        let s = try RLData.load()
        splits = s
        return s
    }

    /// The held-out problems of the families RL trains on.
    func heldOut() throws -> [RLData.Problem] { GRPO.heldOut(try data(), quick: quick) }

    /// The starting model: the frozen reference, and where the policy starts.
    func start() throws -> GPT {
        if let m = startModel { return m }
        let m = try GRPO.startingModel(startStage, run: nb.run, quick: quick, seed: seed, say: nb.say,
                                       progress: nb.trainingProgress(label: "lessons 01-04"))
        startModel = m
        return m
    }

    func measure(_ model: GPT) throws -> GRPO.Measurement {
        try GRPO.measure(model, try heldOut(), n: 8, maxNewTokens: settings.maxNewTokens, seed: seed)
    }

    func measuredBefore() throws -> GRPO.Measurement {
        if let m = before { return m }
        let m = try measure(try start())
        before = m
        return m
    }

    /// Every family of the held-out file, before training (the families RL does not train on too).
    func allFamilies() throws -> GRPO.Measurement {
        if let m = families { return m }
        let trained = Set(try data().train.map(\.family))
        let others = try data().valid.filter { !trained.contains($0.family) }.prefix(quick ? 64 : 256)
        let m = GRPO.Measurement(graded: try measuredBefore().graded
                                     + (try GRPO.measure(try start(), Array(others), n: 8, maxNewTokens: settings.maxNewTokens, seed: seed)).graded,
                                 n: 8)
        families = m
        return m
    }

    /// The trained policy: trained in this run, or (for `--step N` after a full run) loaded.
    func trained() throws -> GPT {
        if let p = policy { return p }
        if FileManager.default.fileExists(atPath: nb.run.checkpoint(.rlvr)) {
            let p = try loadStage(.rlvr, from: nb.run).0
            policy = p
            return p
        }
        try train()
        return try trained()
    }

    func measuredAfter() throws -> GRPO.Measurement {
        if let m = after { return m }
        let m = try measure(try trained())
        after = m
        return m
    }

    func klAfter() throws -> Double {
        if let k = kl { return k }
        let k = try GRPO.meanKL(try trained(), try start(), try measuredAfter())
        kl = k
        return k
    }

    func train() throws {
        let reference = try start()
        let model = reference.copy()
        let bar = nb.progress(total: settings.steps, label: "GRPO")
        let log = try GRPO.train(model, reference: reference, prompts: try data().train, heldOut: try heldOut(),
                                 settings: settings) { step, log in
            guard let s = log.steps.last else { return }
            var metrics = [("reward", s.meanReward), ("pass@1", log.heldOut.last?.pass1 ?? .nan),
                           ("kl", s.kl), ("len", s.meanLength), ("all-equal", s.allEqualFraction)]
            if settings.innerEpochs > 1 { metrics.append(("clipped", s.clipFraction)) }
            bar.update(step, metrics: metrics)
            if step == settings.steps { bar.finish() }
        }
        policy = model
        self.log = log
    }
}
let state = State()

/// Share of problems whose answer is not 0 that the greedy reply answers with 0.
func zeroRate(_ m: GRPO.Measurement) -> Double {
    let items = m.graded.filter { $0.problem.answer != 0 }
    return items.isEmpty ? 0 : Double(items.filter { Verifier.finalInteger($0.greedy.reply) == 0 }.count) / Double(items.count)
}

func oneLine(_ s: String, _ n: Int = 60) -> String {
    let flat = s.replacingOccurrences(of: "\n", with: "⏎")
    return flat.count > n ? String(flat.prefix(n - 1)) + "…" : flat
}

/// The reply as the model wrote it, up to its [end].
func shown(_ r: Verifier.Reply) -> String {
    let end = Tokenizer.Special.end.text
    let text = r.text.components(separatedBy: end).first ?? r.text
    return r.text.contains(end) ? text : text + " (no [end])"
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
        rows.append([oneLine(text.replacingOccurrences(of: "<|end|>", with: "[end]"), 52), String(answer),
                     Verifier.finalInteger(reply).map(String.init) ?? "none", fmt(Verifier.reward(reply, expected: answer), 0)])
    }
    nb.table(["reply", "right answer", "final integer", "reward"], rows)
    nb.say("""
    The fourth and fifth rows score 0 on purpose: a checker that read only the first number would \
    pay for hedging and for trailing text. The sixth never stopped (it ran out of room), so it has \
    no final answer.
    """)
}

nb.step("One group: sample, score, compare with the siblings", """
    GRPO asks each prompt G = \(settings.groupSize) times (temperature \(fmt(Double(settings.temperature), 1)), the \
    sampler with a KV cache, `GPT.generate`) and scores every reply. Then it compares each reply with its \
    own group: the advantage is A = (r - mean) / (std + eps). A right reply in a group of mostly \
    wrong ones gets a large positive A, the wrong ones a small negative A. The group is its own \
    baseline: no value network, and a reply is not rewarded merely for being asked an easy \
    question. Below, the first training prompts until one gives a group with both right and \
    wrong replies.
    """) {
    let model = try state.start()
    var rng = RNG(seed: seed &+ 7)
    let prompts = try state.data().train
    var tried = 0
    var example: GRPO.Group?
    var allEqual = 0
    for start in stride(from: 0, to: min(prompts.count, quick ? 128 : 256), by: 16) {
        let groups = try GRPO.sampleGroups(model, Array(prompts[start..<min(start + 16, prompts.count)]), settings: settings, rng: &rng)
        for g in groups {
            tried += 1
            if g.allEqual { allEqual += 1 } else if example == nil { example = g }
        }
        if example != nil { break }
    }
    guard let g = example else {
        nb.say("None of the first \(tried) prompts gave a group with both right and wrong replies: there is nothing for RL to reinforce.")
        return
    }
    let noStd = GRPO.advantages(g.samples.map(\.reward), normalizeStd: false)
    nb.emit("    user: \(g.problem.prompt)    (right answer \(g.problem.answer))")
    nb.table(["#", "reply", "reward", "A = (r-mean)/std", "A = r-mean"], g.samples.enumerated().map { i, s in
        [String(i + 1), oneLine(shown(s.reply).replacingOccurrences(of: "<|end|>", with: ""), nb.width - 50), fmt(s.reward, 0),
         fmt(s.advantage, 2), fmt(noStd[i], 2)]
    })
    let k = g.samples.filter { $0.reward > 0 }.count
    nb.say("""
    \(k) of \(g.samples.count) right: mean reward \(fmt(g.meanReward, 3)). Every token of a reply gets its reply's \
    advantage as the weight on grad log π (DESIGN.md §3 again: the same crossentropy_backward \
    as SFT, with a signed weight). Of the \(tried) groups sampled to find this one, \(allEqual) had all \
    rewards equal, almost always all wrong. Such a group has mean = every reward, so every A is 0: \
    it cost \(g.samples.count) replies and teaches nothing. The fewer prompts the model can sometimes \
    solve, the more of the compute is spent on groups like that.
    """)
    nb.result("one group", "\(k) of \(g.samples.count) right; \(allEqual) of \(tried) groups had no signal")
}

nb.step("Before: pass@1 and pass@8, and where RL can help", """
    Two numbers per problem family, on held-out prompts: pass@1, the greedy reply is right (what \
    the model answers when asked once), and pass@8, at least one of 8 replies sampled at \
    temperature 1 is right (what it can sometimes do). RL reinforces replies it samples, so it \
    can only raise pass@1 where pass@8 is clearly higher: the gap is the room RL has. Where \
    pass@8 is about 0, every group is all wrong, and there is no signal at all.
    """) {
    let all = try state.allFamilies()
    let trained = Set(try state.data().train.map(\.family))
    var rows: [[String]] = []
    for f in RLData.Family.allCases {
        let m = all.family(f)
        guard !m.graded.isEmpty else { continue }
        rows.append([f.title, trained.contains(f) ? "yes" : "no", String(m.graded.count), pct(m.pass1), pct(m.pass(at: 8)),
                     pct(m.sampledAccuracy), fmt(m.meanGreedyLength, 0), pct(m.thinkRate)])
    }
    nb.table(["family", "RL trains on it", "prompts", "pass@1", "pass@8", "sampled right", "reply length", "opens a trace"], rows)
    let b = try state.measuredBefore()
    let right = { (f: RLData.Family) in all.family(f).graded.map(\.correctSamples).reduce(0, +) }
    let samples = { (f: RLData.Family) in all.family(f).graded.count * all.n }
    let share = { (f: RLData.Family) in pct(Double(RLData.trainCounts[f] ?? 0) / Double(max(RLData.trainCounts.values.reduce(0, +), 1))) }
    let arithmetic = RLData.Family.allCases.filter { $0 != .same && trained.contains($0) }
    // Sort the trained families by the room RL has on them, from the numbers just measured.
    let measured = RLData.Family.allCases.filter { trained.contains($0) && !all.family($0).graded.isEmpty }
    let noFoothold = measured.filter { right($0) == 0 && all.family($0).pass1 == 0 }
    let settled = measured.filter { right($0) > 0 && all.family($0).pass1 >= 0.9 }
    let room = measured.filter { !noFoothold.contains($0) && !settled.contains($0) }
    func list(_ fs: [RLData.Family], _ describe: (RLData.Family) -> String) -> String {
        fs.map { "\($0.title) (\(describe($0)))" }.joined(separator: ", ")
    }
    var reading = "Read the table before training anything. Right samples, out of all sampled: "
        + arithmetic.map { "\($0.title) \(right($0)) of \(samples($0))" }.joined(separator: ", ") + "."
    if !noFoothold.isEmpty {
        reading += " No right sample at all: \(noFoothold.map(\.title).joined(separator: ", ")). Every group there is all wrong, and GRPO has nothing to reinforce."
    }
    if !settled.isEmpty {
        reading += " Right almost every time already: \(list(settled) { "pass@1 \(pct(all.family($0).pass1))" }). Little to add there; what RL must do is not lose it."
    }
    if !room.isEmpty {
        reading += " The room is where a right reply is sampled but greedy does not give it every time: \(list(room) { "pass@1 \(pct(all.family($0).pass1)), pass@8 \(pct(all.family($0).pass(at: 8)))" })."
    }
    nb.say(reading)
    nb.say("""
    n - n is the family where a success spreads: every n - n problem has the same answer, 0, so \
    what is learned on one prompt holds for all of them. Here \(right(.same)) of its \(samples(.same)) samples \
    were right\(right(.same) == 0 ? ", so even this foothold is missing for now" : ""). The training \
    prompts are \(RLData.Family.allCases.map { "\(share($0)) \($0.title)" }.joined(separator: ", ")): \
    the arithmetic we want, and the one family where a success can spread. We will watch what \
    RL does with that.
    """)
    nb.result("before, held-out RL problems: pass@1 / pass@8", "\(pct(b.pass1)) / \(pct(b.pass(at: 8)))")
}

nb.step("Train with GRPO", """
    Each step: \(settings.promptsPerStep) training prompts, \(settings.groupSize) replies each, rewards, advantages; \
    the frozen reference (a copy of the starting model) scores the same replies once; then one \
    AdamW step on the token-level loss, averaged over all reply tokens of the batch,

        ℓ = -A·ρ + β·k3,   k3 = π_ref/π - log(π_ref/π) - 1,   weight on grad log π = A·ρ + β·(π_ref/π - 1)

    with ρ = π/π_old = 1 here (each batch is used once; with several passes per batch ρ is \
    clipped to [1-ε, 1+ε], the PPO guard). k3 is a KL estimate that is never negative and is \
    0 at the reference. β = \(fmt(settings.beta, 2)), a firmer leash than the GRPO paper's 0.04 \
    because this tiny model takes large steps (learning rate \(settings.schedule.peak)) and most groups \
    carry no signal: on replies the reward says nothing about, the KL term is the only force. \
    Its weight β(π_ref/π - 1) is 0 at the reference, so it costs nothing at first and pulls \
    harder the further a token's probability moves. \(settings.steps) steps.

    The bar shows the mean reward of the step's replies, held-out pass@1 (greedy, every \
    \(settings.evalEvery) steps), the KL estimate, the mean reply length, and the share of groups \
    whose rewards were all equal (no signal).
    """) {
    try state.train()
    guard let log = state.log else { return }
    func smooth(_ xs: [Double]) -> [Double] {
        let w = max(1, xs.count / 20)
        return xs.indices.map { i in xs[max(0, i - w + 1)...i].reduce(0, +) / Double(min(i + 1, w)) }
    }
    func held() -> [Double] {
        var out: [Double] = [], k = 0
        for step in 1...max(1, log.steps.count) {
            while k + 1 < log.heldOut.count && log.heldOut[k + 1].step <= step { k += 1 }
            out.append(log.heldOut.isEmpty ? .nan : log.heldOut[k].pass1)
        }
        return out
    }
    nb.chart(title: "mean reward of the sampled replies (smoothed) and held-out pass@1 (greedy), by step",
             series: [("reward", smooth(log.rewardCurve)), ("held-out pass@1", held())], xLabel: "steps")
    nb.chart(title: "KL to the reference (k3, nats per reply token), by step", series: [("KL", smooth(log.klCurve))], xLabel: "steps")
    nb.chart(title: "share of groups with all rewards equal (no signal), by step",
             series: [("all-equal groups", smooth(log.allEqualCurve))], xLabel: "steps")
    nb.chart(title: "mean reply length (tokens), by step", series: [("length", smooth(log.lengthCurve))], xLabel: "steps")
    let first = log.mean(\.meanReward, first: 0.1), last = log.mean(\.meanReward, last: 0.1)
    nb.say("""
    \(log.tokensSampled) reply tokens sampled and \(log.tokensTrained) token positions trained in \
    \(fmt(log.seconds, 1)) s (\(fmt(log.sampleSeconds, 1)) s of it sampling). Mean reward \(fmt(first, 3)) over \
    the first 10% of steps, \(fmt(last, 3)) over the last 10%. Held-out pass@1 \
    \(pct(log.heldOut.first?.pass1 ?? .nan)) -> \(pct(log.heldOut.last?.pass1 ?? .nan)).

    Why all-equal groups carry no signal: the advantage compares a reply with its siblings. If all \
    \(settings.groupSize) are wrong (or all right), every reply equals the mean, A = 0 for all, and the \
    only gradient left is the KL term's. As the model improves, fewer groups are all wrong, but \
    easy prompts become all right: they stop teaching too. (DAPO drops such groups and samples \
    more prompts instead.)
    """)
    nb.result("mean reward, first -> last 10% of steps", "\(fmt(first, 3)) -> \(fmt(last, 3))")
}

nb.step("Before and after", """
    The same held-out prompts, the same measurement. pass@1 is the greedy reply; pass@8 any of \
    8 samples; "sampled right" the share of all samples that are right. KL is KL(π ‖ π_ref) over \
    the whole vocabulary, per reply token, at the positions of the after-model's sampled replies.
    """) {
    let b = try state.measuredBefore(), a = try state.measuredAfter(), kl = try state.klAfter()
    nb.table(["held-out", startStage.rawValue, "rlvr"], [
        ["pass@1 (greedy)", pct(b.pass1), pct(a.pass1)],
        ["pass@8 (any of 8 samples)", pct(b.pass(at: 8)), pct(a.pass(at: 8))],
        ["sampled replies right", pct(b.sampledAccuracy), pct(a.sampledAccuracy)],
        ["greedy reply well-formed", pct(b.formatRate), pct(a.formatRate)],
        ["mean sampled reply length (tokens)", fmt(b.meanLength, 1), fmt(a.meanLength, 1)],
        ["KL to the reference (nats/token)", fmt(0, 3), fmt(kl, 3)],
    ])
    var rows: [[String]] = []
    for f in RLData.Family.allCases {
        let x = b.family(f), y = a.family(f)
        guard !x.graded.isEmpty else { continue }
        rows.append([f.title, "\(pct(x.pass1)) -> \(pct(y.pass1))", "\(pct(x.pass(at: 8))) -> \(pct(y.pass(at: 8)))"])
    }
    nb.table(["family", "pass@1", "pass@8"], rows)
    // Sharpening or discovery: of the problems greedy gets right after, how many had a right
    // reply among the 8 samples before?
    let pairs = zip(b.graded, a.graded).filter { $0.1.greedyCorrect }
    let fresh = pairs.filter { !($0.0.correctSamples > 0 || $0.0.greedyCorrect) }
    let known = pairs.count - fresh.count
    let rest = { (m: GRPO.Measurement) in GRPO.Measurement(graded: m.graded.filter { $0.problem.family != .same }, n: m.n) }
    let zeroB = zeroRate(b), zeroA = zeroRate(a)
    let targets: [(String, Bool)] = [
        ("held-out pass@1 up by >= 0.15", a.pass1 - b.pass1 >= 0.15),
        ("... without counting n - n", rest(a).pass1 - rest(b).pass1 >= 0.15),
        ("KL to the reference bounded (< 1 nat/token)", kl < 1),
        ("no collapse of reply length (>= half of before)", a.meanLength >= 0.5 * b.meanLength),
    ]
    nb.table(["the lesson's target", "met?"], targets.map { [$0.0, $0.1 ? "yes" : "no"] })
    // Which families the fresh solutions belong to, and which families
    // RL helped, hurt, or could not touch: the text says what this run did, not what a run did once.
    let freshFamilies = RLData.Family.allCases.compactMap { f -> String? in
        let n = fresh.filter { $0.0.problem.family == f }.count
        return n > 0 ? "\(f.title) (\(n))" : nil
    }
    let changes = RLData.Family.allCases.compactMap { f -> (title: String, before: Double, after: Double, pass8: Double)? in
        let x = b.family(f), y = a.family(f)
        return x.graded.isEmpty ? nil : (f.title, x.pass1, y.pass1, x.pass(at: 8))
    }
    let rose = changes.filter { $0.after >= $0.before + 0.1 }.map { "\($0.title) \(pct($0.before)) -> \(pct($0.after))" }
    let fell = changes.filter { $0.after <= $0.before - 0.1 }.map { "\($0.title) \(pct($0.before)) -> \(pct($0.after))" }
    let untouched = changes.filter { $0.pass8 == 0 && $0.after == 0 }.map(\.title)
    var story = """
    Sharpening or discovery? After RL, greedy gets \(pairs.count) held-out problems right. For \(known) of \
    them a right reply was already among the 8 samples before (or greedy); \(fresh.count) had no \
    right sample before\(freshFamilies.isEmpty ? "" : " (\(freshFamilies.joined(separator: ", ")))"). pass@8 went \
    from \(pct(b.pass(at: 8))) to \(pct(a.pass(at: 8))).
    """
    if !rose.isEmpty {
        story += " Rose by 10 points or more: \(rose.joined(separator: ", "))."
        story += known >= fresh.count
            ? " Mostly sharpening: where samples were sometimes right, RL turns \"now and then, when sampled\" into \"every time, greedily\", and pass@1 moves up towards pass@8."
            : " Mostly discovery: what RL rewarded on the few training prompts where a sample was right carried over to held-out problems where none had been."
    }
    story += "\n\nWhat was learned, a rule or a shortcut? Replies of \"0\" to problems whose answer is not 0: \(pct(zeroB)) before, \(pct(zeroA)) after. "
    story += zeroA > zeroB + 0.1
        ? "RL found the cheapest policy the reward pays for: answer 0. It is right on every n - n problem and costs nothing on the others, which were all wrong anyway. That is reward hacking in miniature: the reward is honest, but the behaviour it could reach and pay for is a shortcut, not a rule. (How far the shortcut spreads depends on β: GUIDE.md exercise 1.)"
        : "RL learned to answer 0 when the two numbers are the same without answering 0 everywhere else."
    story += " Without n - n, pass@1 went from \(pct(rest(b).pass1)) to \(pct(rest(a).pass1))."
    if !fell.isEmpty {
        story += " RL is not free: \(fell.joined(separator: ", ")). The reward is averaged over every prompt in a step, so an update that pays on one family can cost another; that is why the table shows each family and not only the mean."
    }
    if !untouched.isEmpty {
        story += " \(untouched.joined(separator: ", ")) stayed at 0%: no sample was ever right, so no group had a signal. RL cannot reinforce what the model never does, which is why it comes last in the curriculum: it needs a model that already sometimes succeeds."
    }
    nb.say(story)
    nb.result("pass@1 before -> after", "\(pct(b.pass1)) -> \(pct(a.pass1))")
    nb.result("pass@8 before -> after", "\(pct(b.pass(at: 8))) -> \(pct(a.pass(at: 8)))")
}

nb.step("Side by side", """
    Held-out prompts, greedy replies before and after RL: first problems whose answer changed \
    from wrong to right, then some that are still wrong.
    """) {
    let b = try state.measuredBefore(), a = try state.measuredAfter()
    let pairs = Array(zip(b.graded, a.graded))
    let fixed = pairs.filter { !$0.0.greedyCorrect && $0.1.greedyCorrect }.prefix(4)
    let still = pairs.filter { !$0.1.greedyCorrect }.prefix(2)
    for (x, y) in fixed + still {
        nb.emit("")
        nb.emit("  user: \(x.problem.prompt)   (right answer \(x.problem.answer))")
        nb.emit("    \(startStage.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0))  \(oneLine(shown(x.greedy.reply), nb.width - 12))")
        nb.emit("    rlvr   \(oneLine(shown(y.greedy.reply), nb.width - 12))")
    }
}

nb.step("Save the results", """
    The RL model is written as stage rlvr, and its numbers go into report.json. Talk to it: swift \
    run chat --stage rlvr (add --quick for the tiny model).
    """) {
    let model = try state.trained()
    let b = try state.measuredBefore(), a = try state.measuredAfter()
    let log = state.log ?? GRPO.Log()
    var metrics = GRPO.metrics(GRPO.Result(model: model, log: log, before: b, after: a, kl: try state.klAfter()))
    if state.log == nil {  // loaded, not trained in this run: keep the recorded training numbers
        let old = (try? Report.load(from: nb.run.path))?["rlvr"] ?? [:]
        for k in ["reward_first", "reward_last", "train_tokens", "sampled_tokens", "train_seconds"] { metrics[k] = old[k] }
    }
    try saveStage(.rlvr, model: model, step: settings.steps, metrics: metrics, to: nb.run, curves: state.log.map { Curves(rl: $0) })
    nb.produced(nb.run.checkpoint(.rlvr))
    let keys = ["pass1_before", "pass1", "pass8_before", "pass8", "reward_first", "reward_last", "kl", "mean_len"]
    nb.table(["metric", "rlvr"], keys.map { [$0, metrics[$0].map { fmt($0) } ?? "-"] })
    nb.produced(URL(fileURLWithPath: nb.run.path).appendingPathComponent(Report.fileName).path)
}

nb.run()
