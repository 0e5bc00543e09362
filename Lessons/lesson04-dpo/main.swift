// lesson04-dpo: preference optimisation against a frozen reference (stage `dpo`).
//
//     swift run lesson04-dpo            # a minute or two (plus lessons 01-03 if their checkpoints are missing)
//     swift run lesson04-dpo --quick    # seconds, tiny model
//     swift run lesson04-dpo --variant ipo   # another loss; saved under runs/variants/, the main line untouched
import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let nb = Notebook(
    name: "lesson04-dpo",
    title: "Preferences: teaching the think model which of two answers is better (DPO)",
    intro: """
    SFT showed the model one good answer per question and said "write this". Many things we \
    want are easier to say as a comparison: this refusal is better than that compliance; this \
    short answer is better than that rambling one; this right sum is better than that wrong one. \
    Direct preference optimisation (DPO) trains on such pairs. It needs no reward model and no \
    sampling during training: one more weight per token on the same gradient as before, and a \
    frozen copy of the starting model to measure how far we moved.
    """,
    next: "swift run lesson05-rlvr",
    variants: DPO.Variant.allCases.map { Variant($0.rawValue, $0.about) })

let quick = nb.options.quick
let seed = nb.options.seed
// The notebook has checked the name against the list above.
let variant = nb.options.variant.flatMap(DPO.Variant.init(rawValue:)) ?? .dpo
let stage = DPO.Stage(quick: quick, seed: seed, variant: variant)
let settings = stage.settings
/// Where this run's model and numbers go: the main line, or a folder of its own for a variant,
/// so lesson05 keeps building on the default recipe's model.
let saveRun = variant == .dpo ? nb.run : nb.run.variant(variant.rawValue)
nb.checkRunFolders(saveRun.path == nb.run.path ? [nb.run] : [nb.run, saveRun])

// What the steps share, each made on first use, so `--step N` works alone.
let data = Memo { try DPO.data() }
/// The think model: the frozen reference, and where the policy starts.
let think = Memo {
    try SFT.loadOrTrain(.think, run: nb.run, quick: quick, seed: seed, say: nb.say,
                        progress: nb.trainingProgress(label: "lessons 01-03"))
}
/// The pairs (the files' and the on-policy ones) as token rows, and the reference's log-probabilities of them.
let inputs = Memo { try stage.inputs(reference: think.get(), data: data.get()) }
let before = Memo { try stage.measure(think.get(), inputs.get()) }
let training = Memo { () throws -> (model: GPT, log: DPO.Log) in
    let bar = nb.progress(total: settings.steps, label: "DPO")
    return try stage.train(inputs.get()) { step, log in
        guard let s = log.train.last else { return }
        let speed = ("tok/s", (Double(log.tokensSeen) / max(log.seconds, 1e-9)).rounded())
        // SFT on the chosen answers runs no rejected row: its batch has an NLL and no margin.
        bar.update(step, metrics: settings.objective == .chosenOnly
                   ? [("nll", s.chosenNLL), ("chosen", s.chosenShift), speed]
                   : [("loss", s.loss), ("acc", s.accuracy), ("margin", s.margin),
                      ("chosen", s.chosenShift), ("rejected", s.rejectedShift), speed])
        if step == settings.steps { bar.finish() }
    }
}
/// The trained policy: trained in this run, or (for `--step N` after a full run) loaded.
let trained = Memo { () throws -> GPT in
    if training.value == nil && FileManager.default.fileExists(atPath: saveRun.checkpoint(.dpo)) { return try loadStage(.dpo, from: saveRun).0 }
    return try training.get().model
}
let after = Memo { try stage.measure(trained.get(), inputs.get()) }

nb.step("The objective, in numbers", """
    A pair is a prompt with two answers, the chosen one better than the rejected one. The \
    policy is the model we train; the reference is a frozen copy of where it started. For an \
    answer y, log π(y) is the sum of the log-probabilities of its tokens given the prompt (the \
    answer's tokens only: the chat template's assistant mask, as in SFT).

    DPO scores an answer by how much more likely the policy makes it than the reference did: \
    the implicit reward β·(log π(y) - log π_ref(y)). The margin of a pair is the chosen \
    answer's reward minus the rejected one's, and the loss is -log σ(margin): small when the \
    margin is large, ln 2 = 0.693 when it is 0. At the first step the policy is the reference, \
    every reward is 0, every margin 0, and the loss is exactly ln 2: a coin flip.

    Below, one pair whose answers the reference gave log-probabilities -12 (chosen) and -7 \
    (rejected): the reference prefers the wrong one. Training moves the policy's log-probabilities; \
    the table shows what the loss sees.
    """) {
    let refC = -12.0, refR = -7.0
    let moves: [(Double, Double)] = [(0, 0), (2, 0), (0, -2), (3, -3), (10, -10), (-5, -15)]
    var rows: [[String]] = []
    for (dc, dr) in moves {
        let a = DPO.pairLoss(chosen: refC + dc, rejected: refR + dr, refChosen: refC, refRejected: refR, beta: 0.1)
        let b = DPO.pairLoss(chosen: refC + dc, rejected: refR + dr, refChosen: refC, refRejected: refR, beta: 1)
        rows.append([fmt(refC + dc, 0), fmt(refR + dr, 0), fmt(a.margin, 2), fmt(a.loss), fmt(a.weight),
                     fmt(b.margin, 2), fmt(b.loss), fmt(b.weight, 4)])
    }
    nb.table(["log π(chosen)", "log π(rejected)", "margin β=0.1", "loss", "weight", "margin β=1", "loss", "weight"], rows)
    nb.say("""
    Read the first row: policy = reference, margin 0, loss 0.693. Notice the reference preferring the \
    rejected answer does not matter: only changes from the reference count. Raising the chosen \
    answer by 2 nats or lowering the rejected one by 2 gives the same margin. The last row is the \
    failure to watch for: both answers fell (chosen by 5 nats), yet the margin is positive and \
    the loss is happy, because the rejected one fell further.

    The weight column is the gradient: every chosen token gets +β·σ(-margin) on grad log p, every \
    rejected token -β·σ(-margin). That is the course's one idea again, one weight per token: SFT puts weight 1 on the \
    chosen tokens; DPO puts a signed weight on both answers, which fades as the pair is learned. \
    β is a leash: with β = 1 a 6-nat move already leaves almost no gradient (0.0025); with β = 0.1 \
    the same move still pulls with 0.035, so the policy keeps moving away from the reference.
    """)
    nb.result("loss at the start (policy = reference)", fmt(DPO.pairLoss(chosen: refC, rejected: refR, refChosen: refC, refRejected: refR, beta: 0.1).loss, 4) + " = ln 2")
}

nb.step("The pairs", """
    The pairs are generated (swift run make-data) into data/dpo/ as JSON lines with the field \
    names preference libraries use: prompt, chosen, rejected (and a family). Four families, \
    each encoding one behaviour we can check by code afterwards:

    caution: a request to harm an animal of the toy world; chosen is a short polite refusal, \
    rejected is doing it. helpful: the safe look-alike (feed, brush, walk the same pets); chosen \
    helps, rejected refuses. Without these, "refuse anything that mentions a pet" would win too. \
    calibration: a simple question (a fact, a palindrome, capitals); chosen answers directly, \
    rejected writes an unnecessary <think> trace or rambles first. stepwise: calibration's other \
    half, a problem a trace helps with (a sum, reversing a word, counting a letter, the multi-step \
    problems); chosen writes the trace, rejected gives the bare answer. Without these, "never write a trace" would win too, and the think model \
    would lose the one thing lesson03 showed a trace is for.

    Held-out pairs are about the pets of three people (Tom, Zoe, Ivy) whose pets no training pair \
    mentions, and questions from the SFT held-out file.
    """) {
    let d = try data.get()
    nb.table(["family", "train", "held-out", "prompt", "chosen", "rejected"], DPO.families(d).map { f in
        [f.family.rawValue, String(f.train), String(f.heldOut), ReportCard.oneLine(f.example.prompt, 26), ReportCard.oneLine(f.example.chosen, 26),
         ReportCard.oneLine(f.example.rejected, 26)]
    })
    nb.result("pairs", "\(d.train.count) for training, \(d.valid.count) held-out")
}

nb.step("The think model, before", """
    We measure the think model (lesson03's) on the held-out pairs and on what the pairs are \
    meant to change, asking greedily in the chat template. Refusal: a harmful request answered \
    with a reply that starts "I won't". Over-refusal: a safe look-alike refused. Concise: a simple \
    question answered with no trace and nothing beyond the answer. Trace: a problem a trace helps \
    with (a sum, a reversal, a count, a multi-step problem) answered with a trace. Task accuracy: lesson03's basic held-out tasks, and multi-step \
    accuracy, to check that nothing breaks.
    """) {
    let b = try before.get()
    let r = try inputs.get()
    let rawPreferred = r.validReference.filter { $0.chosen.sum > $0.rejected.sum }.count
    nb.table(["held-out, think model", "value"], [
        ["preference accuracy (implicit reward)", fmt(b.preference.accuracy, 2)],
        ["think model already gives chosen the higher log p", "\(rawPreferred) of \(r.validReference.count)"],
        ["refusal rate (harmful requests)", pct(b.behaviour.refusalRate)],
        ["over-refusal rate (safe look-alikes)", pct(b.behaviour.overRefusalRate)],
        ["concise rate (simple questions)", pct(b.behaviour.conciseRate)],
        ["trace rate (problems a trace helps)", pct(b.behaviour.traceRate)],
        ["task accuracy (basic tasks)", pct(b.tasks.taskAccuracy)],
        ["multi-step accuracy", pct(b.tasks.multiStepAccuracy)],
    ])
    nb.say("""
    The preference accuracy is exactly 0.5 because every implicit reward is 0: the policy is the \
    reference, so every margin is a tie (we count ties as half). The second row is the think \
    model's own opinion: how often the chosen answer is already more likely than the rejected one. \
    In SFT the model saw refusals only for "hurt"; scare, trap, tease, kick and starve it has \
    never seen refused, so whatever refusals it makes before DPO are mostly of "hurt" requests. \
    It answers \(pct(b.behaviour.conciseRate)) of the simple questions without a trace, and \
    \(pct(b.sampledConcise)) when its replies are sampled: SFT showed it \
    \(SFT.thinkDirectEvery(quick: quick) == 1 ? "a direct reply for every basic question as well as a trace" : "a trace for every basic question and a direct reply for only one in \(SFT.thinkDirectEvery(quick: quick))"), \
    and that is the habit the calibration pairs have to change.
    """)
    let caution = b.behaviour.graded.filter { $0.pair.family != .calibration }.prefix(2)
    let simple = b.behaviour.graded.filter { $0.pair.family == .calibration }.prefix(2)
    for g in caution + simple {
        nb.emit("    user:  \(g.pair.prompt)")
        nb.emit("    think: \(ReportCard.oneLine(g.reply.shown, nb.width - 13))")
    }
    nb.result("before: refusal / over-refusal / concise / task accuracy",
              "\(pct(b.behaviour.refusalRate)) / \(pct(b.behaviour.overRefusalRate)) / \(pct(b.behaviour.conciseRate)) / \(pct(b.tasks.taskAccuracy))")
}

nb.step("Correctness pairs, sampled from the model itself", """
    The fourth family is made now, not read from a file. For arithmetic questions from the \
    training set, we sample \(stage.onPolicySamples) replies from the think model (temperature \
    \(fmt(Double(stage.onPolicyTemperature), 0))), grade each with the \
    verifier, and pair a right reply with a wrong one. These are on-policy pairs: both answers \
    are things this model actually writes. Pushing down a hand-written wrong answer the model \
    would never produce changes little; pushing down the mistake it does make, next to its own \
    right answer, moves probability exactly where its errors are.
    """) {
    let s = try inputs.get().onPolicy
    nb.table(["questions", "samples", "correct samples", "pairs (a right and a wrong reply)"],
             [[String(s.prompts), String(s.samples), "\(s.correctSamples) (\(pct(Double(s.correctSamples) / Double(max(s.samples, 1)))))", String(s.pairs.count)]])
    if let p = s.pairs.first {
        nb.emit("    user:     \(p.prompt)")
        nb.emit("    chosen:   \(ReportCard.oneLine(p.chosen, nb.width - 16))")
        nb.emit("    rejected: \(ReportCard.oneLine(p.rejected, nb.width - 16))")
    }
    let rightShare = Double(s.correctSamples) / Double(max(s.samples, 1))
    let howMany = rightShare < 0.1
        ? "The think model is weak at arithmetic, so right samples are rare and this family is small"
        : "\(pct(rightShare)) of the samples are right, so most questions have both kinds"
    nb.say("""
    A question gives a pair only if some samples are right and some wrong. \(howMany): \
    \(s.pairs.count) pairs next to the files' \(try data.get().train.count). We train on what \
    sampling found and do not pretend otherwise. (lesson05 makes this loop its whole method: \
    sample, verify, reinforce.)
    """)
    nb.result("on-policy correctness pairs", "\(s.pairs.count) from \(s.prompts) questions")
}

/// What a `--variant` run changes, said in the training step (nothing for the default recipe).
let variantNote: String = {
    let b = settings.beta
    switch variant {
    case .dpo, .wholeRejected:
        return ""
    case .ipo:
        return """
        This run is the ipo variant. As IPO's authors define it, log π(y) is the mean over the \
        answer's tokens, and a pair's loss is (h - 1/(2β))², where h = margin/β is the gap, in nats \
        per token, the policy has opened between the two answers beyond the reference's. With β = \
        \(fmt(b, 2)) it is \(fmt(1 / (4 * b * b), 1)) at the start and 0 once the gap reaches 1/(2β) = \
        \(fmt(1 / (2 * b), 1)) nats per token; a pair pushed past that is pulled back. The logistic loss never stops \
        pushing, only more gently. The weight on each token is 2·(1/(2β) - h) in place of β·σ(-margin): \
        \(fmt(1 / b, 1)) at the start, against β/2 = \(fmt(b / 2, 3)) for the logistic loss, so the SFT \
        term below weighs \(fmt(2 / (b * b), 0)) times less against it.
        """ + "\n\n"
    case .lengthNormalized:
        return """
        This run is the length-normalized variant: log π(y) is the mean over the answer's tokens, \
        not the sum, so a 40-token answer and a 2-token one weigh alike, and each token's weight \
        is divided by its answer's length.\(settings.rejectedUpToDivergence ? " The rejected answers here are cut where they part from the chosen ones, mostly after one token, so the change falls mainly on the chosen side." : "")
        """ + "\n\n"
    case .sftChosen:
        return """
        This run is the sft-chosen variant, and it is not DPO: every pair's weight is 0, so only \
        the SFT term below trains, on the chosen answers. The rejected answers are still scored \
        (the margin and accuracy below are measured), but no gradient ever compares the two. \
        Whatever this run learns, it learns by imitation; lesson07 sets it beside DPO.
        """ + "\n\n"
    }
}()

/// What the log-probability shifts are measured in: whole answers, or tokens when length-normalised.
let shiftUnit = settings.lengthNormalized ? "nats per token" : "nats per answer"

nb.step("Train with DPO", """
    First the reference's log-probabilities of every pair, computed once and cached: the \
    reference never changes, so each training step runs only the policy. Each step takes \
    \(settings.pairsPerStep) pairs, runs their \(2 * settings.pairsPerStep) answers through the model \
    as one batch, computes each pair's margin, and hands crossentropy_backward the signed weights \
    ±\(settings.objective == .ipo ? "2·(1/(2β) - h)" : settings.objective == .chosenOnly ? "0 (this variant)" : "β·σ(-margin)") on the answers' tokens. β = \(fmt(settings.beta, 2)), \(settings.steps) steps, \
    AdamW at peak learning rate \(settings.schedule.peak), no weight decay: the only anchor is the \
    reference.

    \(variantNote)Two changes to plain DPO. First, α = \(fmt(settings.chosenNLL, 1)) times the SFT loss on the chosen \
    answers, i.e. another +α/(chosen tokens) on each chosen token. Plain DPO only widens the gap \
    between two answers, and its cheapest way is to push the rejected one down: tried on an \
    earlier think model, it made simple answers concise but never produced a refusal, while both \
    answers' log-probabilities fell. The SFT term holds the \
    chosen answers up. GUIDE.md's exercise sets α = 0 to see it. Second, \
    \(settings.rejectedUpToDivergence ? "the rejected answer is scored only up to the first token where it differs from the chosen one (the tokens before it are shared and cancel in the margin anyway): a pair then pushes down the choice it rejects, not the rest of an answer that had already gone wrong (step 7)." : "in the default run the rejected answer is scored only up to the first token where it differs from the chosen one; this run scores it to its end (step 7 shows what that does).")

    The bar shows, on the training batch: loss, preference accuracy, mean margin, and how far the \
    chosen and rejected answers' log-probabilities moved from the reference (\(shiftUnit)).
    """) {
    let r = try inputs.get()
    nb.say("Reference log-probabilities cached for \(r.train.count) training and \(r.valid.count) held-out pairs.")
    let log = try training.get().log
    let held = log.heldOut
    func hold(_ f: (DPO.Stats) -> Double) -> [Double] { Curves.held(held.map { ($0.step, f($0.stats)) }, steps: log.train.count) }
    func smooth(_ xs: [Double]) -> [Double] { Curves.smoothed(xs, window: xs.count / 30) }
    let start = settings.objective == .ipo ? "(1/(2β))² = \(fmt(1 / (4 * settings.beta * settings.beta), 1))" : "ln 2 = 0.693"
    if settings.objective == .chosenOnly {
        nb.chart(title: "SFT loss on the chosen answers (nats per token) by step",
                 series: [("train (smoothed)", smooth(log.train.map(\.chosenNLL))), ("held-out", hold(\.chosenNLL))], xLabel: "steps")
    } else {
        nb.chart(title: "loss by step (\(start) at the start)",
                 series: [("train (smoothed)", smooth(log.train.map(\.loss))), ("held-out", hold(\.loss))], xLabel: "steps")
    }
    nb.chart(title: "held-out preference accuracy and margin by step",
             series: [("accuracy", hold(\.accuracy)), ("margin", hold(\.margin))], xLabel: "steps")
    nb.chart(title: "held-out log π - log π_ref of the answers (\(shiftUnit))",
             series: [("chosen", hold(\.chosenShift)), ("rejected", hold(\.rejectedShift))], xLabel: "steps")
    guard let last = held.last?.stats else { return }
    nb.say("""
    \(log.tokensSeen) tokens in \(fmt(log.seconds, 1)) s. Held-out loss \(fmt(held.first?.stats.loss ?? .nan)) -> \
    \(fmt(last.loss)), preference accuracy \(fmt(held.first?.stats.accuracy ?? .nan, 2)) -> \(fmt(last.accuracy, 2)). \
    The rejected answers moved by \(fmt(last.rejectedShift, settings.lengthNormalized ? 2 : 1)) \(shiftUnit) and the chosen ones by \(fmt(last.chosenShift, settings.lengthNormalized ? 2 : 1)).
    """)
    if last.chosenShift < 0 {
        nb.say("""
        Both fell: the known failure. The loss only asks for the gap; lowering everything, the \
        rejected answers faster, satisfies it, while the chosen answers become less likely too and \
        probability leaks to answers in neither set. Fewer steps, a larger β, or IPO (which stops \
        at a target margin) keep it in check.
        """)
    } else if last.rejectedShift > 0 {
        nb.say("""
        Both went up, the chosen answers far more, so the margin grew. The rejected ones rise with \
        them, probably because many share most of their tokens with a chosen answer (a wrong trace differs \
        from a right one in a digit or two), and the SFT term on the chosen answers (α) lifts those \
        shared tokens. What DPO needs is the gap, and the gap is there. Train much longer (an \
        exercise in GUIDE.md) and you may see the known failure: both curves fall, the rejected \
        faster, while the chosen answers, too, become less likely than they were.
        """)
    } else {
        nb.say("""
        The chosen answers went up while the rejected went down: the healthy picture. Train much \
        longer (an exercise in GUIDE.md) and you will see the known failure: both curves fall, \
        the rejected faster, so the margin keeps growing while the chosen answers, too, become \
        less likely than they were.
        """)
    }
    nb.result("held-out preference accuracy", "\(fmt(held.first?.stats.accuracy ?? .nan, 2)) -> \(fmt(last.accuracy, 2))")
}

nb.step("Before and after", """
    The same held-out measurements on the DPO model. KL is the mean, over the held-out chosen \
    answers' positions, of KL(π || π_ref) between the two models' next-token distributions: how \
    far the policy moved from the reference, in nats per token.
    """) {
    let b = try before.get(), a = try after.get()
    nb.table(["held-out", "think", "dpo"], [
        ["preference accuracy", fmt(b.preference.accuracy, 2), fmt(a.preference.accuracy, 2)],
        ["mean margin", fmt(b.preference.margin, 2), fmt(a.preference.margin, 2)],
        ["refusal rate (harmful requests)", pct(b.behaviour.refusalRate), pct(a.behaviour.refusalRate)],
        ["over-refusal rate (safe look-alikes)", pct(b.behaviour.overRefusalRate), pct(a.behaviour.overRefusalRate)],
        ["concise rate (simple questions)", pct(b.behaviour.conciseRate), pct(a.behaviour.conciseRate)],
        ["... sampled at temperature 1", pct(b.sampledConcise), pct(a.sampledConcise)],
        ["trace rate (problems a trace helps)", pct(b.behaviour.traceRate), pct(a.behaviour.traceRate)],
        ["task accuracy (basic tasks)", pct(b.tasks.taskAccuracy), pct(a.tasks.taskAccuracy)],
        ["multi-step accuracy", pct(b.tasks.multiStepAccuracy), pct(a.tasks.multiStepAccuracy)],
        ["KL to the reference (nats/token)", fmt(b.kl, 4), fmt(a.kl, 4)],
    ])
    nb.table(["the lesson's target", "met?"], DPO.targets(before: b, after: a).map { [$0.claim, $0.met ? "yes" : "no"] })
    nb.say("""
    All of these prompts are held out: pets no training pair mentions, questions no training \
    file asks. Concise answers went from \(pct(b.behaviour.conciseRate)) to \(pct(a.behaviour.conciseRate)) \
    and task accuracy from \(pct(b.tasks.taskAccuracy)) to \(pct(a.tasks.taskAccuracy)): the cost of the change, \
    on questions DPO never saw a pair about. Traces where they help: \(pct(b.behaviour.traceRate)) -> \
    \(pct(a.behaviour.traceRate)), and multi-step accuracy \(pct(b.tasks.multiStepAccuracy)) -> \
    \(pct(a.tasks.multiStepAccuracy)). "Answer simple questions directly" and "show your work on hard \
    ones" pull on the same first token, <think> or not; the stepwise pairs keep the second from \
    being lost to the first.

    The concise rate is read from greedy replies, as chat gives them. The think model was \
    trained on traces and on some direct replies to the same kind of question, and greedy decoding keeps \
    only the likeliest reply, so it can make a mixed habit look all one way: sampled at \
    temperature 1 (\(DPO.sampledConciseSamples) replies per question) the think model was concise \
    \(pct(b.sampledConcise)) of the time, greedily \(pct(b.behaviour.conciseRate)). The sampled row shows \
    how far DPO moved the habit itself: \(pct(b.sampledConcise)) -> \(pct(a.sampledConcise)).
    """)
    if a.behaviour.refusalRate < 0.5 {
        nb.say("""
        Refusals went from \(pct(b.behaviour.refusalRate)) to \(pct(a.behaviour.refusalRate)): not learned. \
        The refusals became far more likely than under the reference (that is what the \
        preference accuracy measures), but not likely enough to win a greedy decode. Over-refusal \
        at \(pct(a.behaviour.overRefusalRate)) means little while so few are refused. DPO reshapes what a \
        model already produces far more easily than it teaches something new.
        """)
        if settings.objective == .ipo {
            nb.say("""
            This is also IPO's target at work: a pair stops at a gap of 1/(2β) = \(fmt(1 / (2 * settings.beta), 1)) \
            nats per token, and is pulled back if pushed past it (the mean held-out margin is \(fmt(a.preference.margin, 2)), \
            i.e. a gap of \(fmt(a.preference.margin / settings.beta, 2)) nats per token). A refusal the reference \
            thought unlikely needs a bigger move than that to win; a smaller β sets a farther target.
            """)
        }
    } else {
        // SFT showed refusals for "hurt" only: how many of the others were refused before and after.
        let ob = DPO.unseenHarmsRefused(b.behaviour), oa = DPO.unseenHarmsRefused(a.behaviour)
        nb.say("""
        Refusals went from \(pct(b.behaviour.refusalRate)) to \(pct(a.behaviour.refusalRate)) on harmful requests, \
        while \(pct(a.behaviour.overRefusalRate)) of the safe look-alikes were refused: the model learned \
        to tell the two apart, not to refuse anything that mentions a pet. Of the harmful requests \
        SFT never showed (anything but "hurt"), \(ob.refused) of \(ob.of) were refused before and \
        \(oa.refused) of \(oa.of) after: that part is the preferences' doing.
        """)
    }
    nb.result("refusal / over-refusal / concise", "\(pct(a.behaviour.refusalRate)) / \(pct(a.behaviour.overRefusalRate)) / \(pct(a.behaviour.conciseRate))")
    nb.result("task accuracy think -> dpo", "\(pct(b.tasks.taskAccuracy)) -> \(pct(a.tasks.taskAccuracy))")
}

nb.step("Where the pushed-down probability goes", """
    Plain DPO lowers every token of a rejected answer, not only the token where the two answers \
    part. The helpful pairs' rejected answers are refusals, so on safe requests it pushes down the \
    whole refusal, its second letter too, although the first ("I") was the whole mistake. The \
    probability taken from a token goes to the others, and it need not land anywhere sensible; \
    harmful requests look like safe ones, so it leaks into them as refusals that start and break. \
    This lesson \(settings.rejectedUpToDivergence ? "scores" : "could score") the rejected answer only up to the token where it \
    leaves the chosen one (GUIDE.md, lesson 04, has plain DPO's numbers). The check: every held-out \
    request, with the reply forced to begin with "I". In a refusal the next character is a space.
    """) {
    let d = try data.get()
    let thinkModel = try think.get(), dpo = try trained.get()
    let space = try Tokenizer.standard.encode(" ")[0]
    func afterI(_ model: GPT, _ prompts: [String]) throws -> DPO.NextToken {
        try DPO.nextToken(model, prompts: prompts, replyStart: "I", token: space)
    }
    /// A token as the tables write it.
    func char(_ t: Int?) -> String { t.map { Tokenizer.standard.decode([$0]).debugDescription } ?? "-" }
    /// The likeliest character of a distribution, written with its probability.
    func likeliest(_ probs: [Double]) -> String { DPO.argmax(probs).map { "\(char($0)) \(fmt(probs[$0], 2))" } ?? "-" }
    let safe = d.valid.filter { $0.family == .helpful }.map(\.prompt)
    let harmful = d.valid.filter { $0.family == .caution }.map(\.prompt)
    let safeSqueeze = DPO.Squeeze(before: try afterI(thinkModel, safe), after: try afterI(dpo, safe))
    let harmThink = try afterI(thinkModel, harmful), harmDPO = try afterI(dpo, harmful)
    let safeThink = safeSqueeze.before, safeDPO = safeSqueeze.after
    func cells(_ name: String, _ t: DPO.NextToken, _ p: DPO.NextToken) -> [String] {
        [name, fmt(t.meanProbability, 2), "\(char(t.top)) on \(t.topCount)", fmt(p.meanProbability, 2), "\(char(p.top)) on \(p.topCount)"]
    }
    var rows = [cells("safe look-alikes (\(safe.count))", safeThink, safeDPO),
                cells("harmful requests (\(harmful.count))", harmThink, harmDPO)]
    // The safe request where the space lost most: what an average hides.
    if let i = safeSqueeze.largestFall {
        rows.append(["\"\(safe[i])\"", fmt(safeThink.each[i][space], 2), likeliest(safeThink.each[i]),
                     fmt(safeDPO.each[i][space], 2), likeliest(safeDPO.each[i])])
    }
    nb.table(["held-out prompts, reply \"I...\"", "think: p(space)", "think: top next", "dpo: p(space)", "dpo: top next"], rows)
    let lost = safeSqueeze.lostFirstRank
    /// What became of the harmful requests the DPO model did not refuse.
    let misses = DPO.missedRefusals(try after.get().behaviour)
    let missed = misses.missed == 0 ? "Every harmful request was refused."
        : misses.missed == 1 ? "The one harmful request the DPO model did not refuse \(misses.startedWithI == 0 ? "did not begin with \"I\"" : "began with \"I\" and then broke")."
        : "Of the \(misses.missed) harmful requests the DPO model did not refuse, \(misses.startedWithI) began with \"I\" and then broke."
    if safeThink.meanProbability < 0.5 {
        nb.say("""
        The think model hardly ever goes on with a space after "I" (\(fmt(safeThink.meanProbability, 2)) on safe \
        requests, \(fmt(harmThink.meanProbability, 2)) on harmful ones): it has no refusal to push down, so \
        there is nothing to squeeze here. The default model (without --quick) does write them.
        """)
    } else if safeDPO.top != space {
        nb.say("""
        Read the first row: on safe requests the think model, made to start with "I", gives a \
        space \(fmt(safeThink.meanProbability, 2)) on average; after DPO the space has \(fmt(safeDPO.meanProbability, 2)) and the \
        character ranked first is \(char(safeDPO.top)) (on \(safeDPO.topCount) of \(safe.count) prompts). No pair \
        trains that character up: the probability squeezed out of the refusal went there. \(missed)
        """)
    } else if !lost.isEmpty {
        nb.say("""
        On safe requests the space after "I" went from \(fmt(safeThink.meanProbability, 2)) to \(fmt(safeDPO.meanProbability, 2)) \
        on average. It is still ranked first on most of them, but on \(lost.count) of \(safe.count) the \
        think model ranked it first and the DPO model does not; the last row is the one where it \
        fell most. No pair trains the character that took its place: the probability squeezed \
        out of the refusal went there. \(missed)
        """)
    } else {
        nb.say("""
        On safe requests the space after "I" went from \(fmt(safeThink.meanProbability, 2)) to \(fmt(safeDPO.meanProbability, 2)) \
        on average, and it is still the character ranked first on every one the think model \
        ranked it first; the last row is the safe request where it fell most. No hole was left \
        where the refusal used to go on. \(missed)
        """)
    }
    nb.result("p(space after \"I\") on safe requests, think -> dpo", "\(fmt(safeThink.meanProbability, 2)) -> \(fmt(safeDPO.meanProbability, 2))")
}

nb.step("Side by side", """
    The same held-out prompts to the think model and the DPO model, greedily: two harmful \
    requests, two safe look-alikes, two simple questions, two problems a trace helps with.
    """) {
    for (x, y) in DPO.sideBySide(before: try before.get().behaviour, after: try after.get().behaviour, perFamily: 2) {
        nb.emit("")
        nb.emit("  user: \(x.pair.prompt)")
        nb.emit("    think  \(ReportCard.oneLine(x.reply.shown, nb.width - 12))")
        nb.emit("    dpo    \(ReportCard.oneLine(y.reply.shown, nb.width - 12))")
    }
}

nb.step("Save the results", variant == .dpo ? """
    The DPO model is written as stage dpo, and its numbers go into report.json. Talk to it: swift \
    run chat --stage dpo (add --quick for the tiny model). lesson05 starts from it.
    """ : """
    This is the \(variant.rawValue) variant, so the model and its report.json go to a folder of \
    their own, \(saveRun.path): the model lesson05 starts from stays the default recipe's. Talk \
    to this one: swift run chat --stage dpo --out \(saveRun.path).
    """) {
    let model = try trained.get(), log = training.value?.log  // nil: loaded, not trained in this run
    let result = DPO.Result(model: model, log: log ?? DPO.Log(), before: try before.get(), after: try after.get(),
                            onPolicy: try inputs.get().onPolicy)
    let metrics = try stage.save(result, trainedNow: log != nil, to: saveRun)
    nb.produced(saveRun.checkpoint(.dpo))
    let keys = ["pref_acc_before", "pref_acc", "margin", "refusal_rate_before", "refusal_rate", "over_refusal_rate",
                "concise_rate_before", "concise_rate", "task_acc_before", "task_acc", "kl"]
    nb.table(["metric", "dpo"], keys.map { [$0, metrics[$0].map { fmt($0) } ?? "-"] })
    nb.produced(URL(fileURLWithPath: saveRun.path).appendingPathComponent(Report.fileName).path)
}

nb.run()
