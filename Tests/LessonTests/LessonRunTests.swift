import Foundation
import Testing
import Curriculum

/// Every lesson, run as the program a learner runs, in --quick mode: the lesson code itself
/// (its prose, tables and the calls between steps) is checked here, not only the library.
/// `swift test` builds the lesson executables next to the test bundle.
@Suite("Every lesson runs")
struct LessonRunTests {
    @Test("lessons 00-07 run end to end with --quick, in course order, and exit 0")
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

    /// Runs one program to its end with its output in `log`: whether it exited 0, how it
    /// ended, and the end of what it printed.
    func run(_ program: URL, _ arguments: [String], log: URL) throws -> (ok: Bool, how: String, tail: String) {
        let p = Process()
        p.executableURL = program
        p.arguments = arguments
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
