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
}
