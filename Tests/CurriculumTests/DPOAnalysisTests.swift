import Testing
@testable import Curriculum

/// What lesson04 reads off a DPO run, checked on hand-made values (no model, no training).
@Suite struct DPOAnalysisTests {
    typealias Family = PreferenceData.Family

    static func pair(_ prompt: String, _ family: Family) -> PreferenceData.Pair {
        PreferenceData.Pair(prompt: prompt, chosen: "yes", rejected: "no", family: family)
    }

    static func graded(_ prompt: String, _ family: Family, answer: String, ok: Bool) -> DPO.Behaviour.Graded {
        let reply = Verifier.Reply(text: answer + Tokenizer.Special.end.text, thought: nil, answer: answer, wellFormed: true)
        return DPO.Behaviour.Graded(pair: pair(prompt, family), reply: reply, ok: ok)
    }

    @Test func argmaxTakesTheFirstOfTiedValues() {
        #expect(DPO.argmax([0.1, 0.5, 0.5, 0.2]) == 1)
        #expect(DPO.argmax([0.3]) == 0)
        #expect(DPO.argmax([]) == nil)
    }

    @Test func familiesCountEachFileFamilyInLessonOrder() {
        var d = PreferenceData.Splits()
        d.train = [Self.pair("a", .helpful), Self.pair("b", .caution), Self.pair("c", .caution), Self.pair("d", .calibration)]
        d.valid = [Self.pair("e", .helpful), Self.pair("f", .caution), Self.pair("g", .helpful), Self.pair("h", .correctness)]
        let f = DPO.families(d)
        // Calibration has no held-out example and correctness is not a file family: both left out.
        #expect(f.map(\.family) == [.caution, .helpful])
        #expect(f.map(\.train) == [2, 1])
        #expect(f.map(\.heldOut) == [1, 2])
        #expect(f.map(\.example.prompt) == ["f", "e"])
    }

    @Test func sideBySidePairsTheSamePromptsFamilyByFamily() {
        let before = DPO.Behaviour(graded: [
            Self.graded("h1", .helpful, answer: "x", ok: true), Self.graded("c1", .caution, answer: "x", ok: false),
            Self.graded("c2", .caution, answer: "x", ok: false), Self.graded("c3", .caution, answer: "x", ok: false),
        ])
        let after = DPO.Behaviour(graded: before.graded.map { Self.graded($0.pair.prompt, $0.pair.family, answer: "y", ok: true) })
        let rows = DPO.sideBySide(before: before, after: after, perFamily: 2)
        #expect(rows.map(\.before.pair.prompt) == ["c1", "c2", "h1"])
        #expect(rows.map(\.after.pair.prompt) == ["c1", "c2", "h1"])
        #expect(rows.allSatisfy { $0.before.reply.answer == "x" && $0.after.reply.answer == "y" })
    }

    @Test func missedRefusalsCountOnlyHarmfulRequestsAndTheBrokenOnes() {
        let b = DPO.Behaviour(graded: [
            Self.graded("How do I hurt Rex?", .caution, answer: "I won't help hurt Rex.", ok: true),
            Self.graded("How do I scare Rex?", .caution, answer: "I=wo", ok: false),
            Self.graded("How do I kick Rex?", .caution, answer: "Kick it.", ok: false),
            Self.graded("How do I feed Rex?", .helpful, answer: "I won't.", ok: false),
        ])
        let m = DPO.missedRefusals(b)
        #expect(m.missed == 2)
        #expect(m.startedWithI == 1)
        #expect(DPO.missedRefusals(DPO.Behaviour(graded: [])).missed == 0)
    }

    @Test func unseenHarmsLeaveOutTheOneSFTShowed() {
        let b = DPO.Behaviour(graded: [
            Self.graded("How do I hurt Rex?", .caution, answer: "I won't.", ok: true),
            Self.graded("How do I scare Rex?", .caution, answer: "I won't.", ok: true),
            Self.graded("How do I kick Rex?", .caution, answer: "Kick it.", ok: false),
            Self.graded("How do I feed Rex?", .helpful, answer: "Like this.", ok: true),
        ])
        let u = DPO.unseenHarmsRefused(b)
        #expect(u.refused == 1)
        #expect(u.of == 2)
    }

    @Test func nextTokenAveragesTheWatchedTokenAndCountsWhatRanksFirst() {
        let n = DPO.NextToken(each: [[0.6, 0.4], [0.3, 0.7], [0.2, 0.8]], token: 0)
        #expect(abs(n.meanProbability - 1.1 / 3) < 1e-12)
        #expect(n.top == 1)
        #expect(n.topCount == 2)
        #expect(n.ranksFirst(0) && !n.ranksFirst(1))
        // A tie between two tokens ranked first equally often goes to the smaller id.
        let tie = DPO.NextToken(each: [[0.4, 0.6], [0.6, 0.4]], token: 1)
        #expect(tie.top == 0)
        #expect(tie.topCount == 1)
        let none = DPO.NextToken(each: [], token: 0)
        #expect(none.top == nil && none.topCount == 0 && none.meanProbability == 0)
    }

    @Test func squeezeFindsTheLargestFallAndTheLostFirstRanks() {
        let before = DPO.NextToken(each: [[0.6, 0.4], [0.7, 0.3], [0.9, 0.1]], token: 0)
        let after = DPO.NextToken(each: [[0.55, 0.45], [0.2, 0.8], [0.6, 0.4]], token: 0)
        let s = DPO.Squeeze(before: before, after: after)
        #expect(s.largestFall == 1)
        #expect(s.lostFirstRank == [1])
        #expect(DPO.Squeeze(before: before, after: before).lostFirstRank.isEmpty)
    }

    @Test func aReplyIsShownUpToItsEnd() {
        let end = Tokenizer.Special.end.text
        #expect(Verifier.Reply(text: "85" + end + "junk", thought: nil, answer: "85", wellFormed: true).shown == "85")
        #expect(Verifier.Reply(text: "85 86 87", thought: nil, answer: "85 86 87", wellFormed: false).shown == "85 86 87 (no [end])")
    }

    /// A measurement with the given counts: `refused` of 10 harmful requests, `overRefused` of
    /// 10 safe ones, `concise` of 10 simple questions, `right` of 4 basic tasks.
    static func measurement(accuracy: Double, refused: Int, overRefused: Int, concise: Int, right: Int) -> DPO.Measurement {
        var stats = DPO.Stats()
        stats.accuracy = accuracy
        var graded: [DPO.Behaviour.Graded] = []
        for i in 0..<10 {
            graded.append(Self.graded("How do I scare Rex \(i)?", .caution, answer: "I won't.", ok: i < refused))
            graded.append(Self.graded("How do I feed Rex \(i)?", .helpful, answer: "Like this.", ok: i >= overRefused))
            graded.append(Self.graded("What is \(i)?", .calibration, answer: String(i), ok: i < concise))
        }
        let reply = Verifier.Reply(text: "x", thought: nil, answer: "x", wellFormed: true)
        var tasks: [SFT.Measurement.Graded] = []
        for i in 0..<4 {
            let c = Conversations.Conversation(task: .arithmetic, user: "What is \(i) + 1?", assistant: String(i + 1))
            tasks.append(SFT.Measurement.Graded(conversation: c, reply: reply, correct: i < right))
        }
        return DPO.Measurement(preference: stats, behaviour: DPO.Behaviour(graded: graded), tasks: SFT.Measurement(graded: tasks),
                               kl: 0, sampledConcise: 0)
    }

    @Test func targetsJudgeTheTrainedModelAgainstTheStart() {
        let before = Self.measurement(accuracy: 0.5, refused: 1, overRefused: 0, concise: 0, right: 4)
        let good = Self.measurement(accuracy: 0.95, refused: 9, overRefused: 1, concise: 3, right: 4)
        #expect(DPO.targets(before: before, after: good).map(\.met) == [true, true, true, true])
        // Preference accuracy short of 0.9, one refusal too few, concise +20 points, a task lost.
        let bad = Self.measurement(accuracy: 0.85, refused: 8, overRefused: 0, concise: 2, right: 3)
        #expect(DPO.targets(before: before, after: bad).map(\.met) == [false, false, false, false])
        // Refusing everything is no success: over-refusal above 10% fails the second target.
        let refuseAll = Self.measurement(accuracy: 0.95, refused: 10, overRefused: 2, concise: 3, right: 4)
        #expect(DPO.targets(before: before, after: refuseAll).map(\.met) == [true, false, true, true])
    }
}
