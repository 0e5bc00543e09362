// lesson03-sft: supervised fine-tuning, instruct and think (stages `instruct`, `think`).
//
//     swift run lesson03-sft            # several minutes, docs/results.md has the time (plus lessons 01-02 if their checkpoints are missing)
//     swift run lesson03-sft --quick    # seconds, tiny model
import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let nb = Notebook(
    name: "lesson03-sft",
    title: "Supervised fine-tuning: from a text predictor to an assistant that answers, and one that thinks first",
    intro: """
    The mid-trained model knows the toy world and has seen a lot of arithmetic, but it only \
    continues text. Supervised fine-tuning (SFT) shows it conversations: a user asks, the \
    assistant answers. The training step is the one from pretraining; what changes is the data, \
    and which tokens the loss counts. We train two models from the same mid checkpoint: an \
    instruct model that answers directly, and a think model that first writes its working \
    between <think> and </think>, then answers.
    """,
    next: "swift run lesson04-dpo")

let tokenizer = Tokenizer.standard
let quick = nb.options.quick
let seed = nb.options.seed
typealias Task = Conversations.Task

// What the steps share, each made on first use, so `--step N` works alone.
let data = Memo { try SFT.data() }
let mid = Memo { try SFT.Stage(.instruct, quick: quick, seed: seed).startingModel(run: nb.run, say: nb.say,
                                                                                  progress: nb.trainingProgress(label: "lessons 01-02")) }
/// The styles trained in this run (not loaded from a checkpoint), with their logs.
var trainedNow: [SFT.Style: SFT.Result] = [:]
/// Each style's model: trained in this run, or the checkpoint, or trained now.
let models = Memos<SFT.Style, GPT> { style in
    try SFT.loadOrTrain(style, run: nb.run, quick: quick, seed: seed, say: nb.say, progress: nb.trainingProgress(label: "SFT \(style.rawValue)"))
}
let midMeasured = Memo { try SFT.measure(mid.get(), SFT.evalSet(data.get(), quick: quick)) }
let measured = Memos<SFT.Style, SFT.Measurement> { style in try SFT.measure(models.get(style), SFT.evalSet(data.get(), quick: quick)) }
/// The held-out facts a chat model still answers, of those the mid model knew.
let factsKept = Memos<SFT.Style, FactsKept.Measurement> { style in try FactsKept.measure(chat: models.get(style), mid: mid.get()) }
/// The held-out measurement of "mid", "instruct" or "think".
func measurement(_ name: String) throws -> SFT.Measurement {
    name == "mid" ? try midMeasured.get() : try measured.get(name == "think" ? .think : .instruct)
}
nb.checkRunFolders([nb.run])

nb.step("The chat template", """
    A conversation becomes one sequence of tokens. Special tokens, one id each, mark the turns: \
    [bos] starts the sequence, [user] and [assistant] open a turn, [end] closes it. They are ids \
    0-6 of our vocabulary; typed text can never produce them, so a user who writes "<|end|>" \
    cannot end their own turn or forge the assistant's.

    To chat, we give the model everything up to and including [assistant] and let it continue. \
    It writes its reply and then [end]; that is our signal to stop. So the tokens the model must \
    learn to produce are exactly the reply and its [end]. Those are the only tokens with a loss \
    (marked ^ below). The question is masked (·): the model will always be given it, and learning \
    to predict it would spend its small capacity on imitating users instead of answering them.
    """) {
    let instruct = Conversations.Conversation(task: .arithmetic, user: "What is 47 + 38?", assistant: "85")
    let r = try ChatTemplate.render(instruct.messages)
    nb.say("An instruct conversation, \(r.tokens.count) tokens, \(r.trainedCount) of them trained:")
    nb.tokenStrip(r)
    nb.say("""
    In the training batch, row t's input is token t and its target is token t+1 if that token \
    is trained, else -1 (no loss). The weights are then 1/(number of targets): the loss is the mean \
    over the reply's tokens. The positions around the turn change:
    """)
    let batch = ChatTemplate.batch([r])
    let a = r.tokens.firstIndex(of: tokenizer.id(.assistant)) ?? 0
    nb.table(["position", "input", "target", "weight"], (max(0, a - 2)..<batch.T).map { t in
        [String(t), tokenPiece(Int(batch.inputs[t])), batch.targets[t] < 0 ? "-1" : tokenPiece(Int(batch.targets[t])),
         batch.weights[t] == 0 ? "0" : fmt(Double(batch.weights[t]))]
    })
    let thinkConversation = Conversations.Conversation(task: .add3, user: "What is 247 + 538?",
        assistant: "<think>\(Conversations.columnTrace(247, .plus, 538))</think>785")
    let rt = try ChatTemplate.render(thinkConversation.messages)
    nb.say("""
    A think conversation: the reply starts with [think], works the problem column by column, \
    closes with [/think] and then answers. All of it is the assistant's, so all of it is trained:
    """)
    nb.tokenStrip(rt)
    let wrong = try ChatTemplate.render(thinkConversation.messages, mask: .thinkAsPrompt)
    nb.say("""
    The classic masking mistake: treating [think] as part of the prompt (some chat templates \
    append it after [assistant], and the masking code then counts it as prompt). The only difference \
    is one token, the first of the reply:
    """)
    nb.tokenStrip(wrong)
    nb.say("""
    Trained this way, the model learns everything about thinking except how to start: no \
    gradient ever says \"after [assistant], write [think]\". At inference nobody adds [think] for it, \
    so it answers directly and the traces it was trained on never get used. One character in the \
    mask, and the think model quietly becomes an instruct model.
    """)
    nb.result("trained tokens (instruct example)", "\(r.trainedCount) of \(r.tokens.count)")
}

/// How much of the instruct files' direct replies the think model sees, in words.
let directShare = SFT.thinkDirectEvery(quick: quick) == 1
    ? "all the instruct files' direct replies to the basic tasks, so it has seen both ways equally often."
    : "one in \(SFT.thinkDirectEvery(quick: quick)) of the instruct files' direct replies to the basic tasks: it has seen bare answers, but mostly thinks first, even where no trace is needed (lesson04 teaches it when to skip one)."

nb.step("The conversations", """
    The SFT data is generated (swift run make-data) into data/sft/ as JSON lines, one conversation \
    per line, in the {"messages": [{"role": ..., "content": ...}]} shape fine-tuning libraries use. \
    Every task can be checked by code: arithmetic, four string tasks, and questions about the toy \
    world, plus two multi-step arithmetic tasks. The instruct files answer directly; the think files \
    ask the same questions and answer with a trace first. The think model trains on the think \
    files plus \(directShare) One more family, requests about pets, \
    teaches the model to help in a full sentence ("Give Rex some food and fresh water.") and shows \
    it one kind of refusal: asked how to hurt a pet, it declines. No other harmful request is in \
    SFT; lesson04 teaches when a refusal is the better answer.

    The held-out files ask about things the training files never mention: other operand pairs, \
    other words, other facts (the split rule is in Sources/Curriculum/Conversations.swift). So a \
    right answer on them means the model learned the skill, not the line.
    """) {
    let s = try data.get()
    var rows: [[String]] = []
    for task in Task.allCases {
        guard let i = s.instructTrain.first(where: { $0.task == task }) else { continue }
        rows.append([task.title, String(s.instructTrain.filter { $0.task == task }.count),
                     String(s.instructValid.filter { $0.task == task }.count), ReportCard.oneLine(i.question, 34), ReportCard.oneLine(i.reply, 12)])
    }
    nb.table(["task", "train", "held-out", "example question", "instruct reply"], rows)
    nb.say("The same questions in think style (the trace is the reply's first part):")
    for task in [Task.add3, .twoStep, .count, .fact] {
        if let t = s.thinkTrain.first(where: { $0.task == task }) {
            nb.emit("    user:      \(t.question)")
            nb.emit("    assistant: \(ReportCard.oneLine(t.reply, max(40, nb.width - 19)))")
        }
    }
    nb.result("conversations", "\(s.instructTrain.count) instruct + \(s.thinkTrain.count) think, \(s.instructValid.count) held-out questions")
    nb.result("think model trains on", "\(SFT.trainingSet(.think, s, quick: quick).count) conversations (think + direct replies)")
}

/// The per-task accuracy table, one column per measured model.
func taskTable(_ names: [String]) throws {
    let ms = try names.map { try measurement($0) }
    var rows: [[String]] = [["format followed"] + ms.map { pct($0.formatRate) }]
    for task in Task.allCases {
        rows.append([task.title] + ms.map { pct($0.accuracy(task)) })
    }
    rows.append(["task accuracy (basic tasks)"] + ms.map { pct($0.taskAccuracy) })
    rows.append(["multi-step accuracy"] + ms.map { pct($0.multiStepAccuracy) })
    nb.table(["held-out, greedy"] + names, rows)
}

nb.step("The mid model in a chat", """
    Before any SFT, we give the mid-trained model held-out questions in the chat template and read \
    what it writes after [assistant]. Two measurements, both by code. Format: did it write an answer \
    and then [end], without starting a new turn of its own? Accuracy: is the answer right? (We are \
    lenient here: the mid model never learned [end], so we take what it writes up to its first line \
    break as its answer.)
    """) {
    let mid = try mid.get()
    let m = try measurement("mid")
    try taskTable(["mid"])
    var rng = RNG(seed: seed)
    let show = ["What is 47 + 38?", "Where does Mia live?", "Reverse the word kite."]
    let replies = try SFT.reply(mid, show, temperature: 0, rng: &rng)
    for (q, r) in zip(show, replies) {
        nb.emit("    user: \(q)")
        nb.emit("    mid:  \(ReportCard.oneLine(r.text, nb.width - 12))")
    }
    nb.say("""
    It has never seen [user] or [assistant]: their embeddings are still close to the random \
    vectors they started as, and it never learned to write [end]. Asked in the text format \
    mid-training used, it answers in its own way:
    """)
    let probes = [("Q: Where does Mia live? A:", "by the lake"), ("Q: 47 + 38 = ? A:", "85")]
    let native = try Probes.complete(mid, probes.map { "<|bos|>" + $0.0 }, temperature: 0, maxTokens: 14, rng: &rng)
    for ((q, truth), out) in zip(probes, native) {
        let answer = out.split(separator: "\n").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        nb.emit("    \(q) \(ReportCard.oneLine(answer, 24))   (\(answer.hasPrefix(truth) ? "right" : "wrong; the answer is \(truth)"))")
    }
    nb.say("""
    SFT's job is the format and the habit of answering. What the model knows comes from the \
    earlier stages: SFT can bring it to the surface, it cannot put it there in a few minutes of training.
    """)
    nb.result("mid model: format / task accuracy", "\(pct(m.formatRate)) / \(pct(m.taskAccuracy))")
}

/// Trains one style in this run (not from a checkpoint), saves it, shows its curve.
func trainStyle(_ style: SFT.Style) throws {
    let sft = SFT.Stage(style, quick: quick, seed: seed)
    let before = style == .instruct ? try midMeasured.get() : nil
    let result = try sft.run(from: mid.get(), splits: data.get(), progress: nb.trainingProgress(label: "SFT \(style.rawValue)"))
    trainedNow[style] = result
    models.set(style, result.model)
    measured.set(style, result.after)
    factsKept.set(style, result.facts)
    try sft.save(result, before: before, to: nb.run)
    nb.lossChart(result.log, title: "loss on the reply's tokens (nats per token) by step")
    let log = result.log
    nb.say("\(log.tokensSeen) token positions in \(fmt(log.seconds, 1)) s (\(Int(Double(log.tokensSeen) / max(log.seconds, 1e-9))) tokens/s). Held-out loss on replies: \(fmt(log.evalLoss.first?.loss ?? .nan)) -> \(fmt(log.evalLoss.last?.loss ?? .nan)).")
    nb.produced(nb.run.checkpoint(sft.stage))
}

/// Said only of the default recipe; the quick one is a few big steps on the tiny model.
let manySmallSteps = quick ? "In quick mode the tiny model gets a few big steps: enough for the format, not for the tasks." : """
    Why \(SFT.recipe(.instruct, quick: quick, seed: seed).steps) small steps and not a few big \
    ones: most tasks here need the model to copy from the prompt (the word to reverse, the \
    digits of a column). That skill arrives late and suddenly. For the first couple of thousand \
    steps the replies are well-formed but made of the wrong letters and digits; only later do \
    the answers start to be right, while the loss keeps falling.
    """

nb.step("Instruct SFT", """
    Now the training. Each step takes \(SFT.recipe(.instruct, quick: quick, seed: seed).batchSize) \
    whole conversations, pads them to the longest (padding positions get target -1, like the \
    prompt), and takes the same step as pretraining: forward, cross-entropy weighted by the mask, \
    backward, AdamW. To waste little on padding, conversations of similar length are batched \
    together. The curve is the loss on reply tokens only; the held-out curve uses conversations \
    about operands, words and facts training never mentions.

    \(manySmallSteps)
    """) {
    try trainStyle(.instruct)
    let m = try measurement("instruct")
    nb.result("instruct: format / task accuracy", "\(pct(m.formatRate)) / \(pct(m.taskAccuracy))")
}

/// The think recipe's fact lines, said where the quick recipe has them too or not.
let factLinesNote = !SFT.rehearsesFacts(.think, quick: quick)
    ? "(The default think recipe also rehearses mid-training's fact lines; the quick one does not: the tiny mid model knows too few facts to keep.)"
    : """
    One more thing rides along: mid-training's own fact lines ("Q: Where does Mia live? A: by \
    the lake"), every fact of the toy world, one line for every \(SFT.conversationsPerFactLine) \
    conversations, each packed after one of the shortest conversations, mostly in room the batch \
    pads anyway. SFT moves every weight, and nothing in a chat's loss asks to keep the facts the \
    conversations never ask about. The instruct model trained without the lines; the next step \
    asks both models the facts no conversation asks.
    """

nb.step("Think SFT", """
    The think model starts from the same mid checkpoint. It trains on the think conversations \
    (every reply a trace, then the answer) plus \(SFT.thinkDirectEvery(quick: quick) == 1 ? "all" : "one in \(SFT.thinkDirectEvery(quick: quick))") \
    of the instruct files' direct replies to the basic tasks, so it has seen short answers too; a \
    multi-step problem, though, only ever with its trace. Its replies are longer, so with as many \
    steps it reads more tokens.

    Why a trace helps a model like ours: a transformer does a fixed amount of computation per \
    token. "247 + 538 = 785" asks it to produce the hundreds digit in one go, carries and all. \
    Written out column by column, each new token needs only two digits and a carry, and every \
    step it writes becomes input it can read for the next one.

    \(factLinesNote)
    """) {
    try trainStyle(.think)
    let m = try measurement("think")
    nb.result("think: format / task accuracy", "\(pct(m.formatRate)) / \(pct(m.taskAccuracy))")
}

nb.step("Before and after", """
    The same held-out questions, asked the same way (greedy decoding, stop at [end]), to all three \
    models. Format compliance is what SFT is for; task accuracy says whether the answers are \
    right, on questions about operands, words and facts training never mentioned.
    """) {
    try taskTable(["mid", "instruct", "think"])
    let mid = try measurement("mid"), ins = try measurement("instruct"), thk = try measurement("think")
    nb.say("Format compliance went from \(pct(mid.formatRate)) to \(pct(ins.formatRate)) (instruct) and \(pct(thk.formatRate)) (think). On multi-step arithmetic the instruct model, trained on the same problems with bare answers, gets \(pct(ins.multiStepAccuracy)); the think model, which writes the columns out, gets \(pct(thk.multiStepAccuracy)). It opens a trace on \(pct(thk.thinkRate)) of all questions.")
    let n = thk.graded.filter { $0.conversation.task.isMultiStep }.count
    let noise = Noise.margin(ins.multiStepAccuracy, thk.multiStepAccuracy, n: n, floor: 0.1)
    if Noise.isRise(from: ins.multiStepAccuracy, to: thk.multiStepAccuracy, n: n, floor: 0.1) {
        nb.say("The trace paid off: a gap of \(pct(thk.multiStepAccuracy - ins.multiStepAccuracy)) on \(Int(n)) held-out problems, more than the noise rule's margin (\(pct(noise)): three standard errors, and at least 10 points).")
    } else {
        nb.say("""
        Here the trace has not paid off (yet): the gap is within the noise of \(Int(n)) problems \
        (the noise rule's margin: \(pct(noise))). Read the think model's traces in the next step: \
        they are well-formed, but the digits in the first clause are not the question's digits. \
        Copying from the prompt is what this model has not learned in so short a run, and a \
        trace built on wrong digits gives a wrong answer however good its steps are.
        """)
    }
    let fi = try factsKept.get(.instruct), ft = try factsKept.get(.think)
    if fi.knownByMid == 0 {
        nb.say("""
        What the models know: asked in its own form ("Q: Where does Mia live? A:"), the mid model \
        answers none of the \(fi.asked) held-out facts, so there is no knowledge here for SFT to \
        keep or lose.
        """)
    } else {
        let trained = FactsKept.trainedFacts()
        let known = try FactsKept.knownInChat(try models.get(.instruct), trained).filter { $0 }.count
        nb.say("""
        What the models know: asked in its own form ("Q: Where does Mia live? A:"), the mid model \
        answers \(fi.knownByMid) of the \(fi.asked) held-out facts, the ones no SFT conversation asks \
        about. Asked in the chat, the instruct model answers \(fi.kept) of those, the think model \
        \(ft.kept). \(2 * known >= trained.count
            ? "The instruct model has the chat format and what the chat showed it: it answers \(known) of the \(trained.count) facts its conversations asked about."
            : "The instruct model answers \(known) of the \(trained.count) facts its conversations asked about: too few to tell forgetting from not having learned facts in the chat at all.")
        """)
        let n = fi.knownByMid, margin = Noise.margin(fi.keptRate, ft.keptRate, n: n, floor: 0.1)
        if SFT.rehearsesFacts(.think, quick: quick) && !SFT.rehearsesFacts(.instruct, quick: quick) {
            nb.say(Noise.isRise(from: fi.keptRate, to: ft.keptRate, n: n, floor: 0.1) ? """
            The gap, \(pct(ft.keptRate - fi.keptRate)) of what mid knew, is more than the noise of \
            \(n) facts (the noise rule's margin: \(pct(margin))). SFT on conversations alone, the \
            instruct recipe, wears the unasked facts away: every step moves every weight, and \
            nothing in its loss asks to keep them. The think recipe's fact lines do ask, in \
            mid-training's own form, and what they keep the chat can reach. (The two models also \
            differ in style; the GUIDE's exercise 5 gives the instruct model the lines too.)
            """ : """
            The gap, \(pct(ft.keptRate - fi.keptRate)) of what mid knew, is within the noise of \
            \(n) facts (the noise rule's margin: \(pct(margin))): this run does not show what the \
            think recipe's fact lines keep.
            """)
        }
    }
    nb.result("format compliance mid -> instruct / think", "\(pct(mid.formatRate)) -> \(pct(ins.formatRate)) / \(pct(thk.formatRate))")
    nb.result("task accuracy mid -> instruct / think", "\(pct(mid.taskAccuracy)) -> \(pct(ins.taskAccuracy)) / \(pct(thk.taskAccuracy))")
    nb.result("multi-step accuracy instruct vs think", "\(pct(ins.multiStepAccuracy)) vs \(pct(thk.multiStepAccuracy))")
    if fi.knownByMid > 0 {
        nb.result("held-out facts kept from mid: instruct / think", "\(pct(fi.keptRate)) / \(pct(ft.keptRate))")
    }
}

nb.step("Side by side", """
    Three models, one question each. The mid model continues text; the instruct model answers and \
    stops; the think model works it out, then answers and stops. The last questions are multi-step \
    problems from the held-out set, where a trace should pay off: the think model's reply is printed \
    whole, so you can check each clause against the question.
    """) {
    let s = try data.get()
    let held = SFT.evalSet(s, quick: quick)
    // The first three are fixed examples; the rest are held-out problems, graded by code.
    var items: [(question: String, held: SFT.Conversation?)] =
        ["What is 47 + 38?", "Is level a palindrome?", "What colour is Mia's kite?"].map { ($0, nil) }
    for task in [Task.add3, .twoStep] {
        items += held.filter { $0.task == task }.prefix(2).map { ($0.question, $0) }
    }
    let models = [("mid", try mid.get()), ("instruct", try models.get(.instruct)), ("think", try models.get(.think))]
    var answers: [[Verifier.Reply]] = []
    for (_, model) in models {
        var rng = RNG(seed: seed)
        answers.append(try SFT.reply(model, items.map(\.question), temperature: 0, rng: &rng))
    }
    let room = nb.width - 16
    for (i, item) in items.enumerated() {
        nb.emit("")
        nb.emit("  user: \(item.question)" + (item.held.map { "   (answer: \($0.expected))" } ?? ""))
        for (k, (name, _)) in models.enumerated() {
            let label = name.padding(toLength: 9, withPad: " ", startingAt: 0)
            let reply = answers[k][i]
            // The chat models' answers are graded; the mid model has no answer format to grade.
            let verdict = item.held.map { c in
                name == "mid" ? "" : (Verifier.isCorrect(reply.answer, expected: c.expected, task: c.task) ? "  (right)" : "  (wrong)")
            } ?? ""
            if name == "think" && item.held != nil {
                let lines = wrapText(reply.text.replacingOccurrences(of: "\n", with: "⏎") + verdict, width: room)
                for (n, line) in lines.enumerated() {
                    nb.emit((n == 0 ? "    \(label) " : String(repeating: " ", count: 14)) + line)
                }
            } else {
                nb.emit("    \(label) \(ReportCard.oneLine(reply.text, room - verdict.count))\(verdict)")
            }
        }
    }
}

nb.step("Save the results", """
    Both checkpoints are written, and their numbers go into report.json next to the earlier \
    stages'. Talk to them yourself: swift run chat --stage instruct (or think; add --quick for the \
    tiny models).
    """) {
    for style in SFT.Style.allCases {
        let sft = SFT.Stage(style, quick: quick, seed: seed)
        // A model loaded rather than trained in this run keeps the report's training numbers.
        try sft.save(models.get(style), after: measured.get(style), facts: factsKept.get(style),
                     before: style == .instruct ? midMeasured.get() : nil, log: trainedNow[style]?.log, to: nb.run)
        nb.produced(nb.run.checkpoint(sft.stage))
    }
    let report = try Report.load(from: nb.run.path)
    let keys = ["format_rate_before", "format_rate", "task_acc_before", "task_acc", "string_task_acc", "multistep_acc", "facts_kept"]
    nb.table(["metric", "instruct", "think"], keys.map { k in
        [k, report["instruct"]?[k].map { fmt($0) } ?? "-", report["think"]?[k].map { fmt($0) } ?? "-"]
    })
    nb.produced(URL(fileURLWithPath: nb.run.path).appendingPathComponent(Report.fileName).path)
}

nb.run()
