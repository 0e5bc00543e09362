import Foundation
import Testing
import Curriculum

/// The RL prompts (data/rl): reproducible, right answers, held-out by construction.
@Suite struct RLDataTests {
    typealias Family = RLData.Family

    @Test func committedFilesEqualAFreshGeneration() throws {
        guard let dir = DataFiles.defaultDataDirectory() else { Issue.record("no data/ folder"); return }
        for file in DataFiles.rlFiles() {
            let onDisk = try DataFiles.loadText(dir.appendingPathComponent(file.path))
            #expect(onDisk == file.text, "\(file.path) differs from a fresh generation: run `swift run make-data`")
        }
    }

    @Test func filesParseBackToTheGeneratedProblems() throws {
        let fresh = RLData.generate(seed: DataFiles.defaultSeed)
        #expect(try RLData.parse(RLData.jsonl(fresh.train), file: "train.jsonl") == fresh.train)
        #expect(try RLData.parse(RLData.jsonl(fresh.valid), file: "valid.jsonl") == fresh.valid)
        for family in Family.allCases {
            #expect(fresh.train.filter { $0.family == family }.count == RLData.trainCounts[family] ?? 0, "\(family) training prompts")
            #expect(fresh.valid.filter { $0.family == family }.count == RLData.validCount, "\(family) held-out prompts")
        }
    }

    /// The numbers of a question, in order, and its operators: "What is 247 plus 538?" -> ([247, 538], ["+"]).
    func expression(_ prompt: String) -> (numbers: [Int], ops: [String]) {
        let words = prompt.replacingOccurrences(of: "?", with: " ").replacingOccurrences(of: ".", with: " ")
            .split(separator: " ").map(String.init)
        let numbers = words.compactMap { Int($0) }
        var ops = words.compactMap { w -> String? in
            switch w {
            case "+", "plus", "Add": return "+"
            case "-", "minus": return "-"
            default: return nil
            }
        }
        if prompt.hasPrefix("Subtract") { ops = ["from"] }
        return (numbers, ops)
    }

    /// "Compute 23 + 45 - 17." -> "23 + 45 - 17", the string the split rule hashes.
    func twoStepExpression(_ prompt: String) -> String {
        let (n, o) = expression(prompt)
        return "\(n[0]) \(o[0]) \(n[1]) \(o[1]) \(n[2])"
    }

    @Test func everyAnswerIsTheValueOfItsQuestion() {
        let s = RLData.generate(seed: DataFiles.defaultSeed)
        for p in s.train + s.valid {
            let (n, ops) = expression(p.prompt)
            var value: Int?
            switch (n.count, ops) {
            case (2, ["from"]): value = n[1] - n[0]  // "Subtract 27 from 52."
            case (2, ["+"]): value = n[0] + n[1]
            case (2, ["-"]): value = n[0] - n[1]
            case (3, let o) where o.count == 2: value = (o[0] == "+" ? n[0] + n[1] : n[0] - n[1]) + (o[1] == "+" ? n[2] : -n[2])
            default: value = nil
            }
            #expect(value == p.answer, "\(p.prompt) -> \(p.answer)")
            #expect(p.answer >= 0)
            switch p.family {
            case .same: #expect(n.count == 2 && n[0] == n[1] && (10...999).contains(n[0]), "\(p.prompt)")
            case .add2: #expect(n.count == 2 && n.allSatisfy { (10...99).contains($0) }, "\(p.prompt)")
            case .add3, .sub3: #expect(n.count == 2 && n.allSatisfy { (100...999).contains($0) }, "\(p.prompt)")
            case .twoStep: #expect(n.count == 3 && n.allSatisfy { (10...99).contains($0) } && p.answer <= 99, "\(p.prompt)")
            }
        }
    }

    @Test func heldOutProblemsAreDisjointFromTrainingAndFromEveryTrainingStage() throws {
        let s = RLData.generate(seed: DataFiles.defaultSeed)
        let trainPrompts = Set(s.train.map(\.prompt))
        #expect(s.valid.allSatisfy { !trainPrompts.contains($0.prompt) }, "no held-out prompt appears in RL training")
        #expect(Set(s.valid.map(\.prompt)).count == s.valid.count, "each held-out question is asked once")
        // Held-out problems take turns by family, so any prefix is balanced.
        let families = RLData.Family.allCases
        #expect(s.valid.prefix(2 * families.count).map(\.family) == families + families)
        // Held-out items are held out by the SFT files' rules, so no earlier stage trained on them either.
        for p in s.valid {
            let n = expression(p.prompt).numbers
            switch p.family {
            case .same: #expect(RLData.isHeldOutSame(n[0]), "\(p.prompt)")
            case .add2: #expect(Arithmetic.isHeldOut(n[0], n[1]), "\(p.prompt)")
            case .add3, .sub3: #expect(Conversations.isHeldOutAdd3(n[0], n[1]), "\(p.prompt)")
            case .twoStep: #expect(Conversations.isHeldOutExpression(twoStepExpression(p.prompt)), "\(p.prompt)")
            }
        }
        for p in s.train {
            let n = expression(p.prompt).numbers
            switch p.family {
            case .same: #expect(!RLData.isHeldOutSame(n[0]), "\(p.prompt)")
            case .add2: #expect(!Arithmetic.isHeldOut(n[0], n[1]), "\(p.prompt)")
            case .add3, .sub3: #expect(!Conversations.isHeldOutAdd3(n[0], n[1]), "\(p.prompt)")
            case .twoStep: #expect(!Conversations.isHeldOutExpression(twoStepExpression(p.prompt)), "\(p.prompt)")
            }
        }
        let sftTrain = Set(Conversations.generate(seed: DataFiles.defaultSeed).instructTrain.map(\.question))
        #expect(s.valid.allSatisfy { !sftTrain.contains($0.prompt) }, "no held-out RL prompt is an SFT training question")
    }

    @Test func aMalformedLineIsAnErrorNamingFileAndLine() {
        let good = #"{"prompt":"What is 4 + 5?","answer":9,"family":"add2"}"#
        let cases = [
            ("{not json", "not a JSON object"),
            (#"{"answer":9,"family":"add2"}"#, "prompt"),
            (#"{"prompt":"What is 4 + 5?","answer":"9","family":"add2"}"#, "integer"),
            (#"{"prompt":"What is 4 + 5?","answer":9.5,"family":"add2"}"#, "integer"),
            (#"{"prompt":"What is 4 + 5?","answer":9,"family":"poetry"}"#, "family"),
        ]
        for (bad, mentions) in cases {
            do {
                _ = try RLData.parse(good + "\n" + bad + "\n", file: "data/rl/x.jsonl")
                Issue.record("accepted a malformed line: \(bad)")
            } catch {
                let message = "\(error)"
                #expect(message.contains("data/rl/x.jsonl line 2"), "\(message)")
                #expect(message.contains(mentions), "\(message)")
            }
        }
    }
}
