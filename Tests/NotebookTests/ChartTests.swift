import Foundation
import Testing
@testable import Notebook

@Suite struct ChartTests {
    @Test func chartHasTitleGridAxisAndLegend() {
        let train = (0..<300).map { 4.5 * exp(-Double($0) / 80) + 1 }
        let val = (0..<30).map { 4.6 * exp(-Double($0) / 8) + 1.1 }
        let lines = renderChart(title: "loss", series: [("train", train), ("held-out", val)], width: 78, height: 12, xLabel: "steps")
        #expect(lines.count == 12 + 4)
        #expect(lines[0] == "loss")
        #expect(lines[1].contains("┤") && lines[12].contains("┤"))
        #expect(lines[13].contains("└"))
        #expect(lines[14].hasSuffix("300 steps"))
        #expect(lines[15].contains("* train") && lines[15].contains("o held-out"))
        #expect(lines.allSatisfy { $0.count <= 78 })
        #expect(lines[1...12].joined().contains("*") && lines[1...12].joined().contains("o"))
    }

    @Test func maxIsOnTheTopRowAndMinOnTheBottom() {
        let lines = renderChart(title: "t", series: [("up", [0, 1, 2, 3])], height: 5)
        #expect(lines[1].hasPrefix("  3 ┤") && lines[1].hasSuffix("*"))
        #expect(lines[3].hasPrefix("1.5 ┤"))
        #expect(lines[5].hasPrefix("  0 ┤*"))
    }

    @Test func oddSeriesDoNotBreakTheChart() {
        let cases: [[(String, [Double])]] = [
            [("constant", [2, 2, 2])],
            [("single", [5])],
            [("holes", [1, .nan, 3, .infinity, 2])],
            [("short", [1, 3]), ("long", Array(repeating: 1.5, count: 1000))],
        ]
        for series in cases {
            let lines = renderChart(title: "t", series: series, height: 8)
            #expect(lines.count == 12)
            #expect(lines[1...8].joined().contains("*"))
        }
        #expect(renderChart(title: "t", series: [("nothing", [.nan])]).count == 2)
        #expect(renderChart(title: "t", series: []).count == 2)
    }

    @Test func longSeriesAreAveragedIntoColumns() {
        let columns = sampleColumns(Array(repeating: 1.0, count: 100) + Array(repeating: 3.0, count: 100), longest: 200, columns: 10)
        #expect(columns.map { $0 ?? -1 } == [1, 1, 1, 1, 1, 3, 3, 3, 3, 3])
    }

    @Test func heatmapMapsMinAndMaxToLightestAndDarkest() {
        let lines = renderHeatmap(title: "attention", values: [[0, 1], [0.5, 0.25]], rowLabels: ["a", "b"], colLabels: ["a", "b"])
        #expect(lines.count == 2 + 3)
        #expect(lines[0] == "attention")
        #expect(lines[1] == "   a b")
        #expect(lines[2] == "a │  @@│")
        #expect(heatmapShade(0, lo: 0, hi: 1) == heatmapShades.first)
        #expect(heatmapShade(1, lo: 0, hi: 1) == heatmapShades.last)
        #expect(lines[4].contains("min 0") && lines[4].contains("max 1"))
    }

    @Test func heatmapHandlesFixedRangeNaNAndWideMatrices() {
        let lines = renderHeatmap(title: "t", values: [[.nan, 2]], range: 0...1)
        #expect(lines[2].hasSuffix("│??@@│"))
        let wide = renderHeatmap(title: "t", values: [Array(repeating: 0.5, count: 64)], width: 80)
        #expect(wide.allSatisfy { $0.count <= 80 })
    }
}
