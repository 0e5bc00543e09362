import Foundation
import Testing
import Curriculum
import TinyGPT
#if canImport(Glibc)
import Glibc
#endif

/// A fresh folder for one test (tests run in parallel).
func runFolder(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("run-folder-\(getpid())/\(name)").path
    try? FileManager.default.removeItem(atPath: dir)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("The run folder is checked before work and shared safely")
struct RunFolderTests {
    @Test("a corrupt report.json is refused before a checkpoint is written")
    func corruptReport() throws {
        let run = RunDirectory(outDir: runFolder("corrupt-report"), quick: true)
        try FileManager.default.createDirectory(atPath: run.path, withIntermediateDirectories: true)
        let report = URL(fileURLWithPath: run.path).appendingPathComponent(Report.fileName)
        for (text, why) in [("{ not json", "not valid JSON"), ("{\"base\": 3}", "not a valid report")] {
            try Data(text.utf8).write(to: report)
            #expect { try run.prepare() } throws: { "\($0)".contains(report.path) && "\($0)".contains(why) }
            let model = try GPT(config: Stage.base.modelConfig(quick: true), seed: 1)
            #expect(throws: (any Error).self) { try saveStage(.base, model: model, step: 1, metrics: [:], to: run) }
            #expect(!FileManager.default.fileExists(atPath: run.checkpoint(.base)), "nothing written")
        }
    }

    @Test("a second program on the same run folder is stopped at once, naming the folder")
    func busyFolder() throws {
        let run = RunDirectory(outDir: runFolder("busy"), quick: false)
        // Another program's lock: a lock taken through a descriptor of its own.
        let fd = open(run.path + "/.lock", O_RDWR | O_CREAT, 0o644)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        #expect { try run.prepare() } throws: { "\($0)".contains(run.path) && "\($0)".contains("in use by another program") }
        flock(fd, LOCK_UN)
        try run.prepare()
        try run.prepare()  // this program holds it now; asking again is fine

        // A folder that does not exist yet is created and held by the first save, not before.
        let fresh = RunDirectory(outDir: runFolder("busy-fresh") + "/new", quick: true)
        try fresh.prepare()
        #expect(!FileManager.default.fileExists(atPath: fresh.path))
        try saveStage(.base, model: try GPT(config: Stage.base.modelConfig(quick: true), seed: 1), step: 1, metrics: [:], to: fresh)
        let other = open(fresh.path + "/.lock", O_RDWR)
        defer { close(other) }
        #expect(flock(other, LOCK_EX | LOCK_NB) != 0, "the saving program holds the folder")
    }

    @Test("temporary files of an interrupted save are removed at the next start, a live program's kept")
    func interruptedSaves() throws {
        let run = RunDirectory(outDir: runFolder("interrupted"), quick: false)
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/sh")
        finished.arguments = ["-c", "exit 0"]
        try finished.run()
        finished.waitUntilExit()
        let dead = ".01-base.safetensors.\(finished.processIdentifier).tmp", live = ".02-mid.safetensors.\(getpid()).tmp"
        for name in [dead, live] { try Data([1]).write(to: URL(fileURLWithPath: run.path + "/" + name)) }
        try run.prepare()
        #expect(!FileManager.default.fileExists(atPath: run.path + "/" + dead))
        #expect(FileManager.default.fileExists(atPath: run.path + "/" + live))
    }

    @Test("report.json updated by many writers at once keeps every stage")
    func reportLock() throws {
        let dir = runFolder("report-lock")
        let stages = (0..<16).map { "stage\($0)" }
        DispatchQueue.concurrentPerform(iterations: stages.count) { i in
            try? Report.record(stage: stages[i], metrics: ["x": Double(i)], in: dir)
        }
        let report = try Report.load(from: dir)
        #expect(Set(report.keys) == Set(stages))
    }
}
