import Foundation
import Testing
import Curriculum
import Notebook

/// The reference results file: what `course --results` writes reads back to the same numbers,
/// and the committed `docs/results.md` (the GUIDE's source of numbers) names every stage.
@Suite("Reference results (docs/results.md)")
struct ResultsTests {
    static let sitting = Results.Sitting(commit: "abc1234", date: "2026-12-06", machine: "a CPU, 2 cores, 24 GiB",
                                         benchTrainTokensPerSecond: 19_819, quick: true, seed: 1337)

    @Test("every number of report.json comes back from the markdown, lesson07's runs included")
    func roundTrip() throws {
        let report: [String: [String: Double]] = [
            "base": ["final_loss": 0.625, "train_seconds": 12.5],
            "dpo": ["refusal_rate": 0.75, "task_acc_before": 0.5],
            "ablation-no-sft": ["pass1": 0.125],
        ]
        let card = ReportCard.Card(report: report, runPath: "/tmp/x", quick: true)
        let timings = ["lesson01-pretrain": TimeSplit(total: 10, seconds: [.train: 8, .eval: 1])]
        let text = Results.markdown(card: card, timings: timings, sitting: Self.sitting)
        #expect(try Results.metrics(fromMarkdown: text) == report)
        #expect(text.contains("abc1234"))
        #expect(text.contains("19819 training tokens/s"))
        #expect(text.contains("lesson01-pretrain"))
    }

    @Test("the run folder remembers the commit the course ran at; a broken record is refused")
    func runCommit() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("results-commit-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Results.runCommit(in: dir) == nil)
        try Results.saveRunCommit("abc1234", in: dir)
        #expect(try Results.runCommit(in: dir) == "abc1234")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(Results.runFile))
        #expect(throws: DataFiles.DataError.self) { try Results.runCommit(in: dir) }
    }

    @Test("a file without the metrics section, or with a word where a number goes, is refused")
    func badFilesAreRefused() {
        #expect(throws: Results.ParseError.self) { try Results.metrics(fromMarkdown: "# Reference results\n") }
        let bad = "\(Results.metricsHeading)\n\n| run | metric | value |\n|---|---|---|\n| base | final_loss | low |\n"
        #expect(throws: Results.ParseError.self) { try Results.metrics(fromMarkdown: bad) }
    }

    @Test("the committed docs/results.md parses and has numbers for every stage of the course")
    func committedResultsNameEveryStage() throws {
        let root = try #require(DataFiles.packageRoot(from: URL(fileURLWithPath: #filePath)), "cannot find the package root")
        let file = root.appendingPathComponent("docs/results.md")
        let text = try String(contentsOf: file, encoding: .utf8)
        let metrics = try Results.metrics(fromMarkdown: text)
        for stage in Stage.allCases {
            #expect(!(metrics[stage.rawValue] ?? [:]).isEmpty, "docs/results.md has no numbers for \(stage.rawValue)")
        }
        for field in ["| commit |", "| machine |", "| engine speed |", "| course time |"] {
            #expect(text.contains(field), "docs/results.md lacks its \(field) line")
        }
    }

    @Test("--results is the course's own flag: parsed there, listed in its usage, unknown elsewhere")
    func extraFlag() throws {
        let flag = ExtraFlag("--results", value: "F", about: "write the results", writesFile: true)
        let o = try Options.parse(["--results=docs/r.md", "--quick"], extraFlags: [flag], defaultOutDir: "runs")
        #expect(o.extra["--results"] == "docs/r.md")
        #expect(o.quick)
        #expect(throws: UsageError.self) { try Options.parse(["--results", "r.md"], defaultOutDir: "runs") }
        #expect(throws: UsageError.self) { try Options.parse(["--results"], extraFlags: [flag], defaultOutDir: "runs") }
        #expect(usageText(name: "course", title: "t", extraFlags: [flag]).contains("--results F"))
        #expect(!usageText(name: "lesson01", title: "t").contains("--results"))
    }
}
