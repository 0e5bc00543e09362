import Foundation
import Testing
@testable import Notebook

/// The command line every lesson understands.
@Suite struct OptionsTests {
    func parse(_ args: [String]) throws -> Options { try Options.parse(args, defaultOutDir: "/pkg/runs") }

    @Test func noFlagsGiveTheDefaults() throws {
        let o = try parse([])
        #expect(o == Options(outDir: "/pkg/runs"))
        #expect(o.seed == 1337 && !o.quick && !o.pause && !o.help && !o.list && o.only == nil && o.from == nil)
    }

    @Test(arguments: [
        ["--quick", "--pause", "--seed", "7", "--out", "/tmp/x", "--step", "3"],
        ["--quick", "--pause", "--seed=7", "--out=/tmp/x", "--step=3"],
    ])
    func everyFlagInBothForms(args: [String]) throws {
        let o = try parse(args)
        #expect(o.quick && o.pause)
        #expect(o.seed == 7)
        #expect(o.outDir == "/tmp/x")
        #expect(o.only == 3 && o.from == nil)
    }

    @Test func variantTakesANameInBothForms() throws {
        #expect(try parse([]).variant == nil)
        #expect(try parse(["--variant", "ipo"]).variant == "ipo")
        #expect(try parse(["--variant=length-normalized"]).variant == "length-normalized")
    }

    @Test func fromHelpAndList() throws {
        #expect(try parse(["--from", "2"]).from == 2)
        #expect(try parse(["--from=4"]).from == 4)
        #expect(try parse(["--help"]).help)
        #expect(try parse(["-h"]).help)
        #expect(try parse(["--list"]).list)
        #expect(try parse(["--seed", "18446744073709551615"]).seed == UInt64.max)
    }

    @Test(arguments: [
        (["--bogus"], "--bogus"),
        (["--seed"], "--seed"),
        (["--out"], "--out"),
        (["--variant"], "--variant"),
        (["--seed", "--quick"], "--seed"),
        (["--seed", "abc"], "--seed"),
        (["--seed=-1"], "--seed"),
        (["--seed="], "--seed"),
        (["--step", "0"], "--step"),
        (["--step", "two"], "--step"),
        (["--from=-3"], "--from"),
        (["--quick=yes"], "--quick"),
        (["--step", "1", "--from", "2"], "--step"),
        (["lesson"], "lesson"),
        (["--out", ""], "--out"),
        (["--out="], "--out"),
    ])
    func badFlagsThrowAUsageErrorNamingTheFlag(args: [String], flag: String) {
        #expect {
            try parse(args)
        } throws: { error in
            guard let usage = error as? UsageError else { return false }
            return usage.description.contains(flag) && !usage.description.contains("\n")
        }
    }

    @Test func defaultOutDirIsRunsInThePackageRoot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nb-\(UUID().uuidString)")
        let sub = root.appendingPathComponent("Lessons/deep")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "// swift-tools-version:6.0\n".write(to: root.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
        #expect(Options.defaultOutDir(from: sub.path) == root.standardizedFileURL.path + "/runs")
        #expect(findPackageRoot(from: "/") == nil)
        #expect(Options.defaultOutDir(from: "/") == "/runs")
    }

    @Test func usageListsEveryFlag() {
        let text = usageText(name: "lesson09-x", title: "A title")
        #expect(text.contains("lesson09-x") && text.contains("A title"))
        for flag in ["--help", "--list", "--step N", "--from N", "--quick", "--seed N", "--pause", "--out DIR"] {
            #expect(text.contains(flag))
        }
        #expect(!text.contains("--variant"), "a lesson without variants does not offer the flag")
        let withVariants = usageText(name: "lesson09-x", title: "A title",
                                     variants: [Variant("plain", "the default"), Variant("other-way", "one thing changed")])
        #expect(withVariants.contains("--variant V") && withVariants.contains("(default: plain)"))
        #expect(withVariants.contains("plain      the default") && withVariants.contains("other-way  one thing changed"))
    }

    @Test func theSharedGrammarReadsBothFormsForAnyProgram() throws {
        var flags = FlagReader(["--stage=think", "--out", "/tmp/x", "--quick"])
        var seen: [String] = []
        while let name = try flags.next() {
            switch name {
            case "--stage", "--out": seen.append("\(name) \(try flags.value())")
            default: try flags.noValue(); seen.append(name)
            }
        }
        #expect(seen == ["--stage think", "--out /tmp/x", "--quick"])
        var bad = FlagReader(["--quick=1"])
        _ = try bad.next()
        #expect(throws: UsageError.self) { try bad.noValue() }
    }

    @Test func theOutFolderIsCheckedBeforeAnyWork() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nb-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        #expect(throws: Never.self) { try checkWritableFolder(root.path) }
        #expect(throws: Never.self) { try checkWritableFolder(root.appendingPathComponent("new/deeper").path) }
        for (path, why) in [(file.path, "is a file"), (file.appendingPathComponent("inside").path, "is a file")] {
            #expect { try checkWritableFolder(path) } throws: { error in
                "\(error)".contains(path) && "\(error)".contains(why)
            }
        }
        if geteuid() != 0 {  // root may write anywhere, so a read-only folder is only read-only for others
            let readOnly = root.appendingPathComponent("read-only")
            try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnly.path)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: readOnly.path) }
            #expect { try checkWritableFolder(readOnly.path) } throws: { "\($0)".contains("not writable") }
        }

        // A lesson given such a folder stops with exit 2 before its first step.
        let ran = Box<[Int]>([])
        let (nb, c) = testNotebook(["--out", file.path], ran: ran)
        #expect(nb.execute() == 2)
        #expect(ran.value.isEmpty && c.err.contains("error: --out \(file.path) is a file"))
        // And a failing input check stops it with exit 1, one line, before its first step.
        let (nb2, c2) = testNotebook(["--out", root.path], ran: ran)
        nb2.checks.append { throw Failure() }
        #expect(nb2.execute() == 1)
        #expect(ran.value.isEmpty && c2.err == "error: the data file is missing\n" && c2.out.isEmpty)
    }
}
