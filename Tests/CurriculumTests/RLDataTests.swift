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
        for cell in RLData.Cell.all {
            #expect(fresh.train.filter { $0.cell == cell }.count == RLData.trainPerCell, "\(cell) training prompts")
            #expect(fresh.valid.filter { $0.cell == cell }.count == RLData.validCount, "\(cell) held-out prompts")
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
    func chainExpression(_ prompt: String) -> String {
        let (n, o) = expression(prompt)
        return zip(o, n.dropFirst()).reduce("\(n[0])") { $0 + " \($1.0) \($1.1)" }
    }

    /// Does a - b (same number of digits) borrow? Exactly when some digit of b is larger than a's.
    func borrows(_ a: Int, _ b: Int) -> Bool {
        zip(String(a), String(b)).contains { x, y in x < y }
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
            case (let k, let o) where k >= 3 && o.count == k - 1:
                value = zip(o, n.dropFirst()).reduce(n[0]) { $0 + ($1.0 == "+" ? $1.1 : -$1.1) }
            default: value = nil
            }
            #expect(value == p.answer, "\(p.prompt) -> \(p.answer)")
            #expect(p.answer >= 0)
            // The rung is what its title says: digits, borrows, operations.
            let digits = Set(n.map { String($0).count })
            switch (p.family, p.rung) {
            case (.same, let r): #expect(n.count == 2 && n[0] == n[1] && digits == [r + 1], "\(p.prompt)")
            case (.add, let r): #expect(n.count == 2 && digits == [r], "\(p.prompt)")
            case (.sub, let r):
                #expect(n.count == 2 && n[0] != n[1] && digits == [[1, 2, 3, 3, 4][r - 1]], "\(p.prompt)")
                let (a, b) = p.prompt.hasPrefix("Subtract") ? (n[1], n[0]) : (n[0], n[1])
                if r == 3 { #expect(!borrows(a, b), "\(p.prompt)") }
                if r == 4 { #expect(borrows(a, b), "\(p.prompt)") }
            case (.chain, let r): #expect(n.count == r + 2 && digits == [2] && p.answer <= 99, "\(p.prompt)")
            }
        }
    }

    @Test func heldOutProblemsAreDisjointFromTrainingAndFromEveryTrainingStage() throws {
        let s = RLData.generate(seed: DataFiles.defaultSeed)
        let trainPrompts = Set(s.train.map(\.prompt))
        #expect(s.valid.allSatisfy { !trainPrompts.contains($0.prompt) }, "no held-out prompt appears in RL training")
        #expect(Set(s.valid.map(\.prompt)).count == s.valid.count, "each held-out question is asked once")
        // Held-out problems take turns by family, so any prefix is balanced.
        let cells = RLData.Cell.all
        #expect(s.valid.prefix(2 * cells.count).map(\.cell) == cells + cells)
        // Held-out items are held out by the SFT files' rules, so no earlier stage trained on them either.
        for p in s.valid {
            let n = expression(p.prompt).numbers
            switch p.family {
            case .same: #expect(RLData.isHeldOutSame(n[0]), "\(p.prompt)")
            case .add, .sub:
                let pairRule = max(n[0], n[1]) <= 9 ? RLData.isHeldOutPair(n[0], n[1])
                    : max(n[0], n[1]) <= 99 ? Arithmetic.isHeldOut(n[0], n[1]) : Conversations.isHeldOutAdd3(n[0], n[1])
                #expect(pairRule, "\(p.prompt)")
            case .chain: #expect(Conversations.isHeldOutExpression(chainExpression(p.prompt)), "\(p.prompt)")
            }
        }
        for p in s.train {
            let n = expression(p.prompt).numbers
            switch p.family {
            case .same: #expect(!RLData.isHeldOutSame(n[0]), "\(p.prompt)")
            case .add, .sub:
                let pairRule = max(n[0], n[1]) <= 9 ? RLData.isHeldOutPair(n[0], n[1])
                    : max(n[0], n[1]) <= 99 ? Arithmetic.isHeldOut(n[0], n[1]) : Conversations.isHeldOutAdd3(n[0], n[1])
                #expect(!pairRule, "\(p.prompt)")
            case .chain: #expect(!Conversations.isHeldOutExpression(chainExpression(p.prompt)), "\(p.prompt)")
            }
        }
        let sft = Conversations.generate(seed: DataFiles.defaultSeed)
        let sftTrain = Set((sft.instructTrain + sft.thinkTrain).map(\.question))
        #expect(s.valid.allSatisfy { !sftTrain.contains($0.prompt) }, "no held-out RL prompt is an SFT training question")
    }

    @Test func aMalformedLineIsAnErrorNamingFileAndLine() {
        let good = #"{"prompt":"What is 4 + 5?","answer":9,"family":"add","rung":1}"#
        let cases = [
            ("{not json", "not a JSON object"),
            (#"{"answer":9,"family":"add"}"#, "prompt"),
            (#"{"prompt":"What is 4 + 5?","answer":"9","family":"add"}"#, "integer"),
            (#"{"prompt":"What is 4 + 5?","answer":9.5,"family":"add"}"#, "integer"),
            (#"{"prompt":"What is 4 + 5?","answer":9,"family":"poetry","rung":1}"#, "family"),
            (#"{"prompt":"What is 4 + 5?","answer":9,"family":"add"}"#, "rung"),
            (#"{"prompt":"What is 4 + 5?","answer":9,"family":"add","rung":7}"#, "rung"),
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
