import Testing
@testable import Curriculum

@Suite("facts kept through SFT")
struct FactsKeptTests {
    @Test("kept counts only facts the mid model knew; a chat model's lucky extras are counted apart")
    func counting() {
        let m = FactsKept.Measurement(mid: [true, true, false, false, true], chat: [true, false, true, false, true])
        #expect(m.asked == 5)
        #expect(m.knownByMid == 3)
        #expect(m.kept == 2)
        #expect(m.gained == 1)
        #expect(abs(m.keptRate - 2.0 / 3.0) < 1e-12)
        #expect(abs(m.midRate - 0.6) < 1e-12)
        let nothingKnown = FactsKept.Measurement(mid: [false, false], chat: [true, true])
        #expect(nothingKnown.keptRate == 0 && nothingKnown.gained == 2)
        #expect(FactsKept.metrics(nothingKnown)["facts_kept"] == nil, "nothing to keep: no facts_kept")
        #expect(FactsKept.metrics(m)["facts_kept"] == m.keptRate)
    }

    @Test("the facts asked are held out: no SFT training conversation asks one of them")
    func heldOutFactsAreNeverTrained() throws {
        let facts = FactsKept.heldOutFacts()
        #expect(facts.count >= 10, "enough held-out facts for a rate: \(facts.count)")
        let splits = try SFT.data()
        let trainedQuestions = (splits.instructTrain + splits.thinkTrain).filter { $0.task == .fact }.map(\.question)
        #expect(!trainedQuestions.isEmpty)
        for fact in facts {
            #expect(!trainedQuestions.contains { $0.contains(fact.question) }, "trained on held-out \(fact.question)")
        }
    }
}
