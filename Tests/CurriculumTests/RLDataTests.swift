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

    /// The problem as mid-training's text writes it (`Problem.expression`), taken apart:
    /// "Subtract 27 from 58." -> "58 - 27" -> ([58, 27], ["-"]).
    func terms(_ p: RLData.Problem) -> (numbers: [Int], ops: [String]) {
        let parts = (p.expression ?? "").split(separator: " ").map(String.init)
        return (parts.enumerated().filter { $0.offset % 2 == 0 }.compactMap { Int($0.element) },
                parts.enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
    }

    /// Does a - b (same number of digits) borrow? Exactly when some digit of b is larger than a's.
    func borrows(_ a: Int, _ b: Int) -> Bool {
        zip(String(a), String(b)).contains { x, y in x < y }
    }

    @Test func everyAnswerIsTheValueOfItsQuestion() {
        let s = RLData.generate(seed: DataFiles.defaultSeed)
        for p in s.train + s.valid {
            let (n, ops) = terms(p)
            // Read back from every phrasing, the expression evaluates to the answer.
            let value = n.isEmpty || ops.count != n.count - 1 ? nil
                : zip(ops, n.dropFirst()).reduce(n[0]) { $0 + ($1.0 == "+" ? $1.1 : -$1.1) }
            #expect(value == p.answer, "\(p.prompt) (read as \(p.expression ?? "nothing")) -> \(p.answer)")
            #expect(p.answer >= 0)
            // The rung is what its title says: digits, borrows, operations.
            let digits = Set(n.map { String($0).count })
            switch (p.family, p.rung) {
            case (.same, let r): #expect(n.count == 2 && n[0] == n[1] && digits == [r + 1], "\(p.prompt)")
            case (.add, let r): #expect(n.count == 2 && digits == [r], "\(p.prompt)")
            case (.sub, let r):
                #expect(n.count == 2 && n[0] != n[1] && digits == [[1, 2, 3, 3, 4][r - 1]], "\(p.prompt)")
                let (a, b) = (n[0], n[1])
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
            let n = terms(p).numbers
            switch p.family {
            case .same: #expect(RLData.isHeldOutSame(n[0]), "\(p.prompt)")
            case .add, .sub:
                let pairRule = max(n[0], n[1]) <= 9 ? RLData.isHeldOutPair(n[0], n[1])
                    : max(n[0], n[1]) <= 99 ? Arithmetic.isHeldOut(n[0], n[1]) : Conversations.isHeldOutAdd3(n[0], n[1])
                #expect(pairRule, "\(p.prompt)")
            case .chain: #expect(Conversations.isHeldOutExpression(p.expression ?? ""), "\(p.prompt)")
            }
        }
        for p in s.train {
            let n = terms(p).numbers
            switch p.family {
            case .same: #expect(!RLData.isHeldOutSame(n[0]), "\(p.prompt)")
            case .add, .sub:
                let pairRule = max(n[0], n[1]) <= 9 ? RLData.isHeldOutPair(n[0], n[1])
                    : max(n[0], n[1]) <= 99 ? Arithmetic.isHeldOut(n[0], n[1]) : Conversations.isHeldOutAdd3(n[0], n[1])
                #expect(!pairRule, "\(p.prompt)")
            case .chain: #expect(!Conversations.isHeldOutExpression(p.expression ?? ""), "\(p.prompt)")
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
