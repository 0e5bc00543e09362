import Testing
@testable import Notebook

@Suite struct TextTests {
    @Test func wrappingRespectsTheWidth() {
        let text = String(repeating: "The loss falls as the model learns. ", count: 20)
        let lines = wrapText(text, width: 40)
        #expect(lines.count > 10)
        #expect(lines.allSatisfy { $0.count <= 40 })
        #expect(lines.joined(separator: " ") == text.trimmingCharacters(in: .whitespaces))
    }

    @Test func paragraphsAndCodeLinesArePreserved() {
        let text = """
        First paragraph, written
        over two source lines.


        Second paragraph:
            let x = model(tokens)   // kept verbatim
        - a list item that is long enough to wrap onto a second line
        """
        #expect(wrapText(text, width: 40) == [
            "First paragraph, written over two source",
            "lines.",
            "",
            "Second paragraph:",
            "    let x = model(tokens)   // kept verbatim",
            "- a list item that is long enough to",
            "  wrap onto a second line",
        ])
    }

    @Test func commonIndentationIsRemoved() {
        #expect(wrapText("    indented prose\n    continues", width: 80) == ["indented prose continues"])
    }

    @Test func tablesAlignNumbersRight() {
        let lines = renderTable(["stage", "loss", "note"], [["init", "4.56", "random"], ["trained", "1.2", "ok"], ["sft", "12.25", "-"]])
        #expect(lines == [
            "stage     loss  note",
            "───────  ─────  ──────",
            "init      4.56  random",
            "trained    1.2  ok",
            "sft      12.25  -",
        ])
    }

    @Test func raggedRowsArePadded() {
        let lines = renderTable(["a", "b"], [["1"], ["22", "3", "x"]])
        #expect(lines.count == 4)
        #expect(lines[3] == "22  3  x")
    }

    @Test func numericCells() {
        for s in ["1", "-0.5", "+3", "1,234", "12.5%", "1.2e-3", "31.0k", "2x", "nan"] { #expect(isNumericCell(s), "\(s)") }
        for s in ["abc", "1.23 nats", "v1", "", "0x1F"] { #expect(!isNumericCell(s), "\(s)") }
    }

    @Test func compactNumbers() {
        #expect(formatNumber(1.23456) == "1.235")
        #expect(formatNumber(31042.7) == "31.0k")
        #expect(formatNumber(2_500_000) == "2.5M")
        #expect(formatNumber(.nan) == "nan")
        #expect(formatDuration(2.44) == "2.4 s")
        #expect(formatDuration(185) == "3m 05s")
    }

    @Test func headerRuleFillsTheWidth() {
        let line = ruleLine("Step 3/7 · Measure", width: 50)
        #expect(line.hasPrefix("── Step 3/7 · Measure ──"))
        #expect(line.count == 50)
    }
}
