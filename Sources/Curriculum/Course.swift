import Foundation
import Notebook

/// The whole course in one command, `swift run course`: every lesson in order, each run as
/// its own program exactly as a learner would run it (`swift run lessonNN-...`), then the
/// report card. What the `course` executable decides, kept here so the tests can check it.
public enum Course {
    public struct Lesson: Sendable {
        public let name: String
        public let teaches: String
    }

    /// The lessons, in course order.
    public static let lessons: [Lesson] = [
        Lesson(name: "lesson00-transformer", teaches: "tokens, attention, one forward and backward pass, a gradient check"),
        Lesson(name: "lesson01-pretrain", teaches: "pretraining: next-character prediction on the toy world (stage base)"),
        Lesson(name: "lesson02-midtrain", teaches: "mid-training: denser data and twice the context (stage mid)"),
        Lesson(name: "lesson03-sft", teaches: "supervised fine-tuning, instruct and think (stages instruct, think)"),
        Lesson(name: "lesson04-dpo", teaches: "preferences against a frozen reference (stage dpo)"),
        Lesson(name: "lesson05-rlvr", teaches: "reinforcement learning with verifiable rewards (stage rlvr)"),
        Lesson(name: "lesson06-compare", teaches: "every stage side by side, and the report card"),
        Lesson(name: "lesson07-ablations", teaches: "why the order matters: the curriculum with a piece changed"),
        Lesson(name: "lesson08-tools", teaches: "tool use: new tokens, a calculator and a lookup (stage tools)"),
    ]

    /// The flags every lesson gets: the course's own --quick, --seed and --out, so all lessons
    /// share one run directory and one seed. Defaults are left out, so the command shown is the
    /// one a learner would type.
    public static func lessonArguments(_ options: Options, defaultOutDir: String = Options.defaultOutDir()) -> [String] {
        var args: [String] = []
        if options.quick { args.append("--quick") }
        if options.seed != Options().seed { args += ["--seed", String(options.seed)] }
        if options.outDir != defaultOutDir { args += ["--out", options.outDir] }
        return args
    }

    /// The lesson's source file, if this package has it.
    public static func source(_ lesson: String, packageRoot: URL) -> URL {
        packageRoot.appendingPathComponent("Lessons").appendingPathComponent(lesson).appendingPathComponent("main.swift")
    }

    public static func isAvailable(_ lesson: String, packageRoot: URL) -> Bool {
        FileManager.default.fileExists(atPath: source(lesson, packageRoot: packageRoot).path)
    }

    /// The build configuration a binary was built in, from its folder (`.build/<platform>/debug`).
    public static func configuration(binDirectory: URL) -> String {
        binDirectory.lastPathComponent == "release" ? "release" : "debug"
    }

    /// `swift build` for every product of the package at once (one build plan, so an up-to-date
    /// build costs about a second), in the configuration the course itself was built in.
    public static func buildArguments(configuration: String) -> [String] {
        ["build", "-c", configuration]
    }

    /// The command line to show for a lesson: what the learner would type to run it alone.
    public static func command(_ lesson: String, _ args: [String]) -> String {
        (["swift", "run", lesson] + args.map { $0.contains(" ") ? "'\($0)'" : $0 }).joined(separator: " ")
    }

    // MARK: where the time went

    /// The file in the run folder that holds each lesson's time split.
    public static let timingsFile = "timings.json"

    /// The lessons' splits recorded in `folder` (none if the file does not exist yet).
    public static func loadTimings(in folder: String) throws -> [String: TimeSplit] {
        let url = URL(fileURLWithPath: folder).appendingPathComponent(timingsFile)
        guard FileManager.default.fileExists(atPath: url.path) else { return [:] }
        let object = try? JSONSerialization.jsonObject(with: try Data(contentsOf: url))
        guard let lessons = object as? [String: Any] else {
            throw DataFiles.DataError("\(url.path) is not a JSON object of lessons; move it away and run the course again")
        }
        var out: [String: TimeSplit] = [:]
        for (name, value) in lessons {
            guard let fields = value as? [String: Any], let split = TimeSplit(json: fields) else {
                throw DataFiles.DataError("\(url.path): the entry for \(name) is not a time split (total, train, sample, eval, other)")
            }
            out[name] = split
        }
        return out
    }

    /// Writes the splits to `folder`'s timings file, keeping the lessons recorded there before
    /// (a course resumed with `--from` keeps the earlier lessons' times).
    public static func saveTimings(_ splits: [String: TimeSplit], in folder: String) throws {
        var all = try loadTimings(in: folder)
        all.merge(splits) { _, new in new }
        let data = try JSONSerialization.data(withJSONObject: all.mapValues(\.json), options: [.prettyPrinted, .sortedKeys])
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: folder).appendingPathComponent(timingsFile), options: .atomic)
    }

    /// One row per lesson, in course order, and the sum: where the course's time went.
    public static func timingsTable(_ splits: [String: TimeSplit]) -> (header: [String], rows: [[String]]) {
        let header = ["lesson", "total"] + Phase.allCases.map(\.label) + ["other"]
        func row(_ name: String, _ s: TimeSplit) -> [String] {
            [name, formatDuration(s.total)] + Phase.allCases.map { p in (s.seconds[p] ?? 0) > 0 ? formatDuration(s.seconds[p] ?? 0) : "–" }
                + [formatDuration(s.other)]
        }
        let known = lessons.map(\.name).filter { splits[$0] != nil }
        var rows = known.compactMap { name in splits[name].map { row(name, $0) } }
        if known.count > 1, let sum = total(splits) { rows.append(row("all lessons", sum)) }
        return (header, rows)
    }

    /// The course lessons' splits added up, or nil if none has one.
    public static func total(_ splits: [String: TimeSplit]) -> TimeSplit? {
        let listed = lessons.compactMap { splits[$0.name] }
        guard !listed.isEmpty else { return nil }
        return TimeSplit(total: listed.reduce(0) { $0 + $1.total },
                         seconds: Dictionary(uniqueKeysWithValues: Phase.allCases.map { p in (p, listed.reduce(0) { $0 + ($1.seconds[p] ?? 0) }) }))
    }
}

