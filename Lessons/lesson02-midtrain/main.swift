// lesson02-midtrain: denser, harder text and a longer context (stage `mid`).
//
//     swift run lesson02-midtrain            # several minutes (each lesson's time on a named machine: docs/results.md)
//     swift run lesson02-midtrain --quick    # seconds, tiny model
import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let nb = Notebook(
    name: "lesson02-midtrain",
    title: "Mid-training: harder material and a longer context",
    intro: """
    The base model from lesson01 writes fluent toy-world stories, but it was fed what was \
    plentiful: easy sentences. Mid-training is a second, shorter round of the same \
    next-character prediction on a mix that is deliberately richer in what is rare and hard: \
    here two-digit arithmetic and question/answer pairs. It is also where models learn to read \
    further back: we double the context the model can see. Then we measure what each change bought \
    and what it cost.
    """,
    next: "swift run lesson03-sft")

let quick = nb.options.quick
let seed = nb.options.seed
let stage = Midtrain.Stage(quick: quick, seed: seed)
let (newContext, trainConfig, mix, level) = stage.recipe
let oldContext = Pretrain.recipe(quick: quick, seed: seed).model.blockSize

// What the steps share, each made on first use, so `--step N` works alone.
let base = Memo { try stage.startingModel(run: nb.run, say: nb.say, progress: nb.trainingProgress(label: "pretraining")) }
let corpus = Memo { try Midtrain.corpus() }
let yardsticks = Memo { try stage.yardsticks(corpus.get()) }
let before = Memo { try Midtrain.measure(base.get(), yardsticks.get()) }
let training = Memo { try stage.train(base.get(), corpus: corpus.get(), progress: nb.trainingProgress(label: "mid-training")) }
/// The mid-trained model: this run's, or the checkpoint, or trained now.
let model = Memo { () throws -> GPT in
    if let t = training.value { return t.model }
    return try Midtrain.loadOrTrain(run: nb.run, quick: quick, seed: seed, say: nb.say,
                                    progress: nb.trainingProgress(label: "mid-training"))
}
let after = Memo { try Midtrain.measure(model.get(), yardsticks.get()) }
nb.checkRunFolders([nb.run])

/// One line of model output, newlines shown as ⏎.
func oneLine(_ s: String, _ n: Int = 60) -> String { String(s.prefix(n)).replacingOccurrences(of: "\n", with: "⏎") }

let kindNames: [MidtrainCorpus.Kind: String] = [.arithmetic: "arithmetic", .facts: "Q/A facts", .long: "long documents"]

nb.step("The mid-training mix", """
    Mid-training keeps the objective (predict the next character) and changes the diet. \
    data/midtrain/ (written by swift run make-data) holds three kinds of document the pretraining \
    text had little of: dense two-digit sums in one fixed format, the world's facts as questions \
    with short answers, and long documents, one person's week, longer than twice the model's \
    context. A fourth ingredient is replay: a share of the old pretraining stories. Without it the \
    model would drift towards the new text and lose some of what it knew (exercise 1 measures \
    how much).

    Held-out sums are disjoint from training ones by construction: a pair of numbers is held out \
    (in every order, for + and -) when a hash of the pair ends in 0, about one pair in ten, and \
    pretraining only ever used numbers up to 20.
    """) {
    let corpus = try corpus.get()
    var rows: [[String]] = []
    let shares: [(String, Double, [String])] = [
        ("arithmetic", mix.arithmetic, corpus.train[.arithmetic] ?? []), ("Q/A facts", mix.facts, corpus.train[.facts] ?? []),
        ("long documents", mix.long, corpus.train[.long] ?? []), ("replay (pretraining)", mix.replay, corpus.replay),
    ]
    for (name, share, docs) in shares {
        let bytes = docs.map(\.utf8.count).reduce(0, +)
        rows.append([name, pct(share), "\(docs.count)", "\(bytes / 1000) KB"])
    }
    nb.table(["ingredient", "share of training text", "documents", "size"], rows)
    for kind in MidtrainCorpus.Kind.allCases {
        guard let doc = corpus.train[kind]?.first else { continue }
        nb.say("\(kindNames[kind] ?? kind.rawValue):")
        for line in doc.split(separator: "\n").prefix(kind == .long ? 3 : 4) { nb.emit("    " + String(line)) }
        if kind == .long { nb.emit("    ...") }
    }
    let train = Arithmetic.problems(heldOut: false, level: level).count, held = Arithmetic.problems(heldOut: true, level: level).count
    nb.say("Two-digit problems: \(train) for training, \(held) held out; we test on \(Midtrain.evalProblemCount(quick: quick)) of the held-out ones.")
    if level == .carryFree {
        nb.say("""
            --quick keeps only sums with no carry and differences with no borrow (47 + 52, not 47 + 38), \
            in training and in the test: each answer digit is then one column fact, which the tiny \
            model learns within its budget; the carry rule would take it many times longer.
            """)
    }
}

nb.step("The base model, measured", """
    Three numbers, measured the same way before and after: exact-match accuracy on held-out \
    sums and differences (the model completes "Q: 47 + 38 = ? A:" greedily; the number it writes \
    must be right), the loss on characters \(oldContext) to \(2 * oldContext - 1) of held-out long \
    documents (further in than the base model was ever trained to read), and the held-out \
    pretraining loss lesson01 reported (what we do not want to lose).
    """) {
    let base = try base.get()
    let before = try before.get()
    nb.table(["base model", "held-out sums right", "loss past char \(oldContext)", "pretraining loss"],
             [["\(base.config)", pct(before.arithmetic), fmt(before.longLoss), fmt(before.textLoss)]])
    let y = try yardsticks.get()
    let graded = try Arithmetic.accuracy(base, Array(y.problems.prefix(4))).graded
    for g in graded { nb.emit("    \(g.problem.prompt)\(oneLine(g.completion, 16))   (right: \(g.problem.answer))") }
    nb.say("It has seen small sums in stories, not this format or numbers this big: it guesses.")
    nb.result("base: sums right", pct(before.arithmetic))
}

nb.step("Stretching the context", """
    The model knows where a token is by turning each head's query and key by angles that grow \
    with the position (rotary positions, lesson00). There is no table of positions to grow: to \
    read \(newContext) characters, GPT.extendingContext (Sources/TinyGPT/ContextExtension.swift) \
    copies every weight and position \(newContext - 1) simply turns further. What is new is the \
    angles. The fast pairs of channels have turned through many full circles within \
    \(oldContext) characters, so every angle is familiar to them; the slow pairs have turned only \
    a sliver, and past character \(oldContext) they reach angles the model has never seen:
    """) {
    let base = try base.get()
    let y = try yardsticks.get()
    let hs = base.config.headSize
    func circles(_ pair: Int, _ positions: Int) -> String {
        let theta = RopeTables.angleRate(pair: pair, headSize: hs)
        return String(format: "%.3f", Double(positions) * theta / (2 * Double.pi))
    }
    let pairs = [0, hs / 8, hs / 4, 3 * hs / 8, hs / 2 - 1]
    nb.table(["pair of channels", "circles turned in \(oldContext) characters", "in \(newContext)"],
             pairs.map { ["\($0) of \(hs / 2)", circles($0, oldContext), circles($0, newContext)] })
    if base.config.positions == .learned {
        nb.say("(This base model uses learned positions, so its new rows are filled by \(Midtrain.positionInit.rawValue) resampling: see PositionInit.)")
    }
    let wide = try base.extendingContext(to: newContext, fill: Midtrain.positionInit)
    nb.table(["right after stretching, before training", "loss"], [
        ["held-out stories (characters 0 to \(oldContext - 1))", fmt(evaluateLoss(wide, y.textBatches))],
        ["long documents, characters \(oldContext) to \(newContext - 1)", fmt(evaluateLoss(wide, y.longBatches))],
        ["a uniform guess: ln \(base.config.vocabSize)", fmt(Foundation.log(Double(base.config.vocabSize)))],
    ])
    nb.say("""
        The first \(oldContext) positions are untouched, so the stories' loss is exactly the base \
        model's. Past the old end the model still reads something (far better than a uniform \
        guess: the fast pairs work as before) but worse than it reads familiar positions. Training \
        on \(newContext)-character windows teaches it the new angles.
        """)
}

nb.step("Mid-train", """
    The same training loop as lesson01, from the base model's weights: \(trainConfig.steps) steps of \
    \(trainConfig.batchSize) windows of \(newContext) characters, \(trainConfig.batchSize * newContext) characters a step. \
    \(trainConfig.batchSize < 8 ? "Few windows a step means many small updates, and the sums are learned in far fewer characters that way than with big batches (the GUIDE gives the measurements). " : "")The learning \
    rate warms up, then decays along a cosine to \(trainConfig.schedule.minFraction < 0.075 ? "a twentieth" : "a tenth") of its peak, so the last steps \
    polish instead of shaking.
    """) {
    let (_, log) = try training.get()
    nb.lossChart(log, title: "loss on the mid-training mix (nats per token) by step")
    nb.say("\(log.tokensSeen) tokens in \(fmt(log.seconds, 1)) s (\(Int(Double(log.tokensSeen) / max(log.seconds, 1e-9))) tokens/s).")
}

nb.step("Before and after", """
    The same three measurements on the mid-trained model.
    """) {
    let before = try before.get()
    let after = try after.get()
    nb.table(["", "base", "mid-trained"], [
        ["held-out sums right", pct(before.arithmetic), pct(after.arithmetic)],
        ["loss past char \(oldContext) (long documents)", fmt(before.longLoss), fmt(after.longLoss)],
        ["pretraining loss (held-out stories)", fmt(before.textLoss), fmt(after.textLoss)],
    ])
    let drift = after.textLoss / before.textLoss - 1
    let kept = abs(drift) <= 0.1
        ? "within 10%: the replayed stories kept what the base model knew."
        : "more than the 10% we aim for: the new text crowded out some of the old (try a bigger replay share)."
    nb.say("""
        Sums went from \(pct(before.arithmetic)) to \(pct(after.arithmetic)) right. Past character \
        \(oldContext) the loss went from \(fmt(before.longLoss)) to \(fmt(after.longLoss)). The \
        pretraining loss moved by \(drift >= 0 ? "+" : "")\(pct(drift)), \(kept)
        """)
    nb.result("held-out sums right", "\(pct(before.arithmetic)) -> \(pct(after.arithmetic))")
    nb.result("loss past char \(oldContext)", "\(fmt(before.longLoss)) -> \(fmt(after.longLoss))")
    nb.result("pretraining loss", "\(fmt(before.textLoss)) -> \(fmt(after.textLoss))")
}

nb.step("What changed, in completions", """
    Greedy completions from both models: two held-out sums, a question about the world, and a \
    long held-out document cut just before a pet's name. Which pet depends on whose week it is, \
    and that person was named more than \(oldContext) characters earlier. (The base model reads \
    the long prompt with its context stretched, untrained.)
    """) {
    let base = try base.get(), mid = try model.get()
    let y = try yardsticks.get()
    var prompts: [(String, String)] = y.problems.prefix(1).map { ("<|bos|>" + $0.prompt, String($0.answer)) }
    prompts += y.problems.suffix(1).map { ("<|bos|>" + $0.prompt, String($0.answer)) }
    prompts.append(("<|bos|>Q: What is Ava's rabbit called? A:", "Coco"))
    if let long = try longPrompt() { prompts.append(long) }
    let wideBase = try base.extendingContext(to: newContext, fill: Midtrain.positionInit)
    var rng = RNG(seed: seed)
    // Short prompts go to the base model as it is; only the long one needs the stretched copy.
    let outBase = try prompts.map { p in
        try Probes.complete(p.0.count > oldContext - 16 ? wideBase : base, [p.0], temperature: 0, maxTokens: 12, rng: &rng)[0]
    }
    let outMid = try Probes.complete(mid, prompts.map(\.0), temperature: 0, maxTokens: 12, rng: &rng)
    for (i, p) in prompts.enumerated() {
        let shown = p.0.replacingOccurrences(of: "<|bos|>", with: "")
        nb.emit("  prompt: " + (shown.count > 70 ? "...(\(shown.count) characters)..." + oneLine(String(shown.suffix(40)), 40) : oneLine(shown, 70)))
        nb.emit("    base: \(oneLine(outBase[i], 24))")
        nb.emit("    mid:  \(oneLine(outMid[i], 24))   (expected \(p.1))")
    }
}

/// A held-out long document cut just before the first mention of its person's pet's name,
/// at a point where that person was last named more than `oldContext` characters earlier.
func longPrompt() throws -> (String, String)? {
    for doc in try corpus.get().valid[.long] ?? [] {
        guard let person = World.standard.people.first(where: { doc.prefix(40).contains($0.name) }),
              let r = doc.range(of: " " + person.pet.name) else { continue }
        let before = doc[..<r.lowerBound]
        guard before.count > oldContext + 10, before.count < newContext - 20,
              !before.suffix(oldContext).contains(person.name) else { continue }
        return ("<|bos|>" + before, person.pet.name)
    }
    return nil
}

nb.step("Save the results", """
    The mid-trained model is saved as stage mid, with its context of \(newContext) positions; \
    its numbers go into report.json next to the base model's. Lesson03 starts from here.
    """) {
    let metrics = try stage.save(model.get(), before: before.get(), after: after.get(), log: training.value?.log, to: nb.run)
    nb.table(["metric", "value"], metrics.sorted { $0.key < $1.key }.map { [$0.key, fmt($0.value)] })
    nb.produced(nb.run.checkpoint(.mid))
    nb.produced(URL(fileURLWithPath: nb.run.path).appendingPathComponent(Report.fileName).path)
}

nb.run()
