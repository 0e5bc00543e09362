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
            let p = Process()
            p.executableURL = program
            p.arguments = ["--quick", "--out", out.path]
            let log = out.appendingPathComponent("\(lesson).log")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            p.waitUntilExit()
            try handle.close()
            let tail = (try? String(contentsOf: log, encoding: .utf8)).map { String($0.suffix(600)) } ?? ""
            let how = p.terminationReason == .exit ? "exit status \(p.terminationStatus)" : "signal \(p.terminationStatus) (a crash)"
            #expect(p.terminationReason == .exit && p.terminationStatus == 0,
                    "\(lesson) --quick ended with \(how); the end of its output:\n\(tail)")
        }
    }
}
