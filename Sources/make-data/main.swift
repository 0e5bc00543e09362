// make-data: writes the toy datasets under data/ from the fixed seed.
//
//     swift run make-data              write data/ in the package root
//     swift run make-data --out DIR    write into DIR instead
//     swift run make-data --check      regenerate in memory, compare with the files on disk
//
// The files are committed so students can read them; `--check` proves they
// are exactly what the generator makes.

import Curriculum
import Foundation
import Notebook

let usage = "usage: swift run make-data [--out DIR] [--check] [--help]"

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(code)
}

// MARK: arguments

var outDir: URL?
var check = false
/// The shared flag grammar (`--out DIR` or `--out=DIR`); a bad flag exits 2.
do {
    var flags = FlagReader(Array(CommandLine.arguments.dropFirst()))
    while let flag = try flags.next() {
        switch flag {
        case "--out":
            outDir = URL(fileURLWithPath: try flags.value(), isDirectory: true)
        case "--check":
            try flags.noValue()
            check = true
        case "-h", "--help":
            try flags.noValue()
            print(usage)
            print("  --out DIR  write into DIR instead of <package root>/data")
            print("  --check    regenerate in memory and compare with the files on disk (exit 1 if they differ)")
            print("Flags also accept the --flag=value form.")
            exit(0)
        default:
            throw flags.unknown
        }
    }
    // Writing: the folder must be one we can write in, checked before minutes of generation.
    if let outDir, !check { try checkWritableFolder(outDir.path) }
} catch {
    fail("make-data: \(error)\n\(usage)", code: 2)
}

guard let dataDir = outDir ?? DataFiles.defaultDataDirectory() else {
    fail("make-data: cannot find the package root (a folder with Package.swift and Sources/Curriculum); run from inside the package or pass --out DIR", code: 2)
}

func formatted(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}

/// Byte offset and line of the first difference, for a useful message.
func firstDifference(_ a: String, _ b: String) -> (offset: Int, line: Int) {
    let x = Array(a.utf8), y = Array(b.utf8)
    var line = 1
    for i in 0..<min(x.count, y.count) {
        if x[i] != y[i] { return (i, line) }
        if x[i] == UInt8(ascii: "\n") { line += 1 }
    }
    return (min(x.count, y.count), line)
}

// MARK: run

let seed = DataFiles.defaultSeed
let start = Date()

if check {
    let fresh = PretrainCorpus.generate(seed: seed)
    let mid = MidtrainCorpus.generate(seed: seed)
    var stale: [String] = []
    for (path, expected) in [(DataFiles.pretrainTrain, fresh.train), (DataFiles.pretrainValid, fresh.valid),
                             (DataFiles.midtrainTrain, mid.train), (DataFiles.midtrainValid, mid.valid)]
                             + DataFiles.sftFiles(seed: seed).map({ ($0.path, $0.text) })
                             + DataFiles.dpoFiles(seed: seed).map({ ($0.path, $0.text) })
                             + DataFiles.rlFiles(seed: seed).map({ ($0.path, $0.text) })
                             + DataFiles.toolFiles(seed: seed).map({ ($0.path, $0.text) }) {
        let url = dataDir.appendingPathComponent(path)
        do {
            let onDisk = try DataFiles.loadText(url)
            if onDisk == expected {
                print("ok       \(url.path)")
            } else {
                let d = firstDifference(onDisk, expected)
                stale.append("\(url.path) differs from a fresh generation (seed \(seed)): first difference at byte \(d.offset), line \(d.line)")
            }
        } catch {
            stale.append("\(error)")
        }
    }
    if !stale.isEmpty {
        fail(stale.map { "make-data --check: " + $0 }.joined(separator: "\n")
             + "\nRegenerate with `swift run make-data`.", code: 1)
    }
    print("data is up to date (seed \(seed))")
} else {
    do {
        let written = try DataFiles.writePretrain(to: dataDir, seed: seed) + DataFiles.writeMidtrain(to: dataDir, seed: seed)
            + DataFiles.writeSFT(to: dataDir, seed: seed) + DataFiles.writeDPO(to: dataDir, seed: seed)
            + DataFiles.writeRL(to: dataDir, seed: seed) + DataFiles.writeTools(to: dataDir, seed: seed)
        for f in written {
            print("wrote \(f.url.path)  \(formatted(f.bytes)) bytes  \(formatted(f.documents)) documents")
        }
        print("seed \(seed), \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
    } catch {
        fail("make-data: \(error)", code: 1)
    }
}
