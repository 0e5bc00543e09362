import Foundation
import Notebook

/// The course's reference results: one markdown file, written from one whole run by
/// `swift run course --results docs/results.md`. The GUIDE's tables quote it, so measuring
/// again is one command instead of hand edits across the book.
public enum Results {
    /// Where and how the run was made: what a reader needs to compare their own run with it.
    public struct Sitting: Sendable, Equatable {
        public var commit: String
        public var date: String
        public var machine: String
        /// `bench`'s training tokens per second on the classroom model, measured in the same sitting.
        public var benchTrainTokensPerSecond: Int?
        public var quick: Bool
        public var seed: UInt64

        public init(commit: String, date: String, machine: String, benchTrainTokensPerSecond: Int?, quick: Bool, seed: UInt64) {
            self.commit = commit; self.date = date; self.machine = machine
            self.benchTrainTokensPerSecond = benchTrainTokensPerSecond; self.quick = quick; self.seed = seed
        }
    }

    /// The section whose table `metrics(fromMarkdown:)` reads back.
    public static let metricsHeading = "## Every number in report.json"

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The whole file: the sitting, the report card, where the time went, and every number.
    public static func markdown(card: ReportCard.Card, timings: [String: TimeSplit], sitting: Sitting) -> String {
        let md = ReportCard.markdownTable
        let tier = sitting.quick ? "quick (`--quick`)" : "default"
        let course = Course.total(timings).map { "\($0.line) (the lessons, one after the other)" } ?? "not measured"
        let bench = sitting.benchTrainTokensPerSecond.map { "\($0) training tokens/s (`bench` on the classroom model, same sitting)" } ?? "not measured"
        var out = """
        # Reference results

        Written by `swift run course\(sitting.quick ? " --quick" : "") --results <file>` from one run of the whole \
        course. Do not edit by hand: run the command again. The GUIDE's numbers come from here.


        """
        out += md(["", ""], [["tier", "\(tier), seed \(sitting.seed)"], ["commit", sitting.commit], ["date", sitting.date],
                             ["machine", sitting.machine], ["engine speed", bench], ["course time", course]])
        let cardTable = ReportCard.table(card)
        out += "\n## The report card\n\n" + md(cardTable.header, cardTable.rows)
        if !timings.isEmpty {
            let t = Course.timingsTable(timings)
            out += "\n## Where the time went\n\n" + md(t.header, t.rows)
        }
        out += "\n\(metricsHeading)\n\nEach stage's own measurements, as its lesson wrote them (lesson07's runs included).\n\n"
        let runs = Stage.allCases.map(\.rawValue).filter { card.report[$0] != nil } + card.otherRuns
        let rows = runs.flatMap { run in
            (card.report[run] ?? [:]).sorted { $0.key < $1.key }.map { [run, $0.key, String(format: "%.6g", $0.value)] }
        }
        out += md(["run", "metric", "value"], rows)
        return out
    }

    /// Reads the metrics table back: run -> metric -> value. Throws if the section is missing
    /// or a row is not `| run | metric | number |`.
    public static func metrics(fromMarkdown text: String) throws -> [String: [String: Double]] {
        let lines = text.components(separatedBy: "\n")
        guard let start = lines.firstIndex(of: metricsHeading) else {
            throw ParseError(description: "no \"\(metricsHeading)\" section")
        }
        var result: [String: [String: Double]] = [:]
        var seenHeader = false
        for line in lines[(start + 1)...] {
            if line.hasPrefix("## ") { break }
            guard line.hasPrefix("|") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3 else { throw ParseError(description: "a metrics row without 3 cells: \(line)") }
            if !seenHeader { seenHeader = true; continue }         // | run | metric | value |
            if cells.allSatisfy({ $0.allSatisfy { $0 == "-" || $0 == ":" } }) { continue }  // |---|---|---:|
            guard let v = Double(cells[2]) else { throw ParseError(description: "not a number in: \(line)") }
            result[cells[0], default: [:]][cells[1]] = v
        }
        return result
    }

    /// The file in a run folder naming the commit the course ran at.
    public static let runFile = "course.json"

    /// Records the commit the course runs at, at its start: results written later from the same
    /// folder name the code that made the numbers, not the code that copied them.
    public static func saveRunCommit(_ commit: String, in folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let data = try JSONSerialization.data(withJSONObject: ["commit": commit], options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: folder).appendingPathComponent(runFile), options: .atomic)
    }

    /// The commit `saveRunCommit` recorded, or nil if the folder has none. Throws on a broken file.
    public static func runCommit(in folder: String) throws -> String? {
        let url = URL(fileURLWithPath: folder).appendingPathComponent(runFile)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let object = (try? JSONSerialization.jsonObject(with: try Data(contentsOf: url))) as? [String: Any],
              let commit = object["commit"] as? String else {
            throw DataFiles.DataError("\(url.path) does not name a commit; move it away and run the course again")
        }
        return commit
    }

    /// "Intel(R) Xeon(R) ..., 2 cores, 24 GiB": the processor's name where the system says it.
    public static func machine() -> String {
        let info = ProcessInfo.processInfo
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .components(separatedBy: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "a CPU"
        let gib = Int((Double(info.physicalMemory) / 1_073_741_824).rounded())
        return "\(cpu), \(info.activeProcessorCount) cores, \(gib) GiB"
    }
}
