// course: the whole course in one command, every lesson in order, then the report card.
//
//     swift run course            # every lesson's default run, one after the other
//     swift run course --quick    # the tiny models: the whole course in about a minute (after the first build)
//     swift run course --results docs/results.md   # also write the reference results of this run
//
// Each lesson runs as its own program, exactly as `swift run lessonNN-...` runs it, so its
// source stays one readable file in Lessons/. The course builds them first (one `swift build`)
// and starts each from the folder its own binary is in.
import Curriculum
import Foundation
import Notebook

/// Read before the notebook parses the flags, for the closing hint only.
let quickHint = CommandLine.arguments.dropFirst().contains("--quick") ? " --quick" : ""

let nb = Notebook(
    name: "course",
    title: "The whole curriculum, lesson by lesson, then the report card",
    intro: """
    Every lesson of the course in order, without stopping: the transformer, pretraining, \
    mid-training, SFT, preferences, reinforcement learning, the comparison, the ablations. Each \
    lesson is one step below and prints exactly what it prints when run alone; each starts from \
    the checkpoints the ones before it wrote. The last step prints the report card.
    """,
    next: "open report.html in a browser, or talk to any stage: swift run chat --stage dpo\(quickHint)",
    extraFlags: [ExtraFlag("--results", value: "F", about: "also write this run's reference results (markdown) to F", writesFile: true)])

let quick = nb.options.quick
let run = RunDirectory(outDir: nb.options.outDir, quick: quick)
let lessonArgs = Course.lessonArguments(nb.options)

struct CourseError: Error, CustomStringConvertible {
    let description: String
}

/// Where the lesson programs are built: next to this one.
let binDirectory: URL? = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent()
/// The package: found from this program's folder (inside .build), else from the current directory.
let packageRoot: URL? = binDirectory.flatMap(DataFiles.packageRoot(from:)) ?? DataFiles.packageRoot()

/// Runs a program with the terminal's input and output, and returns its exit status.
func launch(_ executable: URL, _ arguments: [String], in directory: URL? = nil) throws -> Int32 {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = directory }
    do {
        try p.run()
    } catch {
        throw CourseError(description: "cannot start \(executable.path): \(error.localizedDescription)")
    }
    p.waitUntilExit()
    if p.terminationReason == .uncaughtSignal {
        throw CourseError(description: "\(executable.lastPathComponent) was stopped by signal \(p.terminationStatus)")
    }
    return p.terminationStatus
}

/// A program's standard output, or nil if it cannot run or fails.
func capture(_ executable: URL, _ arguments: [String], in directory: URL? = nil) -> String? {
    let p = Process(), pipe = Pipe()
    p.executableURL = executable
    p.arguments = arguments
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    if let directory { p.currentDirectoryURL = directory }
    guard (try? p.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The commit the package is at, "with uncommitted changes" if tracked files differ from it.
func packageCommit() -> String {
    let env = URL(fileURLWithPath: "/usr/bin/env")
    var commit = capture(env, ["git", "rev-parse", "--short", "HEAD"], in: packageRoot) ?? "unknown"
    if let status = capture(env, ["git", "status", "--porcelain", "--untracked-files=no"], in: packageRoot), !status.isEmpty {
        commit += " with uncommitted changes"
    }
    return commit
}

var built = false

/// One `swift build` of the whole package, in this program's configuration.
func buildLessons() throws {
    if built { return }
    guard let root = packageRoot, let bin = binDirectory else {
        throw CourseError(description: "cannot find the package (no Package.swift above \(FileManager.default.currentDirectoryPath)); run the course from the package with `swift run course`")
    }
    let args = Course.buildArguments(configuration: Course.configuration(binDirectory: bin))
    nb.emit("  $ swift \(args.joined(separator: " "))   (in \(root.path))")
    let status = try launch(URL(fileURLWithPath: "/usr/bin/env"), ["swift"] + args, in: root)
    guard status == 0 else {
        throw CourseError(description: "the build failed (swift build exit status \(status)); fix the error above, then run the course again")
    }
    built = true
}

nb.step("Build the lessons", """
    Each lesson is its own program. One swift build compiles every one of them (and the chat and \
    bench tools); when nothing changed it takes about a second.
    """) {
    try buildLessons()
    try Results.saveRunCommit(packageCommit(), in: run.path)  // what the reference results will name
}

for (index, lesson) in Course.lessons.enumerated() {
    let stepNumber = index + 2
    nb.step(lesson.name, lesson.teaches.prefix(1).uppercased() + lesson.teaches.dropFirst() + ".") {
        guard let root = packageRoot, let bin = binDirectory else { return try buildLessons() }
        guard Course.isAvailable(lesson.name, packageRoot: root) else {
            nb.say("""
            \(lesson.name) is not part of this package yet (there is no \
            \(Course.source(lesson.name, packageRoot: root).path)). Skipped: the steps after it work \
            without it, and the report card shows what is missing.
            """)
            nb.result(lesson.name, "skipped: not in this package yet")
            return
        }
        try buildLessons()
        let binary = bin.appendingPathComponent(lesson.name)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw CourseError(description: "\(lesson.name) has a source folder but no program at \(binary.path): is it listed in Package.swift's products?")
        }
        nb.emit("  $ \(Course.command(lesson.name, lessonArgs))")
        let start = nb.now()
        // The lesson writes where its time went here; the course keeps it in timings.json.
        let splitFile = FileManager.default.temporaryDirectory.appendingPathComponent("course-\(getpid())-\(lesson.name).json")
        defer { try? FileManager.default.removeItem(at: splitFile) }
        let status = try launch(binary, lessonArgs + ["--timings", splitFile.path])
        guard status == 0 else {
            throw CourseError(description: """
                \(lesson.name) stopped with exit status \(status) (its error is above). Run it alone with \
                `\(Course.command(lesson.name, lessonArgs))`; once it works, continue the course with \
                `swift run course\(lessonArgs.isEmpty ? "" : " " + lessonArgs.joined(separator: " ")) --from \(stepNumber)`.
                """)
        }
        nb.result(lesson.name, formatDuration(nb.now() - start))
        if let data = try? Data(contentsOf: splitFile),
           let fields = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
           let split = TimeSplit(json: fields) {
            try Course.saveTimings([lesson.name: split], in: run.path)
        }
    }
}

nb.step("The report card", """
    Every stage's numbers from report.json, and every checkpoint's loss on the held-out \
    pretraining text, measured now. lesson06 wrote the full report, with the answers and every \
    training curve, next to the checkpoints.
    """) {
    let card = try ReportCard.gather(run: run, quick: quick)
    let t = ReportCard.table(card)
    nb.table(t.header, t.rows)
    for e in ReportCard.entries {
        if let why = ReportCard.missing(card, e) { nb.say("\(e.stage.rawValue): \(why).") }
    }
    let html = URL(fileURLWithPath: run.path).appendingPathComponent("report.html").path
    if FileManager.default.fileExists(atPath: html) {
        nb.produced(html)
        nb.produced(URL(fileURLWithPath: run.path).appendingPathComponent("report.md").path)
        nb.say("The report, with charts of every stage's training curves: \(html) (open it in a browser).")
    } else {
        nb.say("No report.html in \(run.path) yet: lesson06-compare writes it (swift run lesson06-compare\(quick ? " --quick" : "")).")
    }
}

nb.step("Where the time went", """
    Each lesson's wall time, split into training (forward, backward and optimizer steps), \
    sampling (writing replies token by token, greedy evaluations included), evaluation \
    (forward passes that score text) and everything else (data, printing, saving). The \
    biggest cells are where a faster course has to start.
    """) {
    let splits = try Course.loadTimings(in: run.path)
    guard !splits.isEmpty else {
        nb.say("No lesson has run in this course yet, so there are no times to show.")
        return
    }
    let t = Course.timingsTable(splits)
    nb.table(t.header, t.rows)
    nb.produced(URL(fileURLWithPath: run.path).appendingPathComponent(Course.timingsFile).path)
}

if let resultsPath = nb.options.extra["--results"] {
    nb.step("The reference results", """
        The numbers of this run in one markdown file: the sitting (commit, machine, and the \
        engine's speed measured now by bench), the report card, where the time went, and every \
        number the lessons recorded. The course book's tables are copied from this file.
        """) {
        let card = try ReportCard.gather(run: run, quick: quick)
        var benchFigure: Int?
        if let bin = binDirectory,
           let json = capture(bin.appendingPathComponent("bench"), ["--json"]),
           let fields = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] {
            benchFigure = fields["train_tokens_per_s"] as? Int
        }
        let now = packageCommit()
        let ran = try Results.runCommit(in: run.path) ?? "unknown (the course that made this folder did not record it)"
        let commit = ran == now ? ran : "\(ran) (this file written at \(now))"
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let sitting = Results.Sitting(commit: commit, date: formatter.string(from: Date()), machine: Results.machine(),
                                      benchTrainTokensPerSecond: benchFigure, quick: quick, seed: nb.options.seed)
        let text = Results.markdown(card: card, timings: try Course.loadTimings(in: run.path), sitting: sitting)
        try Data(text.utf8).write(to: URL(fileURLWithPath: resultsPath), options: .atomic)
        nb.say("Engine speed now: \(benchFigure.map { "\(formatNumber(Double($0))) training tokens/s" } ?? "bench did not run").")
        nb.produced(resultsPath)
    }
}

nb.run()
