// lesson06-compare: every stage on the same prompts, and the report card.
//
//     swift run lesson06-compare            # seconds once lessons 01-04 have run (else it trains what is missing first)
//     swift run lesson06-compare --quick    # the tiny models of the --quick runs
import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let nb = Notebook(
    name: "lesson06-compare",
    title: "Every stage side by side: what each one bought, and what it cost",
    intro: """
    One model went through the whole curriculum: pretraining, mid-training, instruct and think \
    SFT, preferences, and (with lesson05) reinforcement learning. Each lesson measured its own \
    stage. This one puts them next to each other: the same prompts to every checkpoint, every \
    stage's numbers in one table, and one measurement none of the lessons made: how much of the \
    pretraining text each stage forgot. It ends by writing the report card as report.md and \
    report.html, a page with every stage's training curves that opens in any browser.
    """,
    next: "swift run lesson07-ablations")

let quick = nb.options.quick
let seed = nb.options.seed
let quickFlag = quick ? " --quick" : ""

// What the steps share, each made on first use, so `--step N` works alone.
/// Stages trained in this run because their checkpoint was missing.
var trainedNow: Set<Stage> = []
/// Every stage's model: loaded, or trained now if this package can make it, else absent.
let stages = Memo { () throws -> [Stage: GPT] in
    var models: [Stage: GPT] = [:]
    for e in ReportCard.entries {
        if FileManager.default.fileExists(atPath: nb.run.checkpoint(e.stage)) {
            models[e.stage] = try loadStage(e.stage, from: nb.run).0
        } else if let make = e.loadOrTrain {
            models[e.stage] = try make(nb.run, quick, seed, nb.say, nb.trainingProgress(label: e.stage.lesson))
            trainedNow.insert(e.stage)
        }
    }
    return models
}
let questions = Memo { try Compare.prompts() }
/// Each stage's answers to the prompts, asked the way that stage is asked.
let replies = Memo { () throws -> [Stage: [Compare.Answer]] in
    let models = try stages.get(), prompts = try questions.get()
    var answers: [Stage: [Compare.Answer]] = [:]
    for e in ReportCard.entries {
        guard let model = models[e.stage] else { continue }
        answers[e.stage] = try Compare.answers(model, prompting: e.prompting, prompts)
    }
    return answers
}
/// The report card: report.json, the curves, the story loss of every checkpoint, the answers.
let card = Memo { () throws -> ReportCard.Card in
    var c = try ReportCard.gather(run: nb.run, quick: quick, models: try stages.get())
    c.prompts = try questions.get()
    c.answers = try replies.get()
    return c
}
nb.checkRunFolders([nb.run])

nb.step("Every stage's checkpoint", """
    Each earlier lesson left a checkpoint in \(nb.run.path). We load them all; a stage whose \
    checkpoint is missing is trained now by the code of its lesson (with its prerequisites), as \
    every lesson does. A stage this package cannot make yet is reported as not run.
    """) {
    let models = try stages.get()
    let report = try Report.load(from: nb.run.path)
    var rows: [[String]] = []
    for e in ReportCard.entries {
        let m = report[e.stage.rawValue] ?? [:]
        let status = models[e.stage] == nil ? "not run yet: swift run \(e.stage.lesson)\(quickFlag)"
            : trainedNow.contains(e.stage) ? "trained now" : "loaded"
        rows.append([e.stage.rawValue, e.stage.lesson, models[e.stage].map { "\($0.parameterCount)" } ?? "–",
                     m["train_tokens"].map(formatNumber) ?? "–", m["train_seconds"].map(formatDuration) ?? "–", status])
    }
    nb.table(["stage", "made by", "parameters", "tokens trained on", "training time", "status"], rows)
    if let base = models[.base], let mid = models[.mid] {
        let added = mid.parameterCount - base.parameterCount
        let contextNote = added == 0
            ? "Mid-training doubled the context without adding a parameter (rotary positions are computed, not stored)"
            : "Mid-training added \(added) parameters (position rows for the doubled context)"
        nb.say("""
        It is one network throughout. \(contextNote); after that no stage adds or removes any: \
        each only changes the weights. A missing training time means the checkpoint was written \
        before the lessons recorded it: rerun that lesson to fill it in.
        """)
    }
    nb.result("stages with a checkpoint", "\(models.count) of \(ReportCard.entries.count)")
}

nb.step("Same prompts, every stage", """
    Five prompts, none of them seen in training: the start of a held-out story, a question about \
    the toy world, a harmful request, a simple task and a multi-step sum, taken from the held-out \
    files of lessons 01, 03 and 04. (The world itself, its people, pets and facts, is in the \
    pretraining text: that knowledge is what the later stages should bring out.) Each stage is \
    asked the way it was trained to be asked: base and mid get the prompt as the start of a \
    document and continue it; the chat stages get it as a user turn in the chat template and reply \
    until [end]. Greedy decoding, so the same checkpoint always writes the same thing.
    """) {
    let prompts = try questions.get(), answers = try replies.get()
    for (i, p) in prompts.enumerated() {
        nb.emit("")
        nb.emit("  \(p.kind.title): \(p.text)   (right: \(p.expected))")
        for e in ReportCard.entries {
            guard let a = answers[e.stage]?[i] else {
                nb.emit("    \(e.stage.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))– not run yet")
                continue
            }
            let mark = a.right ? "✓" : "·"
            let text = a.unfinished ? ReportCard.oneLine(a.text, nb.width - 29) + " (no [end])" : ReportCard.oneLine(a.text, nb.width - 18)
            nb.emit("    \(e.stage.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))\(mark) \(text)")
        }
    }
    nb.emit("")
    nb.say("""
    ✓ marks an answer the verifier accepts (for base and mid: the first line of the continuation). \
    Read down each block: the shape of the reply changes before its content does. Base and mid \
    treat everything as text: a question gets more story, or a question-and-answer line in mid's \
    own format. From instruct on, a prompt gets a reply, which usually stops at [end] (those that \
    ran out of room are marked). The think model opens a trace on many prompts, needed or not; DPO \
    was trained to answer simple questions without one. Whether a reply is right is another \
    matter: count the ✓s.
    """)
    for e in ReportCard.entries {
        guard let a = answers[e.stage] else { continue }
        nb.result("\(e.stage.rawValue): prompts answered right", "\(a.filter(\.right).count) of \(a.count)")
    }
}

nb.step("What changed at each stage", """
    Each stage changed one thing: the data, the objective, or where the feedback comes from. \
    Next to each, the numbers its own lesson measured on held-out prompts (before -> after, where \
    the lesson measured both).
    """) {
    let card = try card.get()
    for e in ReportCard.entries {
        nb.emit("")
        nb.emit("  \(e.stage.rawValue) (\(e.stage.lesson))")
        for line in wrapText(e.changed, width: nb.width - 4) { nb.emit("    " + line) }
        if let why = ReportCard.missing(card, e) {
            nb.emit("    → \(why)")
        } else {
            let h = ReportCard.headline(card, e)
            if !h.isEmpty { for line in wrapText("→ " + h, width: nb.width - 4) { nb.emit("    " + line) } }
        }
    }
}

nb.step("What each stage cost", """
    No lesson so far asked what its stage did to what came before. We measure every checkpoint on \
    the held-out stories lesson01 measured its loss on (the same batches, at the pretraining \
    context), read as plain text, with no chat template. Base learned from this kind of text; every \
    later stage trained on something else, so a rise in this loss is what that stage forgot. "Top \
    guess special" is how often the most likely next character is a special token such as <|end|>, \
    which in a story is right only where a new story starts. Time and tokens are what each stage \
    paid in compute.
    """) {
    let card = try card.get()
    let c = ReportCard.costTable(card)
    nb.table(c.header, c.rows)
    guard let base = card.textLoss[.base] else { return }
    let losses = ReportCard.entries.compactMap { e in card.textLoss[e.stage].map { (stage: e.stage, loss: $0) } }
    guard let worst = losses.max(by: { $0.loss < $1.loss }), worst.loss - base > 0.05 else {
        nb.say("No stage moved the story loss by more than 0.05 nats from base's \(fmt(base)): nothing measurable was forgotten.")
        return
    }
    if let mid = card.textLoss[.mid] {
        nb.say("Mid-training moved the story loss by \(mid >= base ? "+" : "")\(fmt(mid - base)): \(pct(Midtrain.recipe(quick: quick, seed: seed).mix.replay)) of its text was replayed stories, so it kept them.")
    }
    let guess = card.specialGuess[worst.stage].map(pct) ?? "?", baseGuess = card.specialGuess[.base].map(pct) ?? "?"
    nb.say("""
    The largest rise is \(worst.stage.rawValue)'s: \(fmt(base)) -> \(fmt(worst.loss)) nats per character \
    (\(pct(worst.loss / base - 1)) more). Its top guess in a story is a special token at \(guess) of \
    the positions (base: \(baseGuess)). Here is what that looks like: the same story start, \
    continued as plain text by base and by \(worst.stage.rawValue).
    """)
    let story = try questions.get().filter { $0.kind == .text }
    let models = try stages.get()
    for stage in [Stage.base, worst.stage] {
        guard let model = models[stage], let a = try Compare.answers(model, prompting: .text, story).first else { continue }
        let start = story.first?.text ?? ""
        nb.emit("    \(stage.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))\(start)\(ReportCard.oneLine(a.text, max(20, nb.width - 14 - start.count)))")
    }
    nb.say("""
    SFT's conversations are short turns that end with <|end|>, and there was no story among them to \
    hold the old skill in place. That is forgetting: the new data pulls the weights towards what it \
    needs and nothing pulls back. Mid-training's remedy, replaying old text, is the first thing to \
    try here too: GUIDE.md's last chapter has it as an exercise.
    """)
    nb.result("held-out story loss, base -> \(worst.stage.rawValue)", "\(fmt(base)) -> \(fmt(worst.loss))")
}

nb.step("The report card", """
    One table: every stage against every metric any lesson recorded in report.json, plus the story \
    loss measured just now. A dash means that stage's lesson does not measure it. Where a lesson \
    measured the model it started from (as "before"), that number fills the starting stage's column: \
    base's sums, for example, were measured by lesson02.
    """) {
    let card = try card.get()
    let t = ReportCard.table(card)
    nb.table(t.header, t.rows)
    for e in ReportCard.entries {
        if let why = ReportCard.missing(card, e) { nb.say("\(e.stage.rawValue): \(why).") }
    }
}

nb.step("Training curves", """
    Every stage's loss during training, as its lesson recorded it: on each step's batch, and on \
    the stage's own held-out data (DPO's accuracy and margin curves are in report.html). Each stage \
    is measured on different data, so compare shapes, not heights: a steep start and a flat end \
    mean the stage learned what it could from its budget.
    """) {
    let card = try card.get()
    for e in ReportCard.entries where card.hasRun(e.stage) {
        guard let curves = card.curves[e.stage] else {
            nb.say("\(e.stage.rawValue): \(ReportCard.noCurves(e)).")
            continue
        }
        guard let chart = curves.charts.first else { continue }
        let held = curves.series.filter { $0.chart == chart }
        let last = held.compactMap(\.steps.last).max() ?? 0
        let series = held.map { s -> (String, [Double]) in
            // One value per step 1...last: the latest measurement, held until the next one.
            var k = 0
            let values = (1...max(1, last)).map { step -> Double in
                while k + 1 < s.steps.count && s.steps[k + 1] <= step { k += 1 }
                return s.steps.first.map { step >= $0 ? s.values[k] : .nan } ?? .nan
            }
            return (s.name, values)
        }
        nb.chart(title: "\(e.stage.rawValue): \(chart)", series: series, xLabel: "steps", height: 8)
    }
}

nb.step("Write the report", """
    The card, the costs, the answers and every stage's curves, as Markdown (report.md, readable \
    anywhere) and as one self-contained web page (report.html: the charts are SVG inside the page, \
    no script, nothing downloaded). Open it with your browser, e.g. `open report.html` on a Mac or \
    `xdg-open report.html` on Linux, or drag the file onto a browser window.
    """) {
    let paths = try ReportCard.write(try card.get(), to: nb.run)
    nb.produced(paths.markdown)
    nb.produced(paths.html)
    nb.result("report", paths.html)
}

nb.run()
