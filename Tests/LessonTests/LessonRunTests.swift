import Foundation
import Testing
import Curriculum
import TinyGPT

/// Every lesson, run as the program a learner runs, in --quick mode: the lesson code itself
/// (its prose, tables and the calls between steps) is checked here, not only the library.
/// `swift test` builds the lesson executables next to the test bundle.
@Suite("Every lesson runs")
struct LessonRunTests {
    @Test("lessons 00-08 run end to end with --quick, in course order, and exit 0")
    func quickCourse() throws {
        // The build folder: where this test program is (Linux), or where the .xctest bundle
        // sits (macOS runs tests inside a helper program that lives elsewhere).
        let candidates = ([Bundle.main.executableURL] + Bundle.allBundles.map { $0.bundleURL })
            .compactMap { $0?.resolvingSymlinksInPath().deletingLastPathComponent() }
        guard let bin = candidates.first(where: {
            FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent(Course.lessons[0].name).path)
        }) else {
            Issue.record("cannot find the lesson programs next to the tests (looked in \(candidates.map(\.path)))")
            return
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lesson-runs-\(getpid())")
        defer { try? FileManager.default.removeItem(at: out) }
        for lesson in Course.lessons.map(\.name) {
            let program = bin.appendingPathComponent(lesson)
            guard FileManager.default.isExecutableFile(atPath: program.path) else {
                Issue.record("\(lesson) was not built next to the tests (\(program.path))")
                continue
            }
            let (ok, how, tail) = try run(program, ["--quick", "--out", out.path], log: out.appendingPathComponent("\(lesson).log"))
            #expect(ok, "\(lesson) --quick ended with \(how); the end of its output:\n\(tail)")
        }

        // A variant of lesson04 trains on the same think model but saves to a folder of its
        // own: the main line's DPO checkpoint, which lesson05 builds on, is left as it was.
        let runs = RunDirectory(outDir: out.path, quick: true)
        let mainLine = FileManager.default.contents(atPath: runs.checkpoint(.dpo))
        #expect(mainLine != nil, "lesson04 --quick wrote \(runs.checkpoint(.dpo))")
        let (ok, how, tail) = try run(bin.appendingPathComponent("lesson04-dpo"), ["--quick", "--out", out.path, "--variant", "ipo"],
                                      log: out.appendingPathComponent("lesson04-dpo-ipo.log"))
        #expect(ok, "lesson04-dpo --quick --variant ipo ended with \(how); the end of its output:\n\(tail)")
        #expect(tail.contains("variants/ipo"), "the summary names where the variant's model went")
        #expect(FileManager.default.fileExists(atPath: runs.variant("ipo").checkpoint(.dpo)))
        #expect(FileManager.default.contents(atPath: runs.checkpoint(.dpo)) == mainLine, "the main line's dpo checkpoint is untouched")
    }

    @Test("bad input: every program stops with an error line naming the file and a non-zero exit, never a signal")
    func badInput() throws {
        let candidates = ([Bundle.main.executableURL] + Bundle.allBundles.map { $0.bundleURL })
            .compactMap { $0?.resolvingSymlinksInPath().deletingLastPathComponent() }
        guard let bin = candidates.first(where: {
            FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("make-data").path)
        }) else {
            Issue.record("cannot find the programs next to the tests (looked in \(candidates.map(\.path)))")
            return
        }
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("bad-input-\(getpid())")
        try? fm.removeItem(at: root)
        defer { try? fm.removeItem(at: root) }
        func write(_ data: Data, _ path: String) throws -> String {
            let url = root.appendingPathComponent(path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
            return url.path
        }
        /// A checkpoint of `stage` with the shape of the quick (or full) recipe, as bytes.
        func checkpoint(_ stage: Stage, quick: Bool = true) throws -> Data {
            try Checkpoint.encode(try GPT(config: stage.modelConfig(quick: quick), seed: 1),
                                  info: CheckpointInfo(stage: stage.rawValue, step: 1, vocab: Tokenizer.standard.pieces))
        }
        let aFile = try write(Data("not a folder".utf8), "a-file")
        // A package of its own (Package.swift, Sources/Curriculum, data/) whose held-out text is empty.
        let story = String(repeating: "Mia has a red kite. Tom has a dog.\n\n", count: 100)
        _ = try write(Data(), "package/Package.swift")
        _ = try write(Data(), "package/Sources/Curriculum/.keep")
        _ = try write(Data(story.utf8), "package/data/pretrain/train.txt")
        let emptyValid = try write(Data(), "package/data/pretrain/valid.txt")
        let out = { (name: String) in root.appendingPathComponent(name).path }
        let report = try write(Data("{ not json".utf8), "out03/quick/report.json")
        var trailing = try checkpoint(.think)
        trailing.append(Data(count: 8))
        let think = try write(trailing, "out04/quick/03-think.safetensors")
        let notACheckpoint = try write(Data("this is not a checkpoint, just some text that is long enough".utf8), "out05/quick/04-dpo.safetensors")
        let notADPOModel = try write(Data("this is not a checkpoint either, just text that is long enough".utf8), "out08/quick/04-dpo.safetensors")
        let classroom = try write(try checkpoint(.base, quick: false), "out06/quick/01-base.safetensors")
        let truncated = try write(try checkpoint(.mid).dropLast(100), "out07/quick/02-mid.safetensors")
        let quickInFull = try write(try checkpoint(.base), "out02/01-base.safetensors")
        let empty = try write(Data(), "chat/quick/03-think.safetensors")

        let cases: [(program: String, args: [String], cwd: URL?, status: Int32, names: String)] = [
            ("lesson00-transformer", ["--out", aFile], nil, 2, aFile),
            ("lesson01-pretrain", ["--quick", "--out", out("out01")], root.appendingPathComponent("package"), 1, emptyValid),
            ("lesson02-midtrain", ["--out", out("out02")], nil, 1, quickInFull),
            ("lesson03-sft", ["--quick", "--out", out("out03")], nil, 1, report),
            ("lesson04-dpo", ["--quick", "--out", out("out04")], nil, 1, think),
            ("lesson05-rlvr", ["--quick", "--out", out("out05")], nil, 1, notACheckpoint),
            ("lesson06-compare", ["--quick", "--out", out("out06")], nil, 1, classroom),
            ("lesson07-ablations", ["--quick", "--out", out("out07")], nil, 1, truncated),
            ("lesson08-tools", ["--quick", "--out", out("out08")], nil, 1, notADPOModel),
            ("course", ["--quick", "--out", aFile], nil, 2, aFile),
            ("chat", ["--stage=think", "--quick", "--out", out("chat")], nil, 1, empty),
            ("make-data", ["--out", aFile], nil, 2, aFile),
            ("bench", ["--steps=0"], nil, 2, "--steps"),
        ]
        for c in cases {
            let log = root.appendingPathComponent("logs/\(c.program).log")
            let (_, how, tail) = try run(bin.appendingPathComponent(c.program), c.args, log: log, in: c.cwd)
            #expect(how == "exit status \(c.status)", "\(c.program) \(c.args) ended with \(how):\n\(tail)")
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            let errorLine = text.split(separator: "\n").first { $0.contains("error") || $0.hasPrefix("\(c.program):") } ?? ""
            #expect(errorLine.contains(c.names), "\(c.program): the error names \(c.names):\n\(tail)")
        }
        #expect(!fm.fileExists(atPath: out("out02") + "/" + Stage.mid.checkpointFile), "nothing trained on the bad checkpoint")
        #expect(!fm.fileExists(atPath: out("out01")), "a lesson stopped by bad data creates no out folder")
    }

    @Test("bench --json: training, sampling at 16 and 64 replies, one evaluation pass, and a step's time by kernel kind")
    func benchFigures() throws {
        let candidates = ([Bundle.main.executableURL] + Bundle.allBundles.map { $0.bundleURL })
            .compactMap { $0?.resolvingSymlinksInPath().deletingLastPathComponent() }
        guard let bin = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("bench").path) }) else {
            Issue.record("cannot find bench next to the tests (looked in \(candidates.map(\.path)))")
            return
        }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: log) }
        let (ok, how, tail) = try run(bin.appendingPathComponent("bench"), ["--config", "tiny", "--steps", "2", "--json"], log: log)
        #expect(ok, "bench ended with \(how): \(tail)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: log)) as? [String: Any])
        for key in ["train_tokens_per_s", "forward_tokens_per_s", "generate_tokens_per_s", "generate64_tokens_per_s"] {
            #expect(((json[key] as? Int) ?? 0) > 0, "\(key) is a positive rate")
        }
        #expect(((json["eval_pass_s"] as? Double) ?? 0) > 0)
        let parts = try #require(json["step_breakdown_ms"] as? [String: Double])
        #expect(Set(parts.keys) == ["matmuls", "attention", "norms", "elementwise", "loss", "optimizer", "other"])
        let step = try #require(json["train_step_ms"] as? Double)
        #expect(parts.values.reduce(0, +) >= 0.99 * step, "the parts account for the whole step (other is the rest)")
    }

    /// Runs one program to its end with its output in `log`: whether it exited 0, how it
    /// ended, and the end of what it printed.
    func run(_ program: URL, _ arguments: [String], log: URL, in directory: URL? = nil) throws -> (ok: Bool, how: String, tail: String) {
        let p = Process()
        p.executableURL = program
        p.arguments = arguments
        if let directory { p.currentDirectoryURL = directory }
        try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        let tail = (try? String(contentsOf: log, encoding: .utf8)).map { String($0.suffix(600)) } ?? ""
        let how = p.terminationReason == .exit ? "exit status \(p.terminationStatus)" : "signal \(p.terminationStatus) (a crash)"
        return (p.terminationReason == .exit && p.terminationStatus == 0, how, tail)
    }
}
