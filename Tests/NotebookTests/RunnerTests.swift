import Foundation
import Testing
@testable import Notebook

/// Captured output of a notebook under test.
final class Capture {
    var out = ""
    var err = ""
    var lines: [String] { out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
}

/// A notebook with `count` steps that record which ran; output captured, fixed width, no terminal.
func testNotebook(_ args: [String], count: Int = 3, ran: Box<[Int]> = Box([]), variants: [Variant] = []) -> (Notebook, Capture) {
    let nb = Notebook(name: "lesson99-test", title: "Testing the runner", intro: "An intro.",
                      next: "swift run lesson100", variants: variants, arguments: args)
    let capture = Capture()
    nb.write = { capture.out += $0 }
    nb.writeError = { capture.err += $0 }
    nb.isTerminal = false
    nb.width = 60
    nb.readInput = { nil }
    for n in 1...count {
        nb.step("Title number \(n)", "Prose of step \(n).") { ran.value.append(n) }
    }
    return (nb, capture)
}

final class Box<T> {
    var value: T
    init(_ value: T) { self.value = value }
}

struct Failure: Error, CustomStringConvertible {
    var description: String { "the data file is missing" }
}

struct Localized: LocalizedError {
    var errorDescription: String? { "checkpoint runs/x.safetensors is truncated" }
}

enum Plain: Error { case broken(Int) }

@Suite struct RunnerTests {
    @Test func listPrintsEveryStepNumbered() {
        let (nb, c) = testNotebook(["--list"])
        #expect(nb.execute() == 0)
        for n in 1...3 { #expect(c.out.contains("\(n)  Title number \(n)")) }
        #expect(!c.out.contains("Prose of step"))
    }

    @Test func helpPrintsUsage() {
        let (nb, c) = testNotebook(["--help"])
        #expect(nb.execute() == 0)
        #expect(c.out.contains("Testing the runner") && c.out.contains("--seed N"))
    }

    @Test func allStepsRunInOrder() throws {
        let ran = Box<[Int]>([])
        let (nb, c) = testNotebook([], ran: ran)
        #expect(try nb.runSteps() == [1, 2, 3])
        #expect(ran.value == [1, 2, 3])
        #expect(c.out.contains("── Step 2/3 · Title number 2 ──"))
        #expect(c.lines.contains { $0.hasPrefix("  (") && $0.hasSuffix(" s)") })  // timing line
    }

    @Test func stepRunsOnlyThatStep() throws {
        let ran = Box<[Int]>([])
        let (nb, c) = testNotebook(["--step", "2"], ran: ran)
        #expect(try nb.runSteps() == [2])
        #expect(ran.value == [2])
        #expect(c.out.contains("Prose of step 2.") && !c.out.contains("Prose of step 1."))
    }

    @Test func fromRunsToTheEnd() throws {
        let ran = Box<[Int]>([])
        let (nb, _) = testNotebook(["--from=2"], ran: ran)
        #expect(try nb.runSteps() == [2, 3])
        #expect(ran.value == [2, 3])
    }

    @Test func stepOutOfRangeIsAUsageError() {
        let (nb, c) = testNotebook(["--step", "4"])
        #expect(throws: UsageError.self) { try nb.runSteps() }
        #expect(nb.execute() == 2)
        #expect(c.err.hasPrefix("error: --step 4 is out of range"))
        #expect(c.err.contains("usage:"))
        #expect(c.out.isEmpty)
    }

    @Test func badFlagIsReportedByExecuteWithStatus2() {
        let ran = Box<[Int]>([])
        let (nb, c) = testNotebook(["--seed", "abc"], ran: ran)
        #expect(nb.parseError != nil)
        #expect(nb.options.seed == 1337)  // defaults while the error waits to be reported
        #expect(nb.execute() == 2)
        #expect(c.err.split(separator: "\n").first == "error: --seed expects a non-negative integer, got 'abc'")
        #expect(ran.value.isEmpty)
    }

    @Test func variantMustBeOneTheLessonDeclares() {
        let declared = [Variant("plain", "the default"), Variant("other", "one thing changed")]
        let (ok, _) = testNotebook(["--variant", "other"], variants: declared)
        #expect(ok.parseError == nil && ok.options.variant == "other")

        let ran = Box<[Int]>([])
        let (unknown, c) = testNotebook(["--variant", "typo"], ran: ran, variants: declared)
        #expect(unknown.execute() == 2)
        #expect(c.err.split(separator: "\n").first == "error: --variant expects one of plain, other, got 'typo'")
        #expect(c.err.contains("--variant V"), "the usage that follows lists the variants")
        #expect(ran.value.isEmpty)

        let (none, c2) = testNotebook(["--variant", "plain"], ran: ran)
        #expect(none.execute() == 2)
        #expect(c2.err.split(separator: "\n").first == "error: --variant: lesson99-test has no variants")
        #expect(ran.value.isEmpty)
    }

    @Test func aThrowingStepStopsWithOneErrorLineAndStatus1() {
        let ran = Box<[Int]>([])
        let (nb, c) = testNotebook([], count: 1, ran: ran)
        nb.step("Fails") { throw Failure() }
        nb.step("Never runs") { ran.value.append(99) }
        #expect(nb.execute() == 1)
        #expect(c.err == "error: the data file is missing\n")
        #expect(ran.value == [1])
        #expect(!c.out.contains("Summary"))
    }

    @Test func errorLinesUseTheErrorsOwnDescription() {
        #expect(errorLine(for: Failure()) == "error: the data file is missing")
        #expect(errorLine(for: Localized()) == "error: checkpoint runs/x.safetensors is truncated")
        #expect(errorLine(for: Plain.broken(3)) == "error: broken(3)")
        #expect(errorLine(for: CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: "data/x.txt"]))
                    .hasPrefix("error: data/x.txt: "))
        #expect(errorLine(for: UsageError("error: two\nlines")) == "error: two lines")
    }

    @Test func summaryListsResultsFilesTimeAndNext() {
        let (nb, c) = testNotebook([], count: 1)
        nb.step("Measure") {
            nb.result("held-out loss", "1.23 nats/token")
            nb.result("accuracy", "0.50")
            nb.result("accuracy", "0.95")  // a later measurement replaces the earlier one
            nb.produced("runs/01-base.safetensors")
        }
        #expect(nb.execute() == 0)
        let summary = c.out.components(separatedBy: "Summary · lesson99-test").last ?? ""
        #expect(summary.contains("  held-out loss  1.23 nats/token\n"))
        #expect(summary.contains("  accuracy       0.95\n"))
        #expect(!summary.contains("0.50"))
        #expect(summary.contains("runs/01-base.safetensors"))
        #expect(summary.contains("total time"))
        #expect(c.out.hasSuffix("Next: swift run lesson100\n"))
        #expect(nb.producedFiles == ["runs/01-base.safetensors"])
    }

    @Test func pauseWaitsBetweenStepsAndEndOfInputContinues() throws {
        let (nb, _) = testNotebook(["--pause"])
        var asked = 0
        nb.readInput = { asked += 1; return nil }
        #expect(try nb.runSteps() == [1, 2, 3])
        #expect(asked == 2)  // between steps, not before the first
    }

    @Test func everyLineFitsTheWidth() {
        let (nb, c) = testNotebook([], count: 1)
        nb.step("A very long title that keeps going and going well past the width of the terminal", String(repeating: "word ", count: 80)) {
            nb.say(String(repeating: "more prose ", count: 40))
        }
        #expect(nb.execute() == 0)
        for line in c.lines where !line.contains("A very long title") { #expect(line.count <= 60) }
    }
}
