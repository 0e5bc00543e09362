import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A lesson as an ordered list of numbered steps, run like a notebook:
/// each step prints a header and some prose, then runs its action, which
/// prints what happened (text, tables, progress bars, charts).
///
/// ```swift
/// let nb = Notebook(name: "lesson01-pretrain", title: "...", intro: "...", next: "swift run lesson02-midtrain")
/// nb.step("Measure the untrained model", "prose...") { nb.result("loss", "4.56") }
/// nb.run()
/// ```
/// The flags are parsed in `init`, so the lesson can read `nb.options` while
/// it sets itself up; a bad command line is reported by `run()`.
public final class Notebook {
    public let name: String
    public let title: String
    public let intro: String
    /// The command to run next, shown at the end ("swift run lesson02-midtrain").
    public let next: String
    /// The parsed flags (defaults if the command line was bad). Tests may adjust them.
    public var options: Options
    /// A bad command line, reported by `run()` before anything else happens.
    public let parseError: UsageError?
    /// The alternatives `--variant` may name, the default first (empty: the flag is refused).
    public let variants: [Variant]
    /// Flags only this program knows, listed in its usage text.
    public let extraFlags: [ExtraFlag]

    /// Where all normal output goes. Tests replace it to capture the text.
    public var write: (String) -> Void = { text in
        print(text, terminator: "")
        fflush(stdout)
    }
    /// Where errors and usage go (stderr).
    public var writeError: (String) -> Void = { text in
        fflush(stdout)
        fputs(text, stderr)
    }
    /// Redrawn progress lines on a terminal, plain lines in pipes and logs.
    public var isTerminal = stdoutIsTerminal()
    /// Columns to lay text out in.
    public var width = terminalWidth()
    /// Reads a line for `--pause`; nil (end of input) just continues.
    public var readInput: () -> String? = { readLine() }
    /// Seconds on a monotonic clock, for timings and ETAs; replaceable for tests.
    public var now: () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Checks of the lesson's inputs (files it will update, say) run after the flags and
    /// before the first step, so a bad input stops the lesson before any work is done.
    public var checks: [() throws -> Void] = []

    private var steps: [(title: String, prose: String, action: () throws -> Void)] = []
    private var results: [(name: String, value: String)] = []
    private var files: [String] = []
    /// True while a terminal progress line is drawn without its newline.
    var openLine = false

    /// `arguments` are the command-line arguments after the program name. `variants`, if
    /// any, are what `--variant` may name, the default first.
    public init(name: String, title: String, intro: String = "", next: String = "", variants: [Variant] = [],
                extraFlags: [ExtraFlag] = [], arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        self.name = name
        self.title = title
        self.intro = intro
        self.next = next
        self.variants = variants
        self.extraFlags = extraFlags
        do {
            options = try Options.parse(arguments, extraFlags: extraFlags)
            if let v = options.variant, !variants.contains(where: { $0.name == v }) {
                throw UsageError(variants.isEmpty
                    ? "--variant: \(name) has no variants"
                    : "--variant expects one of \(variants.map(\.name).joined(separator: ", ")), got '\(v)'")
            }
            parseError = nil
        } catch {
            options = Options()
            parseError = error as? UsageError ?? UsageError("\(error)")
        }
    }

    // MARK: Building the lesson

    /// Adds the next step. `prose` is wrapped to the terminal when printed:
    /// paragraphs are kept, lines starting with spaces are printed as they are.
    public func step(_ title: String, _ prose: String = "", _ action: @escaping () throws -> Void) {
        steps.append((title, prose, action))
    }

    public var stepTitles: [String] { steps.map(\.title) }

    // MARK: Output, for use inside steps

    /// Prints prose, wrapped to the width.
    public func say(_ text: String) {
        for line in wrapText(text, width: width) { emit(line) }
    }

    /// Prints an aligned table (numeric columns right-aligned).
    public func table(_ header: [String], _ rows: [[String]]) {
        for line in renderTable(header, rows) { emit("  " + line) }
    }

    /// A progress bar for `total` items; call `update` as they finish, then `finish()`.
    public func progress(total: Int, label: String = "") -> ProgressBar {
        ProgressBar(total: total, label: label, notebook: self)
    }

    /// A line chart of named series (see `renderChart`).
    public func chart(title: String, series: [(String, [Double])], xLabel: String = "points", height: Int = 12) {
        for line in renderChart(title: title, series: series, width: width - 2, height: height, xLabel: xLabel) {
            emit("  " + line)
        }
    }

    /// A matrix as shades (see `renderHeatmap`).
    public func heatmap(title: String, values: [[Double]], rowLabels: [String] = [], colLabels: [String] = [],
                        range: ClosedRange<Double>? = nil) {
        for line in renderHeatmap(title: title, values: values, rowLabels: rowLabels, colLabels: colLabels,
                                  range: range, width: width - 2) {
            emit("  " + line)
        }
    }

    /// Records a headline number for the end-of-lesson summary (and prints it now).
    /// Recording the same name again replaces the value.
    public func result(_ name: String, _ value: String) {
        if let i = results.firstIndex(where: { $0.name == name }) {
            results[i].value = value
        } else {
            results.append((name, value))
        }
        emit("  → \(name): \(value)")
    }

    /// Records a file the lesson wrote, listed in the summary.
    public func produced(_ path: String) {
        if !files.contains(path) { files.append(path) }
    }

    public var recordedResults: [(name: String, value: String)] { results }
    public var producedFiles: [String] { files }

    /// Writes one line to the output, first ending any progress line left open.
    public func emit(_ line: String) {
        if openLine {
            write("\n")
            openLine = false
        }
        write(line + "\n")
    }

    // MARK: Running

    /// Runs the lesson as the command line asks, then exits the process:
    /// 0 on success, 1 if a step threw, 2 on a bad command line.
    public func run() -> Never {
        exit(execute())
    }

    /// Everything `run()` does, returning the exit status instead of exiting.
    public func execute() -> Int32 {
        if let error = parseError { return usageFailure(error) }
        if options.help {
            write(usageText(name: name, title: title, variants: variants, extraFlags: extraFlags))
            return 0
        }
        if options.list {
            listSteps()
            return 0
        }
        do {
            _ = try selectedSteps()
            try checkWritableFolder(options.outDir)
            if let path = options.timings { try checkWritableFile(path, flag: "--timings") }
            for flag in extraFlags where flag.writesFile {
                if let path = options.extra[flag.name] { try checkWritableFile(path, flag: flag.name) }
            }
        } catch {
            return usageFailure(error as? UsageError ?? UsageError("\(error)"))
        }
        do {
            for check in checks { try check() }
        } catch {
            writeError(errorLine(for: error) + "\n")
            return 1
        }
        let start = now(), phases = PhaseClock.totals()
        banner()
        do {
            _ = try runSteps()
        } catch {
            if openLine {
                write("\n")
                openLine = false
            }
            writeError(errorLine(for: error) + "\n")
            return 1
        }
        let split = TimeSplit(total: now() - start, from: phases, to: PhaseClock.totals())
        summary(split)
        if let path = options.timings {
            do {
                try writeTimings(split, to: path)
            } catch {
                writeError("error: cannot write --timings \(path): \(error.localizedDescription)\n")
                return 1
            }
        }
        return 0
    }

    /// `--timings FILE`: the split as one JSON object, written whole or not at all.
    private func writeTimings(_ split: TimeSplit, to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: split.json, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The step numbers (1-based) that `--step` / `--from` select.
    public func selectedSteps() throws -> [Int] {
        let count = steps.count
        if let n = options.only {
            guard n <= count else { throw UsageError("--step \(n) is out of range: this lesson has \(count) steps") }
            return [n]
        }
        if let n = options.from {
            guard n <= count else { throw UsageError("--from \(n) is out of range: this lesson has \(count) steps") }
            return Array(n...count)
        }
        return Array(1..<(count + 1))
    }

    /// Runs the selected steps (header, prose, action, timing) and returns
    /// their numbers. A step's error stops the lesson and is rethrown.
    @discardableResult
    public func runSteps() throws -> [Int] {
        let selected = try selectedSteps()
        for (k, n) in selected.enumerated() {
            if k > 0 && options.pause {
                emit("")
                write("[Enter] step \(n): \(steps[n - 1].title) ")
                _ = readInput()
            }
            let step = steps[n - 1]
            emit("")
            emit(ruleLine("Step \(n)/\(steps.count) · \(step.title)", width: width))
            if !step.prose.isEmpty {
                say(step.prose)
                emit("")
            }
            let start = now()
            try step.action()
            emit("  (\(formatDuration(now() - start)))")
        }
        return selected
    }

    /// `--list`: the numbered step titles.
    public func listSteps() {
        emit("\(name): \(title)")
        let digits = String(steps.count).count
        for (i, step) in steps.enumerated() {
            let n = String(i + 1)
            emit("  " + String(repeating: " ", count: digits - n.count) + n + "  " + step.title)
        }
    }

    private func banner() {
        let rule = String(repeating: "═", count: width)
        emit(rule)
        for line in wrapText("\(name) · \(title)", width: width) { emit(line) }
        emit(rule)
        if !intro.isEmpty { say(intro) }
    }

    private func summary(_ split: TimeSplit) {
        emit("")
        emit(ruleLine("Summary · \(name)", width: width))
        if !results.isEmpty {
            let nameWidth = results.map(\.name.count).max() ?? 0
            for r in results {
                emit("  " + r.name + String(repeating: " ", count: nameWidth - r.name.count) + "  " + r.value)
            }
        }
        if !files.isEmpty {
            emit("  wrote:")
            for file in files { emit("    " + file) }
        }
        for (i, line) in wrapText("total time: \(split.line)", width: width - 4).enumerated() {
            emit((i == 0 ? "  " : "    ") + line)
        }
        if !next.isEmpty { emit("Next: \(next)") }
    }

    private func usageFailure(_ error: UsageError) -> Int32 {
        writeError("error: \(error.description)\n\n" + usageText(name: name, title: title, variants: variants, extraFlags: extraFlags))
        return 2
    }
}

/// The one line printed for an error that stopped the lesson: `error: ` and
/// the error's own description (LocalizedError, Foundation's localized
/// description for its own errors, else CustomStringConvertible),
/// on a single line, never a crash trace.
public func errorLine(for error: Error) -> String {
    var text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
    if error is CocoaError || text.hasPrefix("Error Domain=") {  // Foundation's errors: say which file
        text = error.localizedDescription.replacingOccurrences(of: "The operation could not be completed. ", with: "")
        if let path = (error as? CocoaError)?.filePath, !text.contains(path) { text = "\(path): \(text)" }
    }
    text = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    if text.lowercased().hasPrefix("error: ") { text = String(text.dropFirst(7)) }
    return "error: " + text
}
