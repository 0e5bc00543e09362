import Foundation

// Terminal charts drawn with plain characters, so they read the same in a
// terminal, a CI log and on a classroom projector.

/// Markers for the series of a line chart, in order.
public let chartMarkers: [Character] = ["*", "o", "+", "x", "#", "@", "%", "="]

/// A line chart of one or more named series as lines of text:
/// the title, `height` grid rows with y labels (max, mid, min) on the axis,
/// the x axis, an x label (`0` ... `<longest length> <xLabel>`), and a legend
/// showing each series' marker and last value: `height + 4` lines in all.
///
/// x is the index in the series, scaled so the longest series spans the grid;
/// longer series are averaged into columns, shorter ones are interpolated.
/// NaN and infinities are skipped (e.g. a loss that blew up).
public func renderChart(title: String, series: [(String, [Double])], width: Int = 80,
                        height: Int = 12, xLabel: String = "points") -> [String] {
    let height = max(3, height)
    let longest = series.map(\.1.count).max() ?? 0
    let plotWidth = max(10, min(60, width - 12))
    let columns = series.map { sampleColumns($0.1, longest: longest, columns: plotWidth) }
    let present = columns.flatMap { $0.compactMap { $0 } }
    guard var lo = present.min(), var hi = present.max() else { return [title, "(no finite data to plot)"] }
    if hi - lo <= 1e-12 * max(1, abs(hi)) {  // a constant series sits in the middle
        let pad = lo == 0 ? 1 : abs(lo) * 0.5
        lo -= pad
        hi += pad
    }

    var grid = Array(repeating: Array(repeating: Character(" "), count: plotWidth), count: height)
    for (k, values) in columns.enumerated() {
        let marker = chartMarkers[k % chartMarkers.count]
        for (c, value) in values.enumerated() {
            guard let v = value else { continue }
            let r = Int(((hi - v) / (hi - lo) * Double(height - 1)).rounded())
            grid[min(max(r, 0), height - 1)][c] = marker
        }
    }

    let mid = (height - 1) / 2
    let labels = [0: formatNumber(hi), mid: formatNumber(hi - (hi - lo) * Double(mid) / Double(height - 1)),
                  height - 1: formatNumber(lo)]
    let labelWidth = labels.values.map(\.count).max() ?? 0
    let blank = String(repeating: " ", count: labelWidth)
    var lines = [title]
    for (r, row) in grid.enumerated() {
        let label = labels[r].map { String(repeating: " ", count: labelWidth - $0.count) + $0 + " ┤" } ?? blank + " │"
        lines.append(trimTrailing(label + String(row)))
    }
    lines.append(blank + " └" + String(repeating: "─", count: plotWidth))
    let right = "\(longest) \(xLabel)"
    lines.append(blank + "  0" + String(repeating: " ", count: max(1, plotWidth - 1 - right.count)) + right)
    let legend = series.enumerated().map { k, s -> String in
        let last = s.1.last(where: { $0.isFinite }).map { " (last \(formatNumber($0)))" } ?? ""
        return "\(chartMarkers[k % chartMarkers.count]) \(s.0)\(last)"
    }
    lines.append(blank + "  " + legend.joined(separator: "   "))
    return lines
}

/// One value (or nil) per grid column for a series, on the x scale of the longest series.
func sampleColumns(_ values: [Double], longest: Int, columns: Int) -> [Double?] {
    guard longest > 0, !values.isEmpty else { return Array(repeating: nil, count: columns) }
    func finite(_ i: Int) -> Double? { i < values.count && values[i].isFinite ? values[i] : nil }
    if longest == 1 {
        return [finite(0)] + Array(repeating: nil, count: columns - 1)
    }
    if longest > columns {  // average each column's slice of the x range
        return (0..<columns).map { c in
            let slice = (c * longest / columns)..<((c + 1) * longest / columns)
            let xs = slice.compactMap(finite)
            return xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
        }
    }
    return (0..<columns).map { c in  // interpolate between neighbouring points
        let t = Double(c) * Double(longest - 1) / Double(columns - 1)
        let i = Int(t.rounded(.down))
        let f = t - Double(i)
        guard let a = finite(i) else { return nil }
        if f < 1e-9 { return a }
        guard let b = finite(i + 1) else { return nil }
        return a + (b - a) * f
    }
}

/// Shades from lightest (least ink) to darkest (most ink).
public let heatmapShades: [Character] = Array(" .:-=+*#%@")

/// A matrix as shade characters: the title, a column label line, one line per
/// row (label, then cells between `│` borders), and a scale line: `rows + 3` lines.
/// The minimum maps to the lightest shade and the maximum to the darkest,
/// unless `range` fixes the scale (e.g. `0...1` for attention weights).
/// Cells are two characters wide when that fits in `width`, one otherwise.
/// Non-finite values show as `?`.
public func renderHeatmap(title: String, values: [[Double]], rowLabels: [String] = [],
                          colLabels: [String] = [], range: ClosedRange<Double>? = nil,
                          width: Int = 80) -> [String] {
    let finiteValues = values.flatMap { $0.filter(\.isFinite) }
    guard let lo = range?.lowerBound ?? finiteValues.min(),
          let hi = range?.upperBound ?? finiteValues.max() else {
        return [title, "(no finite data to draw)"]
    }
    let columns = values.map(\.count).max() ?? 0
    let rowNames = values.indices.map { i in clean(i < rowLabels.count ? rowLabels[i] : String(i)) }
    let labelWidth = rowNames.map(\.count).max() ?? 0
    let cell = labelWidth + 3 + 2 * columns <= width ? 2 : 1

    let colLine = (0..<columns).map { j -> String in
        let name = String(clean(j < colLabels.count ? colLabels[j] : String(j % 10)).prefix(cell))
        return name + String(repeating: " ", count: cell - name.count)
    }.joined()
    var lines = [title, trimTrailing(String(repeating: " ", count: labelWidth + 2) + colLine)]
    for (i, row) in values.enumerated() {
        let cells = (0..<columns).map { j -> String in
            let shade = j < row.count ? heatmapShade(row[j], lo: lo, hi: hi) : " "
            return String(repeating: shade, count: cell)
        }.joined()
        let name = rowNames[i]
        lines.append(String(repeating: " ", count: labelWidth - name.count) + name + " │" + cells + "│")
    }
    lines.append("scale: min \(formatNumber(lo)) [\(String(heatmapShades))] max \(formatNumber(hi))")
    return lines
}

/// The shade for `v` on the scale lo...hi (middle shade when the scale is flat).
public func heatmapShade(_ v: Double, lo: Double, hi: Double) -> Character {
    guard v.isFinite else { return "?" }
    guard hi > lo else { return heatmapShades[heatmapShades.count / 2] }
    let t = min(max((v - lo) / (hi - lo), 0), 1)
    return heatmapShades[Int((t * Double(heatmapShades.count - 1)).rounded())]
}

/// Labels are often tokens: keep them on one line and short.
private func clean(_ label: String) -> String {
    String(label.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t").prefix(12))
}
