import Foundation
import Testing
@testable import Notebook

@Suite struct ProgressTests {
    /// A notebook whose clock advances `tick` seconds per reading.
    func makeNotebook(terminal: Bool, tick: Double) -> (Notebook, Capture) {
        let (nb, c) = testNotebook([], count: 1)
        nb.isTerminal = terminal
        var t = 0.0
        nb.now = { t += tick; return t }
        return (nb, c)
    }

    @Test func pipesGetPlainLinesAboutEveryTenPercent() {
        let (nb, c) = makeNotebook(terminal: false, tick: 0.01)
        let bar = nb.progress(total: 300, label: "training")
        for i in 0..<300 { bar.update(i + 1, metrics: [("loss", 1.23), ("tok/s", 31000)]) }
        bar.finish()
        #expect(!c.out.contains("\r") && !c.out.contains("\u{1B}"))
        let lines = c.out.split(separator: "\n")
        #expect(lines.count == 10)
        #expect(lines.last?.contains("300/300") == true)
        #expect(lines.last?.contains("loss 1.23  tok/s 31.0k") == true)
    }

    @Test func terminalsGetOneThrottledLineRedrawnInPlace() {
        let (nb, c) = makeNotebook(terminal: true, tick: 0.001)  // 1000 updates a second
        let bar = nb.progress(total: 1000, label: "training")
        for i in 0..<1000 { bar.update(i + 1) }
        bar.finish()
        let redraws = c.out.filter { $0 == "\r" }.count
        #expect(redraws > 5 && redraws < 30)
        #expect(c.out.hasSuffix("\n") && c.out.filter { $0 == "\n" }.count == 1)
        #expect(c.out.split(separator: "\r").allSatisfy { $0.trimmingCharacters(in: .newlines).count < 60 })
    }

    @Test func outputDuringAProgressLineStartsOnANewLine() {
        let (nb, c) = makeNotebook(terminal: true, tick: 1)
        let bar = nb.progress(total: 10)
        bar.update(5)
        nb.say("interrupting")
        #expect(c.out.hasSuffix("\ninterrupting\n"))
    }

    @Test func lineShowsCountPercentEtaAndMetrics() {
        let line = progressLine(label: "rl", done: 30, total: 300, elapsed: 3, metrics: [("reward", 0.5)],
                                barWidth: 10, final: false, ascii: true)
        #expect(line == "rl  [#.........]   30/300   10%  3.0 s  ETA 27 s  reward 0.5")
        let done = progressLine(label: "rl", done: 300, total: 300, elapsed: 30, metrics: [], barWidth: 4, final: true, ascii: true)
        #expect(done == "rl  [####]  300/300  100%  30 s")
    }
}
