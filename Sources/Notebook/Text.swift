import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Plain-text layout: terminal size, wrapped prose, aligned tables, number formats.

/// Width to lay text out in: the terminal's, else $COLUMNS, else 80, clamped
/// to 40...100 because very long lines are hard to read (and to project).
public func terminalWidth() -> Int {
    var size = winsize()
    if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
        return min(max(Int(size.ws_col), 40), 100)
    }
    if let columns = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(columns), n > 0 {
        return min(max(n, 40), 100)
    }
    return 80
}

/// Whether stdout is a terminal: decides between a redrawn progress line and
/// plain periodic lines that read well in CI logs and pipes.
public func stdoutIsTerminal() -> Bool { isatty(STDOUT_FILENO) != 0 }

/// Wraps prose to `width` columns.
/// - Blank lines separate paragraphs and are kept (runs of them collapse to one).
/// - Lines of a paragraph are joined and re-flowed, so source line breaks don't matter.
/// - Lines starting with a space (after removing the common indentation) are
///   code or tables: kept verbatim.
/// - Lines starting with `- `, `* ` or `1. ` start a list item, wrapped with a hanging indent.
public func wrapText(_ text: String, width: Int) -> [String] {
    var lines = text.replacingOccurrences(of: "\r\n", with: "\n")
        .split(separator: "\n", omittingEmptySubsequences: false)
        .map { String($0).replacingOccurrences(of: "\t", with: "    ") }
        .map(trimTrailing)
    let indents = lines.filter { !$0.isEmpty }.map(leadingSpaces)
    if let common = indents.min(), common > 0 {
        lines = lines.map { $0.isEmpty ? $0 : String($0.dropFirst(common)) }
    }

    var out: [String] = []
    var words: [Substring] = []
    var prefix = ""  // first line of the block (a list marker, or nothing)
    var hang = ""    // continuation lines
    func flush() {
        guard !words.isEmpty else { return }
        var line = prefix + words[0]
        for word in words.dropFirst() {
            if line.count + 1 + word.count <= width {
                line += " " + word
            } else {
                out.append(line)
                line = hang + word
            }
        }
        out.append(line)
        words = []
        prefix = ""
        hang = ""
    }

    for line in lines {
        if line.isEmpty {
            flush()
            if let last = out.last, !last.isEmpty { out.append("") }
        } else if !words.isEmpty, !hang.isEmpty, leadingSpaces(line) == hang.count {
            words += line.split(separator: " ")  // continuation of a list item
        } else if line.hasPrefix(" ") {
            flush()
            out.append(line)
        } else if let marker = listMarker(line) {
            flush()
            prefix = marker
            hang = String(repeating: " ", count: marker.count)
            words = line.dropFirst(marker.count).split(separator: " ")
        } else {
            words += line.split(separator: " ")
        }
    }
    flush()
    while out.last == "" { out.removeLast() }
    return out
}

private func leadingSpaces(_ s: String) -> Int { s.prefix { $0 == " " }.count }

func trimTrailing(_ s: String) -> String {
    var s = Substring(s)
    while s.last == " " { s = s.dropLast() }
    return String(s)
}

/// `- `, `* `, `• ` or `12. ` / `12) `, with the space after it.
private func listMarker(_ line: String) -> String? {
    for bullet in ["- ", "* ", "• "] where line.hasPrefix(bullet) { return bullet }
    let digits = line.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, digits.count <= 3 else { return nil }
    let rest = line.dropFirst(digits.count)
    if rest.hasPrefix(". ") || rest.hasPrefix(") ") { return String(digits) + String(rest.prefix(2)) }
    return nil
}

/// A table as lines: columns separated by two spaces, a rule under the header,
/// numeric columns right-aligned so digits line up. Ragged rows are padded.
public func renderTable(_ header: [String], _ rows: [[String]]) -> [String] {
    let columns = max(header.count, rows.map(\.count).max() ?? 0)
    guard columns > 0 else { return [] }
    func cell(_ row: [String], _ c: Int) -> String { c < row.count ? row[c] : "" }
    let widths = (0..<columns).map { c in
        max(cell(header, c).count, rows.map { cell($0, c).count }.max() ?? 0)
    }
    let numeric = (0..<columns).map { c -> Bool in
        let cells = rows.map { cell($0, c).trimmingCharacters(in: .whitespaces) }.filter { !isPlaceholder($0) }
        return !cells.isEmpty && cells.allSatisfy(isNumericCell)
    }
    func format(_ row: [String]) -> String {
        let cells = (0..<columns).map { c -> String in
            let text = cell(row, c)
            let pad = String(repeating: " ", count: widths[c] - text.count)
            return numeric[c] ? pad + text : text + pad
        }
        return trimTrailing(cells.joined(separator: "  "))
    }
    let rule = widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")
    return [format(header), rule] + rows.map(format)
}

/// Cells that stand for "no value" and should not stop a column being numeric.
private func isPlaceholder(_ s: String) -> Bool { ["", "-", "–", "—", "n/a", "?"].contains(s) }

/// "1,234", "-0.5", "+3", "12.5%", "1.2e-3", "31.0k", "2x", "nan": a number,
/// maybe with a thousands separator, a sign, a percent or a k/M/G/x suffix.
public func isNumericCell(_ s: String) -> Bool {
    var t = s.trimmingCharacters(in: .whitespaces)
        .replacingOccurrences(of: ",", with: "")
        .replacingOccurrences(of: "_", with: "")
        .replacingOccurrences(of: "−", with: "-")
    if t.hasPrefix("+") { t.removeFirst() }
    if let last = t.last, "%kMGx×".contains(last) { t.removeLast() }
    guard let first = t.first, first.isNumber || first == "-" || first == "." || t.lowercased() == "nan" || t.lowercased() == "inf" else {
        return false
    }
    return Double(t) != nil && !t.lowercased().hasPrefix("0x") && !t.lowercased().hasPrefix("-0x")
}

/// A compact number for metrics, axis labels and legends: 4 significant digits,
/// with k/M/G for large magnitudes ("31.0k tok/s" rather than "31042.7").
public func formatNumber(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v > 0 ? "inf" : "-inf" }
    let a = abs(v)
    if a >= 1e9 { return String(format: "%.1fG", v / 1e9) }
    if a >= 1e6 { return String(format: "%.1fM", v / 1e6) }
    if a >= 1e4 { return String(format: "%.1fk", v / 1e3) }
    return String(format: "%.4g", v)
}

/// "0.05 s", "2.4 s", "42 s", "3m 05s", "1h 02m": precise when short, readable when long.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--" }
    if seconds < 0.1 { return String(format: "%.2f s", seconds) }
    if seconds < 10 { return String(format: "%.1f s", seconds) }
    if seconds < 60 { return String(format: "%.0f s", seconds) }
    let s = Int(seconds.rounded())
    if s < 3600 { return String(format: "%dm %02ds", s / 60, s % 60) }
    return String(format: "%dh %02dm", s / 3600, (s % 3600) / 60)
}

/// `── text ─────` filled to `width` with `fill`, so headers line up whatever the title.
public func ruleLine(_ text: String, width: Int, fill: Character = "─") -> String {
    let head = "\(fill)\(fill) \(text) "
    return head + String(repeating: fill, count: max(2, width - head.count))
}
