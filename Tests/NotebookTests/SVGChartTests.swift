import Foundation
import Testing
@testable import Notebook

/// The SVG charts of report.html, on small inputs whose coordinates can be worked out by hand.
@Suite struct SVGChartTests {
    @Test("text in SVG and HTML is escaped")
    func escaping() {
        #expect(escapeXML("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;")
        #expect(escapeXML("<|end|>") == "&lt;|end|&gt;")
    }

    @Test("ticks are round numbers covering the range")
    func ticks() {
        func close(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-12 } }
        #expect(close(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]))
        #expect(niceTicks(0, 600) == [0, 200, 400, 600])
        #expect(niceTicks(-0.5, 10.5) == [0, 5, 10])
        #expect(close(niceTicks(0.93, 1.07), [0.95, 1, 1.05]))
        #expect(niceTicks(3, 3) == [3])
    }

    @Test("a line chart places its points on the plot: x from the steps, y from the values")
    func lineChartCoordinates() {
        // Plot area: x 56...184 (width 200 - 56 - 16), y 30...148 (height 200 - 30 - 52).
        // y spans 0...10 padded by 5%: -0.5...10.5, so y = 0 -> 30 + 118 * 10.5/11 = 142.64.
        let svg = svgLineChart(title: "loss <train>", series: [(name: "a & b", points: [(0, 0), (5, .nan), (10, 10)])],
                               width: 200, height: 200)
        #expect(svg.hasPrefix("<svg width=\"200\" height=\"200\""))
        #expect(svg.hasSuffix("</svg>"))
        #expect(svg.contains("<polyline points=\"56,142.64 184,35.36\""), "the NaN point is skipped")
        #expect(svg.contains("<circle cx=\"56\" cy=\"142.64\""), "a sparse series gets a dot per point")
        #expect(svg.contains(">loss &lt;train&gt;</text>"))
        #expect(svg.contains(">a &amp; b (last 10)</text>"))
        #expect(!svg.contains("nan") && !svg.contains("http"))
    }

    @Test("each series gets its own colour; a long series gets no dots; no data says so")
    func seriesAndEmpty() {
        let long = (0..<100).map { (x: Double($0), y: Double($0 * $0)) }
        let svg = svgLineChart(title: "t", series: [(name: "train", points: long), (name: "held-out", points: [(0, 1), (99, 2)])])
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(svg.contains("stroke=\"\(svgColours[0])\"") && svg.contains("stroke=\"\(svgColours[1])\""))
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2, "dots only for the 2-point series")
        let empty = svgLineChart(title: "t", series: [(name: "train", points: [])])
        #expect(empty.contains(">no data</text>") && !empty.contains("<polyline"))
    }

    @Test("bars start at 0 and their lengths are proportional to the values")
    func barChart() {
        // Bar area: 560 - 110 - 130 = 320 wide, for the largest value.
        let svg = svgBarChart(title: "loss", bars: [(label: "base", value: 1, text: "1.000"), (label: "sft", value: 2, text: "2.000 (+1)"),
                                                    (label: "none", value: .nan, text: "–")])
        #expect(svg.contains("width=\"160\" height=\"16\""))
        #expect(svg.contains("width=\"320\" height=\"16\""))
        #expect(svg.components(separatedBy: "<rect").count - 1 == 2, "no bar for a missing value")
        #expect(svg.contains(">2.000 (+1)</text>"))
    }
}
