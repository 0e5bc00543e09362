import Foundation

/// A progress bar for a loop with a known length, with ETA and live metrics.
///
/// On a terminal it is one line redrawn in place with `\r`, at most ~10 times a
/// second, so updating every iteration costs nothing. In a pipe or CI log it
/// prints a plain line at every 10% instead: no `\r`, no escape codes.
/// Make one with `nb.progress(total:label:)`.
public final class ProgressBar {
    public let total: Int
    public let label: String
    public private(set) var done = 0
    private var metrics: [(String, Double)] = []
    private let notebook: Notebook
    private let terminal: Bool
    private let start: Double
    private var lastDraw = -Double.infinity
    private var lastDecile = 0
    private var lastPrinted = -1
    private var lastLength = 0
    private var finished = false

    init(total: Int, label: String, notebook: Notebook) {
        self.total = max(0, total)
        self.label = label
        self.notebook = notebook
        self.terminal = notebook.isTerminal
        self.start = notebook.now()
    }

    /// Reports that `done` of `total` items are complete. `metrics` (e.g.
    /// `[("loss", 1.23), ("tok/s", 31000)]`) are shown until the next ones arrive.
    public func update(_ done: Int, metrics: [(String, Double)] = []) {
        guard !finished else { return }
        self.done = min(max(done, 0), total)
        if !metrics.isEmpty { self.metrics = metrics }
        if terminal {
            let t = notebook.now()
            if t - lastDraw >= 0.1 || self.done == total {
                lastDraw = t
                draw(final: false)
            }
        } else {
            let decile = total > 0 ? self.done * 10 / total : 10
            if decile > lastDecile {
                lastDecile = decile
                printLine(final: false)
            }
        }
    }

    /// Prints the final state (elapsed time instead of ETA) and ends the line.
    /// Calling it twice is harmless.
    public func finish(metrics: [(String, Double)]? = nil) {
        guard !finished else { return }
        finished = true
        if let metrics { self.metrics = metrics }
        if terminal {
            draw(final: true)
            notebook.write("\n")
            notebook.openLine = false
        } else if lastPrinted != done || metrics != nil {
            printLine(final: true)
        }
    }

    private var elapsed: Double { notebook.now() - start }

    private func draw(final: Bool) {
        let line = fittedLine(final: final)
        let pad = String(repeating: " ", count: max(0, lastLength - line.count))
        lastLength = line.count
        notebook.write("\r" + line + pad)
        notebook.openLine = true
    }

    private func printLine(final: Bool) {
        lastPrinted = done
        notebook.emit(fittedLine(final: final, ascii: true))
    }

    /// A steady 20-character bar, narrower if the terminal needs it. On a terminal the line never
    /// reaches the last column (a wrapped line would break the `\r` redraw);
    /// in a log it may run long rather than lose a metric.
    private func fittedLine(final: Bool, ascii: Bool = false) -> String {
        let e = elapsed
        let room = notebook.width - 1
        let bare = progressLine(label: label, done: done, total: total, elapsed: e,
                                metrics: metrics, barWidth: 0, final: final, ascii: ascii)
        let bar = ascii ? 20 : min(20, max(8, room - bare.count - 2))
        let line = progressLine(label: label, done: done, total: total, elapsed: e,
                                metrics: metrics, barWidth: bar, final: final, ascii: ascii)
        return ascii || line.count <= room ? line : String(line.prefix(room))
    }
}

/// One progress line, e.g.
/// `training  [######..............]  90/300  30%  1.2 s  ETA 2.8 s  loss 1.23  tok/s 31.0k`.
/// `final` (or a full bar) shows no ETA; `ascii` picks `#.` over `█░`
/// for logs; `barWidth` 0 leaves the bar out.
public func progressLine(label: String, done: Int, total: Int, elapsed: Double,
                         metrics: [(String, Double)], barWidth: Int, final: Bool, ascii: Bool) -> String {
    let fraction = total > 0 ? Double(done) / Double(total) : 1
    var parts: [String] = []
    if !label.isEmpty { parts.append(label) }
    if barWidth > 0 {
        let filled = min(barWidth, Int((fraction * Double(barWidth)).rounded(.down)))
        let (full, empty) = ascii ? ("#", ".") : ("█", "░")
        parts.append("[" + String(repeating: full, count: filled)
                     + String(repeating: empty, count: barWidth - filled) + "]")
    }
    let totalText = String(total)
    parts.append(String(repeating: " ", count: max(0, totalText.count - String(done).count)) + "\(done)/\(totalText)")
    parts.append(String(format: "%3d%%", Int(fraction * 100)))
    parts.append(formatDuration(elapsed))
    if !final && done < total {
        parts.append(done > 0 ? "ETA " + formatDuration(elapsed / Double(done) * Double(total - done)) : "ETA --")
    }
    for (name, value) in metrics { parts.append("\(name) \(formatNumber(value))") }
    return parts.joined(separator: "  ")
}
