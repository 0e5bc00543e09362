// lesson08-tools: the model learns to call a calculator and a toy-world lookup (stage `tools`).
//
//     swift run lesson08-tools            # a few minutes (plus lessons 01-04 if their checkpoints are missing)
//     swift run lesson08-tools --quick    # seconds, tiny model
import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let nb = Notebook(
    name: "lesson08-tools",
    title: "Tool use: two new tokens, a calculator and a lookup; SFT teaches the grammar of a call, RL when to make one",
    intro: """
    Our model cannot multiply 347 by 29 in its head, and SFT made it forget the toy-world facts \
    it never rehearsed. A program can do both exactly. Tool use lets the model write a call, \
    hand over to a runner that executes it, read the result and go on. This lesson adds the two \
    tokens a call needs, shows the tools, and fine-tunes the dpo model on conversations that use \
    them: SFT teaches the grammar of a call, which tool and which arguments. Then RL, with a \
    small cost per call, teaches when a call is worth making.
    """,
    next: "swift run chat --stage tools")

let quick = nb.options.quick
let seed = nb.options.seed
let stage = ToolTraining.Stage(quick: quick, seed: seed)
let recipe = stage.recipe
let tokenizer = ToolTraining.tokenizer
nb.checkRunFolders([nb.run])

// What the steps share, each made on first use, so `--step N` works alone.
let data = Memo { try ToolTraining.data() }
let start = Memo { try stage.startingModel(run: nb.run, say: nb.say, progress: nb.trainingProgress(label: "lessons 01-04")) }
let heldOut = Memo { ToolTraining.evalSet(try data.get(), quick: quick) }
let withoutTools = Memo { try ToolTraining.accuracyWithoutTools(start.get(), heldOut.get().filter { $0.kind == .multiply }) }
let sft = Memo { try stage.fineTune(start.get(), splits: data.get(), progress: nb.trainingProgress(label: "tool SFT")) }
let afterSFT = Memo { try ToolTraining.measure(sft.get().model, heldOut.get()) }
let rl = Memo { () throws -> (model: GPT, log: [ToolTraining.RLStep]) in
    let settings = stage.rlSettings
    let bar = nb.progress(total: settings.steps, label: "tool RL")
    return try stage.reinforce(sft.get().model, splits: data.get()) { step, log in
        guard let s = log.last else { return }
        bar.update(step, metrics: [("reward", s.meanReward), ("right", s.rightRate), ("calls, needed", s.neededCalls),
                                   ("calls, needless", s.needlessCalls), ("kl", s.kl)])
        if step == settings.steps { bar.finish() }
    }
}
let afterRL = Memo { try ToolTraining.measure(rl.get().model, heldOut.get()) }

nb.step("Two new tokens", """
    A call needs two markers that typed text can never produce: <|call|> opens a call, and \
    <|result|> ends it and hands over to the runner. They get ids 96 and 97, past the 96 the \
    model was trained with. The embedding table grows by two rows, each started at the mean of \
    the old rows. The output layer is the same table (weight tying), so every old token's logit \
    stays exactly what it was; the new ones start at an average token's logit, and SFT gives \
    them their meaning.
    """) {
    let old = try start.get()
    let grown = try stage.grown(old)
    let prompt = try ChatTemplate.prompt("What is 347 * 29?")
    func lastLogits(_ m: GPT) -> [Float] {
        let T = prompt.count, V = m.config.vocabSize
        m.forward(prompt.map(Int32.init), B: 1, T: T)
        return Array(UnsafeBufferPointer(start: m.logits + (T - 1) * V, count: V))
    }
    let a = lastLogits(old), b = lastLogits(grown)
    let maxDiff = zip(a, b.prefix(a.count)).map { abs($0 - $1) }.max() ?? 0
    func prob(_ logits: [Float], _ id: Int) -> Double {
        let m = logits.max() ?? 0
        let z = logits.reduce(0.0) { $0 + exp(Double($1 - m)) }
        return exp(Double(logits[id] - m)) / z
    }
    nb.table(["", "dpo model", "grown"], [
        ["vocabulary", String(old.config.vocabSize), String(grown.config.vocabSize)],
        ["parameters", String(old.parameterCount), String(grown.parameterCount)],
        ["largest change of an old token's logit", "", fmt(Double(maxDiff), 6)],
        ["p(<|call|>) after \"What is 347 * 29?\"", "", fmt(prob(b, tokenizer.id(.call)), 4)],
    ])
    nb.result("new tokens", "<|call|> = \(tokenizer.id(.call)), <|result|> = \(tokenizer.id(.result)), \(grown.parameterCount - old.parameterCount) new parameters")
}

nb.step("The tools", """
    calc evaluates integer arithmetic exactly (+ - * /, parentheses); lookup reads one fact of the \
    toy world, given a name and a key (\(Tools.lookupKeys.map(\.key).joined(separator: ", "))). \
    The runner never crashes on what the model writes: an unknown tool, arguments that do not \
    parse, a division by zero or a number too long come back as a result that starts with \
    "error:", which the model reads like any other.
    """) {
    let calls = ["calc(347*29)", "calc((12+30)/7)", "lookup(Mia, home)", "lookup(Tom, pet name)",
                 "calc(5/0)", "calc(99999999999*99999999999)", "lookup(Zed, home)", "lookup(Mia, shoe size)", "search(kites)", "calc 3+4"]
    nb.table(["the model writes", "the runner answers"], calls.map { [$0, Tools.run($0).text] })
    nb.result("tools", Tools.Name.allCases.map(\.rawValue).joined(separator: ", "))
}

nb.step("The conversations", """
    The conversations are generated (swift run make-data) into data/tools/ with the fields \
    post-training libraries use: an assistant message's function_calls holds its call, and a \
    tool message holds the result. Products of a 3-digit and a 2-digit number always call calc; \
    fact questions always call lookup. 2-digit sums the model works out itself with lesson03's \
    column trace (step 4 measures it), yet whoever wrote this data called calc for \
    \(pct(ToolData.sumCallShare)) of them and wrote the trace for the rest: SFT will copy that \
    habit. String \
    tasks are answered directly. Held-out questions ask products, sums, words and facts that \
    training never asks.
    """) {
    let d = try data.get()
    nb.table(["kind", "train", "held-out", "with a call", "example"], ToolData.Kind.allCases.map { k in
        let train = d.train.filter { $0.kind == k }
        let called = train.filter { $0.call != nil }.count
        return [k.title, String(train.count), String(d.valid.filter { $0.kind == k }.count),
                pct(Double(called) / Double(max(train.count, 1))), ReportCard.oneLine(train.first?.question ?? "", 30)]
    })
    if let e = d.train.first(where: { $0.kind == .multiply }) {
        let r = try ChatTemplate.render(e.messages, tokenizer: tokenizer)
        nb.say("One conversation as the model sees it, with the loss mask (^ trained, · not):")
        nb.tokenStrip(r, tokenizer: tokenizer)
    }
    nb.say("""
    The call, from [call] to [result], is the model's: trained, so it learns the grammar. The \
    result is the runner's: masked like a prompt, so the model learns to read it, never to \
    invent it. After the newline the model goes on and answers.
    """)
    nb.result("conversations", "\(d.train.count) for training, \(d.valid.count) held-out")
}

nb.step("Before: the dpo model, without tools", """
    The held-out products, facts and 2-digit sums, asked of the dpo model in the chat, greedily.
    """) {
    let m = try start.get(), held = try heldOut.get()
    let products = held.filter { $0.kind == .multiply }, facts = held.filter { $0.kind == .fact }
    let mult = try ToolTraining.accuracyWithoutTools(m, products), fact = try ToolTraining.accuracyWithoutTools(m, facts)
    let sums = try ToolTraining.accuracyWithoutTools(m, held.filter { $0.kind == .sum })
    var rng = RNG(seed: seed)
    if let p = products.first, let r = try SFT.reply(m, [p.question], temperature: 0, rng: &rng).first {
        nb.emit("    user: \(p.question)   (answer: \(p.answer))")
        nb.emit("    dpo:  \(ReportCard.oneLine(r.text, nb.width - 12))")
    }
    nb.say("""
    \(pct(mult)) of the products and \(pct(fact)) of the held-out facts right. The products are \
    beyond what the model learned; the facts it once knew (mid-training stated every one), and \
    SFT lost the ones it never rehearsed. 2-digit sums: \(pct(sums)) \(sums >= 0.8
        ? "right, worked out with a trace: for them a call is needless."
        : "right: this model never learned them, so for it even a sum is a question a call would help.")
    """)
    // What the new token means to it yet: nothing. Made to open a call, what does it write?
    let forced = try ToolTraining.forcedCalls(try stage.grown(m), held.filter { $0.kind.needsTool })
    if let first = forced.first, let q = held.first(where: { $0.kind.needsTool }) {
        nb.emit("    user: \(q.question)")
        nb.emit("    dpo, made to start with [call]:  [call]\(ReportCard.oneLine(first.text.replacingOccurrences(of: "\n", with: "⏎"), nb.width - 40))")
    }
    let valid = forced.filter(\.wellFormed).count
    nb.say("""
    Made to open a call after each of these \(forced.count) questions, it writes \(valid) valid \
    calls: the new token means nothing to it yet.
    """)
    nb.result("without tools: products / held-out facts / 2-digit sums", "\(pct(mult)) / \(pct(fact)) / \(pct(sums))")
}

nb.step("SFT on tool conversations", """
    \(recipe.steps) steps of \(recipe.batchSize) conversations, the same training step as \
    lesson03's SFT: forward, cross-entropy weighted by the mask, backward, AdamW.
    """) {
    let r = try sft.get()
    nb.lossChart(r.log, title: "loss on the model's tokens (nats per token) by step")
    nb.say("\(r.log.tokensSeen) token positions in \(fmt(r.log.seconds, 1)) s. Held-out loss \(fmt(r.log.evalLoss.first?.loss ?? .nan)) -> \(fmt(r.log.evalLoss.last?.loss ?? .nan)).")
    nb.result("held-out loss", "\(fmt(r.log.evalLoss.first?.loss ?? .nan)) -> \(fmt(r.log.evalLoss.last?.loss ?? .nan))")
}

nb.step("With tools", """
    The held-out questions again, now with the runner executing every call the model writes \
    (at most \(ToolUse.defaultBudget) per reply). A call is well formed when it names a tool and \
    its arguments are valid; the answer is graded after the last result.
    """) {
    let a = try afterSFT.get(), model = try sft.get().model
    nb.table(["held-out, greedy", "right", "with a call"], ToolData.Kind.allCases.map { k in
        [k.title, pct(a.accuracy(k)), pct(a.callRate(k))]
    })
    let errors = a.graded.flatMap(\.reply.calls).filter(\.result.isError)
    let forced = try ToolTraining.forcedCalls(model, try heldOut.get().filter { $0.kind.needsTool })
    nb.say("""
    \(a.callCount) calls, \(pct(a.callFormatRate)) well formed\(errors.isEmpty ? "" : "; \(errors.count) came back as an error the model had to read"). \
    Made to open a call, as in step 4, it now writes \(forced.filter(\.wellFormed).count) valid calls of \(forced.count). \
    Products: \(pct(try withoutTools.get())) without tools, \(pct(a.accuracy(.multiply))) with them. Held-out \
    facts through lookup: \(pct(a.accuracy(.fact))). Retrieval is the remedy for forgetting: what the \
    weights lost, the lookup still has. 2-digit sums are answered with a call \
    \(pct(a.callRate(.sum))) of the time: the habit the data taught, needed or not.
    """)
    for kind in ToolData.Kind.allCases {
        guard let g = a.graded.first(where: { $0.example.kind == kind }) else { continue }
        nb.emit("    user:  \(g.example.question)")
        nb.emit("    tools: \(ReportCard.oneLine(g.reply.text(tokenizer).replacingOccurrences(of: "\n", with: "⏎"), nb.width - 13))")
    }
    nb.result("call format / products with tools / held-out facts", "\(pct(a.callFormatRate)) / \(pct(a.accuracy(.multiply))) / \(pct(a.accuracy(.fact)))")
}

nb.step("RL: is the call worth its cost?", """
    SFT copied the data's habit of calling calc for sums the model can work out itself. Now \
    the model answers each training question \(stage.rlSettings.groupSize) times with the tools \
    running (products, facts and sums, as many of each), and each reply is rewarded 1 for a \
    right final answer minus \(fmt(ToolTraining.callCost, 1)) per call: lesson05's GRPO, against \
    a frozen copy of the SFT model. A call pays where the model would be wrong without it, and \
    costs where it would be right anyway. Only the model's own tokens carry the update; the \
    results the runner wrote are not the model's choice.
    """) {
    let log = try rl.get().log
    nb.chart(title: "reward (right answer minus the calls' cost), per step",
             series: [("reward", log.map(\.meanReward)), ("right", log.map(\.rightRate))], xLabel: "steps")
    nb.chart(title: "calls per reply, per step",
             series: [("needing a tool", log.map(\.neededCalls)), ("needing none", log.map(\.needlessCalls))], xLabel: "steps")
    let first = log.first, last = log.last
    let direct = log.map(\.directReplies).reduce(0, +), directRight = log.map(\.directRight).reduce(0, +)
    let b = try afterSFT.get()
    let callsPay = b.accuracy(.multiply) > 1 - ToolTraining.callCost
    nb.say("""
    Calls per reply on questions that need no tool: \(fmt(first?.needlessCalls ?? .nan, 2)) at the first \
    step, \(fmt(last?.needlessCalls ?? .nan, 2)) at the last; on those that need one: \
    \(fmt(first?.neededCalls ?? .nan, 2)) -> \(fmt(last?.neededCalls ?? .nan, 2)). Why: of the \
    \(direct) sampled replies that worked a sum out without a call, \(directRight) were right \
    (\(pct(Double(directRight) / Double(max(direct, 1))))). A right reply without a call earns 1, \
    one with a call \(fmt(1 - ToolTraining.callCost, 1)): within a group, the replies that were \
    right alone get the larger advantages. \(callsPay
        ? "A product without a call is never right, and with one it was right \(pct(b.accuracy(.multiply))) of the time before RL: there the call pays, and stays."
        : "This model's calls were rarely right either (products with a call: \(pct(b.accuracy(.multiply))) before RL), so a call bought nothing anywhere and RL dropped calls everywhere: the cost was all it could see.")
    """)
    nb.result("reward, first step -> last", "\(fmt(first?.meanReward ?? .nan, 2)) -> \(fmt(last?.meanReward ?? .nan, 2))")
}

nb.step("Before and after RL", """
    The held-out questions once more, greedily: the SFT model and the RL model.
    """) {
    let b = try afterSFT.get(), a = try afterRL.get()
    var rows = ToolData.Kind.allCases.map { k in
        ["\(k.title): calls / right", "\(pct(b.callRate(k))) / \(pct(b.accuracy(k)))", "\(pct(a.callRate(k))) / \(pct(a.accuracy(k)))"]
    }
    rows += [["calls where a tool is needed", pct(b.neededCallRate), pct(a.neededCallRate)],
             ["calls where none is needed", pct(b.needlessCallRate), pct(a.needlessCallRate)],
             ["answers right, all kinds", pct(b.accuracy), pct(a.accuracy)]]
    nb.table(["held-out, greedy", "SFT", "SFT + RL"], rows)
    if let i = b.graded.indices.first(where: { b.graded[$0].example.kind == .sum && b.graded[$0].called }) {
        nb.emit("    user:     \(b.graded[i].example.question)")
        nb.emit("    SFT:      \(ReportCard.oneLine(b.graded[i].reply.text(tokenizer).replacingOccurrences(of: "\n", with: "⏎"), nb.width - 16))")
        nb.emit("    SFT + RL: \(ReportCard.oneLine(a.graded[i].reply.text(tokenizer).replacingOccurrences(of: "\n", with: "⏎"), nb.width - 16))")
    }
    nb.say("""
    Needless calls went from \(pct(b.needlessCallRate)) to \(pct(a.needlessCallRate)) of the questions \
    that need no tool, while calls where one is needed went from \(pct(b.neededCallRate)) to \
    \(pct(a.neededCallRate)), and right answers from \(pct(b.accuracy)) to \(pct(a.accuracy)). Nobody wrote \
    a rule for when to call: the cost, set against what the model gets right alone, decided.
    """)
    nb.result("needless calls SFT -> RL", "\(pct(b.needlessCallRate)) -> \(pct(a.needlessCallRate))")
    nb.result("needed calls / answers right after RL", "\(pct(a.neededCallRate)) / \(pct(a.accuracy))")
}

nb.step("Save the results", """
    The model after RL is written as stage tools, and its numbers go into report.json (with \
    _before, the SFT model's). Talk to it, with the tools running live: swift run chat --stage \
    tools (add --quick for the tiny model).
    """) {
    let s = try sft.get(), r = try rl.get()
    let result = ToolTraining.Result(model: r.model, log: s.log, multiplyWithoutTools: try withoutTools.get(), sft: s.model,
                                     afterSFT: try afterSFT.get(), rlLog: r.log, after: try afterRL.get())
    let metrics = try stage.save(result, to: nb.run)
    nb.produced(nb.run.checkpoint(.tools))
    let keys = ["call_format_rate", "mult_acc_no_tools", "mult_acc_tools", "lookup_fact_acc", "needed_call_rate_before",
                "needed_call_rate", "needless_call_rate_before", "needless_call_rate", "task_acc_before", "task_acc"]
    nb.table(["metric", "tools"], keys.map { [$0, metrics[$0].map { fmt($0) } ?? "-"] })
    nb.produced(URL(fileURLWithPath: nb.run.path).appendingPathComponent(Report.fileName).path)
}

nb.run()
