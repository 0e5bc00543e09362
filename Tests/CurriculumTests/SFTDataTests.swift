import Foundation
import Testing
import Curriculum
import TinyGPT

/// The SFT conversations (data/sft): reproducible, well-formed, held-out by construction.
@Suite struct SFTDataTests {
    typealias Task = Conversations.Task

    /// The fact lines SFT rehearses are mid-training's own, for every fact, trained whole,
    /// about one per `conversationsPerFactLine` conversations.
    @Test func factLinesAreMidTrainingsOwn() throws {
        let tok = Tokenizer.standard, world = World.standard
        let lines = try SFT.factLines(copies: 2)
        #expect(lines.count == 2 * world.facts.count)
        let texts = Set(lines.map { tok.decode($0.tokens) })
        #expect(texts.count == world.facts.count, "each fact twice")
        let fact = try #require(world.facts.first)
        #expect(texts.contains("<|bos|>Q: \(fact.question) A: \(fact.answer)\n"))
        // The documents mid-training learned from write facts this way.
        let mid = MidtrainCorpus.generate(seed: DataFiles.defaultSeed)
        for f in world.facts { #expect(mid.train.contains(MidtrainCorpus.factLine(f) + "\n"), "\(f.question) is in mid-training's text") }
        for line in lines { #expect(line.trained == [false] + Array(repeating: true, count: line.tokens.count - 1)) }
        #expect(try SFT.factLines(copies: 0).isEmpty)
        // One line per `conversationsPerFactLine` conversations, to within one copy of every fact.
        let rows = 19_600, copies = SFT.factLineCopies(conversations: rows)
        #expect(copies > 0 && abs(copies * world.facts.count * SFT.conversationsPerFactLine - rows) <= world.facts.count * SFT.conversationsPerFactLine / 2)
    }

    /// The default think stage trains on the packed rows; instruct, and every quick stage, on
    /// the conversations alone, unless told to rehearse.
    @Test func stageRowsCarryTheFactLines() throws {
        let splits = try SFT.data(), block = GPTConfig.classroom().blockSize
        let stage = SFT.Stage(.think, quick: false, seed: 1)
        var plain = stage
        plain.rehearseFacts = false
        let with = try stage.trainingRows(splits, blockSize: block), without = try plain.trainingRows(splits, blockSize: block)
        #expect(with.count == without.count)
        let extra = zip(with, without).map { $0.0.tokens.count - $0.1.tokens.count }.reduce(0, +)
        let lines = try SFT.factLines(copies: SFT.factLineCopies(conversations: without.count))
        #expect(extra == lines.map(\.tokens.count).reduce(0, +))
        #expect(stage.rehearseFacts && !plain.rehearseFacts)
        #expect(!SFT.Stage(.instruct, quick: false, seed: 1).rehearseFacts, "instruct is the plain recipe, lesson03's contrast (GUIDE ch03, exercise 5, changes it)")
        #expect(!SFT.Stage(.think, quick: true, seed: 1).rehearseFacts && !SFT.Stage(.instruct, quick: true, seed: 1).rehearseFacts)
        var instruct = SFT.Stage(.instruct, quick: false, seed: 1)
        let instructPlain = try instruct.trainingRows(splits, blockSize: block)
        instruct.rehearseFacts = true
        #expect(try instruct.trainingRows(splits, blockSize: block) != instructPlain, "instruct packs the lines when told to")
    }

    /// Each fact line rides at the end of one of the shortest conversations: the rows keep
    /// their count and their conversations, and each line keeps its own loss mask.
    @Test func factLinesRideOnTheShortestConversations() throws {
        let splits = try SFT.data(), block = GPTConfig.classroom().blockSize
        let rows = try SFT.render(SFT.trainingSet(.think, splits, quick: false), mask: .assistant, blockSize: block)
        let lines = try SFT.factLines(copies: SFT.factLineCopies(conversations: rows.count))
        let packed = try SFT.packFactLines(lines, into: rows, blockSize: block)
        #expect(packed.count == rows.count)
        var carrying: [Int] = []
        for (i, (p, r)) in zip(packed, rows).enumerated() {
            #expect(Array(p.tokens.prefix(r.tokens.count)) == r.tokens && Array(p.trained.prefix(r.trained.count)) == r.trained)
            #expect(p.tokens.count == p.trained.count)
            if p.tokens.count > r.tokens.count { carrying.append(i) }
        }
        #expect(carrying.count == lines.count, "one line per carrying row")
        // The carriers are the shortest rows: none left out is shorter than one chosen.
        let longestCarrier = carrying.map { rows[$0].tokens.count }.max() ?? 0
        let chosen = Set(carrying)
        #expect(rows.indices.filter { !chosen.contains($0) }.allSatisfy { rows[$0].tokens.count >= longestCarrier })
        #expect(throws: DataFiles.DataError.self) { try SFT.packFactLines(lines, into: Array(rows.prefix(lines.count - 1)), blockSize: block) }
        #expect(try SFT.packFactLines([], into: rows, blockSize: block) == rows)
    }

    @Test func committedFilesEqualAFreshGeneration() throws {
        guard let dir = DataFiles.defaultDataDirectory() else { Issue.record("no data/ folder"); return }
        for file in DataFiles.sftFiles() {
            let onDisk = try DataFiles.loadText(dir.appendingPathComponent(file.path))
            #expect(onDisk == file.text, "\(file.path) differs from a fresh generation: run `swift run make-data`")
        }
    }

    @Test func filesParseBackToTheGeneratedConversations() throws {
        let fresh = Conversations.generate(seed: DataFiles.defaultSeed)
        let text = Conversations.jsonl(fresh.thinkValid)
        #expect(try Conversations.parse(text, file: "think_valid.jsonl") == fresh.thinkValid)
        #expect(fresh.instructValid.count == Task.allCases.count * Conversations.validCount)
        for task in Task.allCases {
            #expect(fresh.instructTrain.filter { $0.task == task }.count == Conversations.trainCounts[task])
        }
    }

    /// A task whose held-out answers are mostly one value measures a guess, not a skill.
    /// For a closed question with k possible answers (count: 0, 1 or 2; palindrome: yes or
    /// no), no single answer may be right more than 1/k + 0.15 of the held-out time.
    @Test func closedAnswersAreNotGuessable() throws {
        let fresh = Conversations.generate(seed: DataFiles.defaultSeed)
        for (task, k) in [(Task.count, 3), (.palindrome, 2)] {
            let answers = fresh.instructValid.filter { $0.task == task }.map(\.reply)
            #expect(Set(answers).count == k, "\(task): answers \(Set(answers).sorted())")
            let commonest = Dictionary(grouping: answers, by: { $0 }).values.map(\.count).max() ?? 0
            #expect(Double(commonest) / Double(max(answers.count, 1)) <= 1 / Double(k) + 0.15,
                    "\(task): the commonest answer is \(commonest) of \(answers.count)")
        }
    }

    @Test func aMalformedLineIsAnErrorNamingFileAndLine() {
        let good = #"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"yes"}],"task":"palindrome"}"#
        let cases = [
            ("{not json", "not a JSON object"),
            (#"{"task":"fact"}"#, "messages"),
            (#"{"messages":[{"role":"user"}],"task":"fact"}"#, "content"),
            (#"{"messages":[{"role":"system","content":"x"}],"task":"fact"}"#, "role"),
            (#"{"messages":[{"role":"assistant","content":"x"}],"task":"fact"}"#, "alternate"),
            (#"{"messages":[{"role":"user","content":"x"}],"task":"poetry"}"#, "task"),
        ]
        for (bad, mentions) in cases {
            do {
                _ = try Conversations.parse(good + "\n" + bad + "\n", file: "data/sft/x.jsonl")
                Issue.record("accepted a malformed line: \(bad)")
            } catch {
                let message = "\(error)"
                #expect(message.contains("data/sft/x.jsonl line 2"), "\(message)")
                #expect(message.contains(mentions), "\(message)")
            }
        }
    }

    @Test func thinkRepliesAreATraceThenTheInstructAnswer() {
        let s = Conversations.generate(seed: DataFiles.defaultSeed)
        for (i, t) in zip(s.instructValid, s.thinkValid) {
            #expect(i.question == t.question)
            // Requests about pets have nothing to work out: both styles answer directly.
            #expect(t.task == .care ? t.reply == i.reply : t.reply.hasPrefix("<think>") && t.reply.contains("</think>"))
            #expect(Verifier.split(t.reply).answer == i.reply, "\(t.question)")
            #expect(!i.reply.contains("<think>"))
        }
    }

    @Test func columnTracesEndWithTheRightAnswer() {
        for (a, b) in [(247, 538), (947, 538), (99, 1), (62, 17), (100, 1), (5, 5)] {
            #expect(Conversations.columnTrace(a, .plus, b).hasSuffix("; so \(a + b)"))
            let (x, y) = (max(a, b), min(a, b))
            #expect(Conversations.columnTrace(x, .minus, y).hasSuffix("; so \(x - y)"))
        }
        #expect(Conversations.columnTrace(247, .plus, 538) == "ones 7+8=15, carry 1; tens 4+3+1=8; hundreds 2+5=7; so 785")
        #expect(Conversations.columnTrace(62, .minus, 17) == "ones borrow 12-7=5; tens 6-1-1=4; so 45")
        #expect(Conversations.columnTrace(947, .plus, 538) == "ones 7+8=15, carry 1; tens 4+3+1=8; hundreds 9+5=14, carry 1; thousands 1; so 1485")
    }

    @Test func everyConversationFitsTheQuickMidModelsContext() throws {
        let s = Conversations.generate(seed: DataFiles.defaultSeed)
        for c in s.thinkTrain + s.thinkValid + s.instructTrain {
            let n = try ChatTemplate.render(c.messages).tokens.count
            #expect(n <= 129, "\(c.task) is \(n) tokens: \(c.question)")
        }
    }

    /// The numbers in a question, in order.
    func numbers(_ q: String) -> [Int] { q.split { !$0.isNumber }.compactMap { Int($0) } }

    @Test func heldOutItemsNeverAppearInTraining() {
        let s = Conversations.generate(seed: DataFiles.defaultSeed)
        #expect(Set(s.instructTrain.map(\.question)).isDisjoint(with: Set(s.instructValid.map(\.question))))
        let facts = World.standard.facts
        for (heldOut, list) in [(false, s.thinkTrain), (true, s.thinkValid)] {
            for c in list {
                let n = numbers(c.question)
                let trace = Verifier.split(c.reply).thought ?? ""
                // The word a string task is about: the trace spells it first ("k-i-t-e ...").
                let word = String(trace.prefix { $0 != " " && $0 != ":" }).replacingOccurrences(of: "-", with: "")
                    .replacingOccurrences(of: #"\(\d+\)"#, with: "", options: .regularExpression)
                switch c.task {
                case .arithmetic: #expect(Arithmetic.isHeldOut(n[0], n[1]) == heldOut, "\(c.question)")
                case .add3: #expect(Conversations.isHeldOutAdd3(n[0], n[1]) == heldOut, "\(c.question)")
                case .twoStep:
                    let ops = c.question.filter { $0 == "+" || $0 == "-" }.map(String.init)
                    #expect(Conversations.isHeldOutExpression("\(n[0]) \(ops[0]) \(n[1]) \(ops[1]) \(n[2])") == heldOut, "\(c.question)")
                case .reverse, .palindrome, .count, .uppercase:
                    #expect(Conversations.isHeldOutWord(word) == heldOut, "\(c.question): \(word)")
                case .fact:
                    let fact = facts.first { c.question.contains($0.question) }
                    #expect(fact.map(Conversations.isHeldOut) == heldOut, "\(c.question)")
                case .care:
                    // About a pet of one of lesson04's held-out owners iff held out; no trace;
                    // the only harmful request SFT sees is "hurt", and it is refused.
                    let owner = World.standard.people.first { c.question.contains($0.pet.name) || c.question.contains($0.name + "'s") }
                    #expect(owner.map { PreferenceData.isHeldOutOwner($0.name) } == heldOut, "\(c.question)")
                    #expect(!c.reply.contains("<think>"), "\(c.reply)")
                    #expect(PreferenceData.isRefusal(c.reply) == PreferenceData.asksForHarmShownInSFT(c.question), "\(c.question) -> \(c.reply)")
                    #expect(c.question.contains(" hurt ") == PreferenceData.asksForHarmShownInSFT(c.question), "\(c.question)")
                }
            }
        }
        // Every task has held-out questions, and the fact split leaves facts on both sides.
        #expect(facts.filter(Conversations.isHeldOut).count >= 8)
        #expect(facts.filter { !Conversations.isHeldOut($0) }.count >= 60)
    }
}
