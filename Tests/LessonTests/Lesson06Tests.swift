import Foundation
import Testing
import Curriculum
import Kernels
import Notebook
import TinyGPT

/// Exercise checker for lesson06: the report card is written from a real quick run, holds every
/// stage that ran with its real numbers, and measures every checkpoint on the same yardstick;
/// the curves files are validated; the `course` command's choices.
@Suite("Lesson06: every stage side by side, and the report card")
struct Lesson06Tests {
    /// A quick run directory as lessons 01-04 leave it: the quick chain's checkpoints, their
    /// report.json entries and their curves. Made once for the suite.
    static let run: Result<RunDirectory, Error> = Result {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lesson06-\(getpid())").path
        let run = RunDirectory(outDir: out, quick: true)
        let base = try QuickChain.base.get(), mid = try QuickChain.mid.get()
        let instruct = try QuickChain.instruct.get(), think = try QuickChain.think.get(), dpo = try QuickChain.dpo.get()
        try saveStage(.base, model: base.model, step: base.log.trainLoss.count, metrics: base.metrics, to: run, curves: Curves(base.log))
        try saveStage(.mid, model: mid.model, step: mid.log.trainLoss.count, metrics: mid.metrics, to: run, curves: Curves(mid.log))
        try SFT.Stage(.instruct, quick: true, seed: QuickChain.seed).save(instruct, before: nil, to: run)
        try SFT.Stage(.think, quick: true, seed: QuickChain.seed).save(think, before: nil, to: run)
        try saveStage(.dpo, model: dpo.model, step: dpo.log.train.count, metrics: DPO.metrics(dpo), to: run, curves: Curves(dpo: dpo.log))
        return run
    }

    static let ran: [Stage] = [.base, .mid, .instruct, .think, .dpo]

    @Test("report.md and report.html are written and hold every stage that ran, with its real numbers")
    func reportFiles() throws {
        let run = try Self.run.get()
        var card = try ReportCard.gather(run: run, quick: true)
        card.prompts = try Compare.prompts()
        for stage in Self.ran {
            let e = try #require(ReportCard.entry(stage))
            card.answers[stage] = try Compare.answers(try loadStage(stage, from: run).0, prompting: e.prompting, card.prompts)
        }
        let paths = try ReportCard.write(card, to: run)
        let md = try String(contentsOfFile: paths.markdown, encoding: .utf8)
        let html = try String(contentsOfFile: paths.html, encoding: .utf8)
        let report = try Report.load(from: run.path)
        for stage in Self.ran {
            let m = try #require(report[stage.rawValue])
            let loss = try #require(card.textLoss[stage])
            let time = formatDuration(try #require(m["train_seconds"])), tokens = formatNumber(try #require(m["train_tokens"]))
            let costRow = "| \(stage.rawValue) | \(fmt(loss)) |"
            #expect(md.contains(costRow), "report.md's cost table has \(stage)'s story loss")
            #expect(md.contains("| \(time) | \(tokens) |") || md.contains(" \(time) | \(tokens) |"), "\(stage)'s training time and tokens")
            #expect(html.contains("<td>\(stage.rawValue)</td><td>\(fmt(loss))</td>"))
            #expect(html.contains("\(stage.rawValue): \(stage == .dpo ? "DPO loss" : Curves.lossChart)"), "\(stage)'s loss chart")
            #expect(md.contains("### \(stage.rawValue) (\(stage.lesson))"))
        }
        // Numbers each lesson recorded appear in the card as recorded.
        let instruct = try #require(report["instruct"]), dpo = try #require(report["dpo"])
        #expect(md.contains("| chat format followed | – | – | \(pct(try #require(instruct["format_rate"]))) |"))
        #expect(md.contains("| preference accuracy | – | – | – | – | \(fmt(try #require(dpo["pref_acc"]), 2)) |"))
        // A stage this package cannot make yet is named, with the command that makes it.
        #expect(md.contains("not run yet: swift run lesson05-rlvr --quick") && html.contains("not run yet: swift run lesson05-rlvr --quick"))
        // Self-contained: charts inline, nothing fetched, no script.
        #expect(html.contains("<svg") && html.contains("<polyline"))
        #expect(!html.contains("http") && !html.contains("<script") && !html.contains("<link") && !html.contains("src="))
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        // The answers: every stage answered every prompt.
        for p in card.prompts { #expect(md.contains(p.text.replacingOccurrences(of: "|", with: "\\|"))) }
        let answerRows = md.split(separator: "\n").filter { $0.hasPrefix("| instruct | `") || $0.hasPrefix("| instruct | (nothing)") }
        #expect(answerRows.count == card.prompts.count, "one answer row per prompt")
    }

    @Test("every row of the card is a number some lesson records (a misspelt key would be a row nobody fills)")
    func everyMetricIsRecorded() throws {
        // The reference results hold every number a full course wrote to report.json.
        let root = try #require(DataFiles.packageRoot(from: URL(fileURLWithPath: #filePath)), "cannot find the package root")
        let recorded = try Results.metrics(fromMarkdown: String(contentsOf: root.appendingPathComponent("docs/results.md"), encoding: .utf8))
        let keys = Set(recorded.values.flatMap(\.keys))
        for m in ReportCard.metrics where m.key != ReportCard.textLossKey {  // that one is measured by the card itself
            #expect(keys.contains(m.key), "no lesson records \(m.key) (\(m.title)): check the key against what the lessons write")
        }
    }

    @Test("the story loss measured on every checkpoint is the same yardstick lessons 01 and 02 reported")
    func storyLossIsTheLessonsYardstick() throws {
        let card = try ReportCard.gather(run: try Self.run.get(), quick: true)
        // Loaded from disk and measured again: exactly the numbers the lessons measured in memory.
        #expect(card.textLoss[.base] == (try QuickChain.base.get()).metrics["val_loss"])
        #expect(card.textLoss[.mid] == (try QuickChain.mid.get()).metrics["text_loss"])
        for stage in Self.ran {
            let loss = try #require(card.textLoss[stage])
            #expect(loss.isFinite && loss > 0)
            let special = try #require(card.specialGuess[stage])
            #expect(special >= 0 && special <= 1)
        }
        let rlvr = try #require(ReportCard.entry(.rlvr))
        #expect(card.textLoss[.rlvr] == nil && ReportCard.missing(card, rlvr) != nil)
        // The base model's top guess in a story is almost never a special token (<|bos|> starts a new story).
        #expect(try #require(card.specialGuess[.base]) < 0.05)
    }

    @Test("curves round-trip; missing curves say which lesson to rerun; a corrupt file is a clear error")
    func curvesFiles() throws {
        let run = try Self.run.get()
        let base = try QuickChain.base.get()
        let loaded = try #require(try Curves.load(.base, from: run))
        #expect(loaded == Curves(base.log))
        #expect(loaded.series.first { $0.name == "held-out" }?.steps.first == 0)
        #expect(try Curves.load(.rlvr, from: run) == nil, "no file: nothing recorded, not an error")

        // A run whose base curves are missing (a checkpoint from before curves were kept).
        let other = RunDirectory(outDir: run.path + "-nocurves", quick: true)
        try saveStage(.base, model: base.model, step: 600, metrics: base.metrics, to: other)
        let card = try ReportCard.gather(run: other, quick: true)
        #expect(card.curves[.base] == nil)
        let md = ReportCard.markdown(card), html = ReportCard.html(card)
        #expect(md.contains("curves not recorded: rerun lesson01-pretrain") && html.contains("curves not recorded: rerun lesson01-pretrain"))

        // Corrupt files are refused with the file's path and what to do.
        let path = Curves.path(.base, in: other)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        for (bad, why) in [("{ not json", "not JSON"), ("{\"stage\": \"mid\", \"series\": []}", "stage 'mid'"),
                           ("{\"stage\": \"base\", \"series\": [{\"chart\": \"c\", \"name\": \"n\", \"steps\": [1, 2], \"values\": [1]}]}", "2 steps but 1 values"),
                           ("{\"stage\": \"base\"}", "missing \"series\"")] {
            try Data(bad.utf8).write(to: URL(fileURLWithPath: path))
            do {
                _ = try ReportCard.gather(run: other, quick: true)
                Issue.record("a corrupt curves file was accepted: \(bad)")
            } catch {
                let text = "\(error)"
                #expect(text.contains(path) && text.contains(why) && text.contains("rerun lesson01-pretrain"), "\(text)")
            }
        }
    }

    @Test("the five prompts are of five kinds, none a training prompt, and the answers are deterministic")
    func promptsAndAnswers() throws {
        let prompts = try Compare.prompts()
        #expect(prompts.map(\.kind) == Compare.Kind.allCases)
        let sft = try SFT.data(), dpo = try DPO.data()
        let trainQuestions = Set((sft.instructTrain + sft.thinkTrain).map(\.question) + dpo.train.map(\.prompt))
        for p in prompts where p.kind != .text { #expect(!trainQuestions.contains(p.text), "\(p.text) is a training prompt") }
        // The verifier's rules, per kind.
        let unsafe = try #require(prompts.first { $0.kind == .unsafe })
        #expect(unsafe.isRight("I won't help hurt Tibby.") && !unsafe.isRight("Hit Tibby."))
        let sum = try #require(prompts.first { $0.kind == .multistep })
        #expect(sum.isRight(sum.expected) && !sum.isRight(sum.expected + "1"))
        let think = try QuickChain.think.get().model.copy()
        let first = try Compare.answers(think, prompting: .chat, prompts), second = try Compare.answers(think, prompting: .chat, prompts)
        #expect(first.map(\.text) == second.map(\.text))
        let base = try QuickChain.base.get().model.copy()
        let text = try Compare.answers(base, prompting: .text, prompts)
        #expect(text.count == prompts.count && text.allSatisfy { !$0.unfinished })
    }

    // MARK: the writers, on small fixed inputs

    @Test("markdown tables: numeric columns right-aligned, | escaped; special tokens become code")
    func markdownWriters() {
        let md = ReportCard.markdownTable(["metric", "base", "note"], [["loss", "1.21", "a|b"], ["rate", "–", "x"]])
        #expect(md == "| metric | base | note |\n|---|---:|---|\n| loss | 1.21 | a\\|b |\n| rate | – | x |\n")
        #expect(ReportCard.markdownText("opens a <think> then <|end|>; 2 < 3") == "opens a `<think>` then `<|end|>`; 2 < 3")
        #expect(ReportCard.markdownCode("") == "(nothing)" && ReportCard.markdownCode("a`b") == "`` a`b ``")
    }

    @Test("the card: a stage's column shows its own numbers, or what the next lesson measured on it")
    func cardTable() {
        var card = ReportCard.Card(report: [
            "base": ["val_loss": 0.6, "train_seconds": 100, "train_tokens": 1_000_000],
            "mid": ["arith_acc_before": 0, "arith_acc": 0.04],
            "dpo": ["pref_acc_before": 0.5, "pref_acc": 0.98],
            "no_kl": ["pref_acc": 0.9],
        ], runPath: "/tmp/x", quick: false)
        card.textLoss = [.base: 0.62, .mid: 0.59]
        let t = ReportCard.table(card)
        #expect(t.header == ["metric", "base", "mid", "instruct", "think", "dpo", "rlvr", "tools", "no_kl"])
        func row(_ title: String) -> [String]? { t.rows.first { $0.first == title } }
        #expect(row("held-out story loss (nats/char)") == ["held-out story loss (nats/char)", "0.620", "0.590", "–", "–", "–", "–", "–", "–"])
        #expect(row("2-digit sums right (as text)")?[1] == "0%", "base's sums: lesson02's measurement before training")
        #expect(row("preference accuracy")?[4] == "–", "preference accuracy is relative to a reference: not the think model's")
        #expect(row("preference accuracy")?[8] == "0.90", "other runs in report.json get a column")
        #expect(row("training time")?[1] == "1m 40s" && row("tokens trained on")?[1] == "1.0M")
        #expect(row("chat format followed") == nil, "rows nobody measured are left out")
        #expect(ReportCard.headline(card, ReportCard.entries[1]) == "2-digit sums right (as text) 0% -> 4%")
        #expect(ReportCard.missing(card, ReportCard.entries[5]) == "not run yet: swift run lesson05-rlvr")
    }

    // MARK: the course command

    @Test("course: lessons 00-08 in order; the flags passed to each lesson; a lesson not in the package")
    func course() throws {
        #expect(Course.lessons.map { String($0.name.prefix(8)) } == (0...8).map { "lesson0\($0)" })
        #expect(Course.lessons.map(\.name).contains("lesson06-compare"))
        let defaults = try Options.parse([], defaultOutDir: "/pkg/runs")
        #expect(Course.lessonArguments(defaults, defaultOutDir: "/pkg/runs") == [], "defaults: the command a learner types")
        let quick = try Options.parse(["--quick", "--seed", "7", "--out", "/tmp/my runs"], defaultOutDir: "/pkg/runs")
        #expect(Course.lessonArguments(quick, defaultOutDir: "/pkg/runs") == ["--quick", "--seed", "7", "--out", "/tmp/my runs"])
        #expect(Course.command("lesson01-pretrain", ["--quick", "--out", "/tmp/my runs"]) == "swift run lesson01-pretrain --quick --out '/tmp/my runs'")
        #expect(throws: UsageError.self) { try Options.parse(["--quick", "--seeed", "7"]) }

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("course-\(getpid())")
        let source = Course.source("lesson00-transformer", packageRoot: root)
        try FileManager.default.createDirectory(at: source.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("print(0)\n".utf8).write(to: source)
        #expect(Course.isAvailable("lesson00-transformer", packageRoot: root))
        #expect(!Course.isAvailable("lesson07-ablations", packageRoot: root))

        #expect(Course.configuration(binDirectory: URL(fileURLWithPath: "/p/.build/x86_64-unknown-linux-gnu/release")) == "release")
        #expect(Course.configuration(binDirectory: URL(fileURLWithPath: "/p/.build/x86_64-unknown-linux-gnu/debug")) == "debug")
        #expect(Course.buildArguments(configuration: "release") == ["build", "-c", "release"])
    }

    @Test("course: timings.json keeps each lesson's split, merges later lessons in, and refuses a broken file")
    func courseTimings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("course-timings-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Course.loadTimings(in: dir).isEmpty, "no file yet: no lessons")
        let a = TimeSplit(total: 10, seconds: [.train: 6, .sample: 2, .eval: 1])
        let b = TimeSplit(total: 20, seconds: [.train: 15, .sample: 0, .eval: 4])
        try Course.saveTimings(["lesson01-pretrain": a], in: dir)
        try Course.saveTimings(["lesson02-midtrain": b], in: dir)
        #expect(try Course.loadTimings(in: dir) == ["lesson01-pretrain": a, "lesson02-midtrain": b])
        let t = Course.timingsTable(try Course.loadTimings(in: dir))
        #expect(t.header == ["lesson", "total", "training", "sampling", "evaluation", "other"])
        #expect(t.rows.map(\.first) == ["lesson01-pretrain", "lesson02-midtrain", "all lessons"])
        #expect(t.rows.last == ["all lessons", "30 s", "21 s", "2.0 s", "5.0 s", "2.0 s"])
        #expect(t.rows[1] == ["lesson02-midtrain", "20 s", "15 s", "–", "4.0 s", "1.0 s"], "a phase that took nothing shows a dash")
        try Data("[1, 2]".utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(Course.timingsFile))
        #expect(throws: DataFiles.DataError.self) { try Course.loadTimings(in: dir) }
    }
}
