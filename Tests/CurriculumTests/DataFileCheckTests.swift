import Foundation
import Testing
import Curriculum

/// A data folder of its own, with `files` (path relative to it -> text) written in.
func badDataFolder(_ name: String, _ files: [String: String]) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bad-data-\(getpid())/\(name)")
    try? FileManager.default.removeItem(at: dir)
    for (path, text) in files {
        let url = dir.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
    return dir
}

/// `body` must throw a DataError whose message names `file` and contains every fragment.
func expectDataError(_ file: URL, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("\(file.path) was accepted", sourceLocation: sourceLocation)
    } catch let error as DataFiles.DataError {
        for fragment in [file.path] + fragments {
            #expect(error.description.contains(fragment), "\(error.description)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a DataError, got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Bad data files are refused when loaded, naming the file")
struct DataFileCheckTests {
    /// Enough documents for every window of the quick recipe.
    static let story = String(repeating: "Mia has a red kite. Tom has a dog.\n\n", count: 100)

    @Test("an empty held-out pretraining file")
    func emptyPretrainValid() throws {
        let dir = try badDataFolder("empty-valid", [DataFiles.pretrainTrain: Self.story, DataFiles.pretrainValid: ""])
        expectDataError(dir.appendingPathComponent(DataFiles.pretrainValid), ["empty"]) {
            _ = try Pretrain.data(in: dir, quick: true)
        }
    }

    @Test("pretraining text shorter than one training window, held-out text shorter than one batch")
    func shortPretrain() throws {
        let short = try badDataFolder("short-train", [DataFiles.pretrainTrain: "Mia has a kite.\n", DataFiles.pretrainValid: Self.story])
        expectDataError(short.appendingPathComponent(DataFiles.pretrainTrain), ["too few", "training window"]) {
            _ = try Pretrain.data(in: short, quick: true)
        }
        let shortValid = try badDataFolder("short-valid", [DataFiles.pretrainTrain: Self.story, DataFiles.pretrainValid: "Mia has a kite.\n"])
        expectDataError(shortValid.appendingPathComponent(DataFiles.pretrainValid), ["too few", "held-out batch"]) {
            _ = try Pretrain.data(in: shortValid, quick: true)
        }
        #expect(throws: Never.self) { _ = try Pretrain.data(in: try badDataFolder("good", [DataFiles.pretrainTrain: Self.story, DataFiles.pretrainValid: Self.story]), quick: true) }
    }

    @Test("a character outside the vocabulary is reported with its file and line")
    func outOfVocabulary() throws {
        let dir = try badDataFolder("accent", [DataFiles.pretrainTrain: "Mia has a kite.\n\nTom went to the caf\u{E9}.\n",
                                               DataFiles.pretrainValid: Self.story])
        expectDataError(dir.appendingPathComponent(DataFiles.pretrainTrain), ["line 3", "U+00E9"]) {
            _ = try DataFiles.loadPretrain(from: dir)
        }
        // In a JSONL file, the line of the record, also when the character is escaped in the JSON.
        let pair = #"{"prompt":"Hi","chosen":"Hello.","rejected":"Go away.","family":"caution"}"#
        let emoji = #"{"prompt":"Hi \ud83d\ude00","chosen":"Hello.","rejected":"Go away.","family":"caution"}"#
        let jsonl = try badDataFolder("emoji", [DataFiles.dpoTrain: pair + "\n" + pair + "\n", DataFiles.dpoValid: pair + "\n\n" + emoji + "\n"])
        expectDataError(jsonl.appendingPathComponent(DataFiles.dpoValid), ["line 3", "U+1F600"]) {
            _ = try DataFiles.loadDPO(from: jsonl)
        }
    }

    @Test("empty held-out JSONL files are an error, not a nan result",
          arguments: [DataFiles.sftThinkValid, DataFiles.dpoValid, DataFiles.rlValid])
    func emptyHeldOut(file: String) throws {
        let conversation = #"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."}],"task":"fact"}"#
        let pair = #"{"prompt":"Hi","chosen":"Hello.","rejected":"Go away.","family":"caution"}"#
        let problem = #"{"prompt":"What is 2 + 3?","answer":5,"family":"add","rung":1}"#
        let line: [String: String] = [
            DataFiles.sftInstructTrain: conversation, DataFiles.sftInstructValid: conversation,
            DataFiles.sftThinkTrain: conversation, DataFiles.sftThinkValid: conversation,
            DataFiles.dpoTrain: pair, DataFiles.dpoValid: pair, DataFiles.rlTrain: problem, DataFiles.rlValid: problem,
        ]
        var files = line.mapValues { $0 + "\n" }
        files[file] = "\n"
        let dir = try badDataFolder("empty-\(file.replacingOccurrences(of: "/", with: "-"))", files)
        expectDataError(dir.appendingPathComponent(file), ["holds no", "empty"]) {
            _ = try DataFiles.loadSFT(from: dir)
            _ = try DataFiles.loadDPO(from: dir)
            _ = try DataFiles.loadRL(from: dir)
        }
    }
}
