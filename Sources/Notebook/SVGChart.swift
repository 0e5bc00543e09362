import Foundation

// Charts as inline SVG, for reports that open in any browser with no network and no
// script: the same line chart the terminal draws with characters (Chart.swift), as vectors.

/// Colours of the series of a chart, in order (a palette readable by most colour-blind readers).
public let svgColours = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"]

/// Text for XML and HTML: `&`, `<`, `>` and quotes escaped.
public func escapeXML(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}

/// About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering lo...hi.
public func niceTicks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
    guard lo.isFinite, hi.isFinite, hi > lo, count > 0 else { return lo.isFinite ? [lo] : [] }
    let raw = (hi - lo) / Double(count)
    let power = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
    let first = Int((lo / step).rounded(.up)), last = Int((hi / step + 1e-9).rounded(.down))
    return first <= last ? (first...last).map { Double($0) * step } : []
}

/// Coordinates in an SVG: at most two decimals, no trailing zeros ("12.5", "40").
func svgNumber(_ v: Double) -> String {
    let s = String(format: "%.2f", v)
    var t = Substring(s)
    while t.hasSuffix("0") { t = t.dropLast() }
    if t.hasSuffix(".") { t = t.dropLast() }
    return t == "-0" ? "0" : String(t)
}

/// A line chart of named series of (x, y) points as one `<svg>` element.
///
/// Axes span all finite points of all series (y padded by 5%), with round ticks. Each
/// series is a polyline in its colour; series of at most 40 points also get a dot per
/// point (held-out measurements are sparse, and a dot shows where each one was taken).
/// Non-finite points are skipped. Title, axis label and legend are escaped text.
public func svgLineChart(title: String, series: [(name: String, points: [(x: Double, y: Double)])],
                         xLabel: String = "step", width: Int = 560, height: Int = 240) -> String {
    let left = 56.0, right = 16.0, top = 30.0, bottom = 52.0
    let W = Double(width), H = Double(height)
    let plotW = W - left - right, plotH = H - top - bottom
    var out = "<svg width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escapeXML(title))\">\n"
    out += "<text x=\"\(svgNumber(left))\" y=\"18\" class=\"title\">\(escapeXML(title))</text>\n"
    let finite = series.map { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
    let all = finite.flatMap { $0 }
    guard let xMin = all.map(\.x).min(), let xMax0 = all.map(\.x).max(),
          let yMin0 = all.map(\.y).min(), let yMax0 = all.map(\.y).max() else {
        out += "<text x=\"\(svgNumber(left))\" y=\"\(svgNumber(top + plotH / 2))\">no data</text>\n</svg>"
        return out
    }
    let xMax = xMax0 > xMin ? xMax0 : xMin + 1
    let pad = yMax0 > yMin0 ? (yMax0 - yMin0) * 0.05 : max(abs(yMin0) * 0.5, 1)
    let yMin = yMin0 - pad, yMax = yMax0 + pad
    func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotW }
    func py(_ y: Double) -> Double { top + (yMax - y) / (yMax - yMin) * plotH }

    out += "<rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(top))\" width=\"\(svgNumber(plotW))\" height=\"\(svgNumber(plotH))\" class=\"frame\"/>\n"
    for t in niceTicks(yMin, yMax) {
        let y = svgNumber(py(t))
        out += "<line x1=\"\(svgNumber(left))\" x2=\"\(svgNumber(left + plotW))\" y1=\"\(y)\" y2=\"\(y)\" class=\"grid\"/>"
        out += "<text x=\"\(svgNumber(left - 6))\" y=\"\(y)\" class=\"ytick\">\(escapeXML(formatNumber(t)))</text>\n"
    }
    for t in niceTicks(xMin, xMax) {
        let x = svgNumber(px(t))
        out += "<text x=\"\(x)\" y=\"\(svgNumber(top + plotH + 16))\" class=\"xtick\">\(escapeXML(formatNumber(t)))</text>\n"
    }
    out += "<text x=\"\(svgNumber(left + plotW))\" y=\"\(svgNumber(top + plotH + 32))\" class=\"xlabel\">\(escapeXML(xLabel))</text>\n"
    for (k, points) in finite.enumerated() where !points.isEmpty {
        let colour = svgColours[k % svgColours.count]
        let coords = points.map { "\(svgNumber(px($0.x))),\(svgNumber(py($0.y)))" }.joined(separator: " ")
        out += "<polyline points=\"\(coords)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\"/>\n"
        if points.count <= 40 {
            for p in points {
                out += "<circle cx=\"\(svgNumber(px(p.x)))\" cy=\"\(svgNumber(py(p.y)))\" r=\"2.5\" fill=\"\(colour)\"/>"
            }
            out += "\n"
        }
    }
    var x = left
    for (k, s) in series.enumerated() {
        let colour = svgColours[k % svgColours.count]
        let last = finite[k].last.map { " (last \(formatNumber($0.y)))" } ?? " (no data)"
        let label = escapeXML(s.name + last)
        out += "<rect x=\"\(svgNumber(x))\" y=\"\(svgNumber(H - 14))\" width=\"12\" height=\"3\" fill=\"\(colour)\"/>"
        out += "<text x=\"\(svgNumber(x + 16))\" y=\"\(svgNumber(H - 10))\" class=\"legend\">\(label)</text>\n"
        x += 16 + Double(s.name.count + last.count) * 6.5 + 14
    }
    out += "</svg>"
    return out
}

/// A horizontal bar chart, one labelled bar per value, as one `<svg>` element. Bars start at
/// 0, so their lengths compare honestly; `text` is written at the end of each bar (the value,
/// and e.g. its change). A non-finite value draws no bar.
public func svgBarChart(title: String, bars: [(label: String, value: Double, text: String)], width: Int = 560) -> String {
    let left = 110.0, right = 130.0, top = 30.0, rowHeight = 22.0
    let height = Int(top + rowHeight * Double(bars.count) + 10)
    let plotW = Double(width) - left - right
    let maxValue = bars.map(\.value).filter(\.isFinite).map { abs($0) }.max() ?? 0
    var out = "<svg width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escapeXML(title))\">\n"
    out += "<text x=\"8\" y=\"18\" class=\"title\">\(escapeXML(title))</text>\n"
    for (i, bar) in bars.enumerated() {
        let y = top + rowHeight * Double(i)
        out += "<text x=\"\(svgNumber(left - 8))\" y=\"\(svgNumber(y + 14))\" class=\"ytick\">\(escapeXML(bar.label))</text>"
        let w = bar.value.isFinite && maxValue > 0 ? abs(bar.value) / maxValue * plotW : 0
        if w > 0 {
            out += "<rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(y + 3))\" width=\"\(svgNumber(w))\" height=\"\(svgNumber(rowHeight - 6))\" fill=\"\(svgColours[0])\"/>"
        }
        out += "<text x=\"\(svgNumber(left + w + 6))\" y=\"\(svgNumber(y + 14))\" class=\"legend\">\(escapeXML(bar.text))</text>\n"
    }
    out += "</svg>"
    return out
}
