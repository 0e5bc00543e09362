import Foundation
import Testing
import Curriculum

/// The SFT conversations (data/sft): reproducible, well-formed, held-out by construction.
@Suite struct SFTDataTests {
    typealias Task = Conversations.Task

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
