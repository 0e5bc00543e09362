import Foundation
import Testing
@testable import Notebook

/// Exercise checker for "where the time went": phases nest, the innermost one is charged,
/// and a lesson's `--timings` file holds its split.
@Suite("Phase clock and time split")
struct PhaseClockTests {
    /// Busy-waits `seconds` (sleeping would do too; this keeps the thread's clock honest).
    func spin(_ seconds: Double) {
        let end = ProcessInfo.processInfo.systemUptime + seconds
        while ProcessInfo.processInfo.systemUptime < end {}
    }

    @Test("an inner phase is charged to itself, not to the phase around it")
    func innermostPhaseIsCharged() {
        let before = PhaseClock.totals()
        let value = PhaseClock.measure(.train) { () -> Int in
            spin(0.03)
            PhaseClock.measure(.eval) { spin(0.05) }
            spin(0.03)
            return 7
        }
        let split = TimeSplit(total: 0.2, from: before, to: PhaseClock.totals())
        #expect(value == 7)
        // Other suites may charge phases on other threads meanwhile, so only lower bounds
        // hold exactly; the eval block must not have been counted as training too.
        #expect(split.seconds[.eval, default: 0] >= 0.05)
        #expect(split.seconds[.train, default: 0] >= 0.06)
    }

    @Test("a throwing phase still closes: the next phase is charged normally")
    func throwingPhaseCloses() {
        struct Boom: Error {}
        #expect(throws: Boom.self) { try PhaseClock.measure(.sample) { throw Boom() } }
        let before = PhaseClock.totals()
        PhaseClock.measure(.eval) { spin(0.02) }
        #expect(TimeSplit(total: 1, from: before, to: PhaseClock.totals()).seconds[.eval, default: 0] >= 0.02)
    }

    @Test("the split: other is what no phase took, the line names every part, JSON round-trips")
    func splitArithmetic() {
        let s = TimeSplit(total: 100, seconds: [.train: 60, .sample: 25, .eval: 10])
        #expect(s.other == 5)
        #expect(s.line == "1m 40s: training 1m 00s, sampling 25 s, evaluation 10 s, other 5.0 s")
        #expect(s.json == ["total": 100, "train": 60, "sample": 25, "eval": 10, "other": 5])
        #expect(TimeSplit(json: s.json) == s)
        #expect(TimeSplit(json: ["total": 1.0, "train": 1.0]) == nil, "missing keys are refused")
        #expect(TimeSplit(total: 1, seconds: [.train: 2]).other == 0, "never below zero")
        #expect(TimeSplit(total: 30, seconds: [.train: 20]).line == "30 s: training 20 s, other 10 s", "phases that took nothing are left out")
        #expect(TimeSplit(total: 30, seconds: [:]).line == "30 s", "a program that only runs others has no split")
    }

    @Test("--timings FILE: the lesson writes its split there; a folder or a missing folder is refused before any step")
    func timingsFlag() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("timings-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("split.json").path
        let (nb, c) = testNotebook(["--timings", file, "--out", dir.path], count: 1)
        #expect(nb.execute() == 0)
        #expect(c.out.contains("total time: "))
        let json = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any]
        #expect(json.flatMap(TimeSplit.init(json:)) != nil)

        let ran = Box<[Int]>([])
        let (bad, badOut) = testNotebook(["--timings", dir.path, "--out", dir.path], count: 1, ran: ran)
        #expect(bad.execute() == 2)
        #expect(badOut.err.contains("--timings") && badOut.err.contains("is a folder"))
        let (missing, missingOut) = testNotebook(["--timings", dir.appendingPathComponent("no/such.json").path, "--out", dir.path], count: 1, ran: ran)
        #expect(missing.execute() == 2)
        #expect(missingOut.err.contains("there is no folder"))
        #expect(ran.value.isEmpty, "no step runs when the flag is bad")
    }
}
