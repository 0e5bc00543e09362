import Testing
@testable import Curriculum

/// What lesson05 reads off a GRPO run, checked on hand-made measurements (no model, no training).
@Suite struct GRPOAnalysisTests {
    static func sample(_ right: Bool, answer: String = "1") -> GRPO.Sample {
        let reply = Verifier.Reply(text: answer + Tokenizer.Special.end.text, thought: nil, answer: answer, wellFormed: true)
        return GRPO.Sample(completion: [], reply: reply, reward: right ? 1 : 0, verified: right, advantage: 0)
    }

    /// A held-out problem graded: is the greedy reply right, and how many of its samples are.
    static func graded(_ problem: RLData.Problem, greedy: Bool, rightSamples: Int, of n: Int = 8) -> GRPO.Graded {
        GRPO.Graded(problem: problem, prompt: [], greedy: sample(greedy), samples: (0..<n).map { sample($0 < rightSamples) })
    }

    static func problem(_ i: Int, _ family: RLData.Family = .add, rung: Int = 1) -> RLData.Problem {
        RLData.Problem(prompt: "q\(i)", answer: i, family: family, rung: rung)
    }

    @Test func sharpeningSeparatesSampledBeforeFromNew() {
        let p = (0..<4).map { Self.problem($0) }
        let before = GRPO.Measurement(graded: [
            Self.graded(p[0], greedy: false, rightSamples: 3),  // right sometimes: sharpened
            Self.graded(p[1], greedy: false, rightSamples: 0),  // never right: discovered
            Self.graded(p[2], greedy: true, rightSamples: 8),   // right before: not newly right
            Self.graded(p[3], greedy: false, rightSamples: 2),  // still wrong after
        ], n: 8)
        let after = GRPO.Measurement(graded: [
            Self.graded(p[0], greedy: true, rightSamples: 8), Self.graded(p[1], greedy: true, rightSamples: 5),
            Self.graded(p[2], greedy: true, rightSamples: 8), Self.graded(p[3], greedy: false, rightSamples: 4),
        ], n: 8)
        let s = GRPO.sharpening(before: before, after: after)
        #expect(s == GRPO.Sharpening(newlyRight: 2, discovered: 1))
        #expect(s.sharpened == 1)
        #expect(!s.mostlySharpening)
        #expect(GRPO.Sharpening(newlyRight: 5, discovered: 1).mostlySharpening)
        #expect(GRPO.Sharpening(newlyRight: 0, discovered: 0).mostlySharpening)
    }

    @Test func rungChangesListTargetsThenOthersAndFindWhatFell() {
        let target = RLData.Cell(.add, 1), kept = RLData.Cell(.sub, 1), lost = RLData.Cell(.chain, 1)
        let t = [Self.problem(1, .add), Self.problem(2, .add)]
        let o = [Self.problem(3, .sub), Self.problem(4, .chain), Self.problem(5, .chain)]
        let before = GRPO.Measurement(graded: [Self.graded(t[0], greedy: false, rightSamples: 2),
                                               Self.graded(t[1], greedy: false, rightSamples: 0)], n: 8)
        let after = GRPO.Measurement(graded: [Self.graded(t[0], greedy: true, rightSamples: 8),
                                              Self.graded(t[1], greedy: false, rightSamples: 8)], n: 8)
        let othersBefore = GRPO.Measurement(graded: o.map { Self.graded($0, greedy: true, rightSamples: 0, of: 0) }, n: 0)
        let othersAfter = GRPO.Measurement(graded: [Self.graded(o[0], greedy: true, rightSamples: 0, of: 0),
                                                    Self.graded(o[1], greedy: false, rightSamples: 0, of: 0),
                                                    Self.graded(o[2], greedy: true, rightSamples: 0, of: 0)], n: 0)
        let changes = GRPO.rungChanges(target: [target], others: [kept, lost], before: before, after: after,
                                       othersBefore: othersBefore, othersAfter: othersAfter)
        #expect(changes.map(\.cell) == [target, kept, lost])
        #expect(changes.map(\.room) == [true, false, false])
        #expect(changes[0].pass1.before == 0 && changes[0].pass1.after == 0.5)
        #expect(changes[0].pass8?.before == 0.5 && changes[0].pass8?.after == 1)
        #expect(changes[1].pass8 == nil)
        #expect(changes[2].pass1.before == 1 && changes[2].pass1.after == 0.5)
        #expect(GRPO.fell(changes).map(\.cell) == [lost])
        // A target rung never counts as fallen: its change is the gain being measured.
        #expect(GRPO.fell(changes, by: 0.0).map(\.cell) == [kept, lost])
    }

    @Test func wrongZerosCountOnlyZeroWhereTheAnswerIsNot() {
        func greedy(_ p: RLData.Problem, _ answer: String) -> GRPO.Graded {
            GRPO.Graded(problem: p, prompt: [], greedy: Self.sample(false, answer: answer), samples: [])
        }
        let m = GRPO.Measurement(graded: [greedy(Self.problem(5), "0"), greedy(Self.problem(0), "0"),
                                          greedy(Self.problem(7), "7"), greedy(Self.problem(3), "0")], n: 0)
        #expect(GRPO.wrongZeros(m) == 2)
    }

    @Test func targetsNeedAGainBeyondNoiseAndNoLossElsewhere() {
        let p = (0..<10).map { Self.problem($0) }, o = (10..<20).map { Self.problem($0, .sub) }
        let before = GRPO.Measurement(graded: p.map { Self.graded($0, greedy: false, rightSamples: 2) }, n: 8)
        let others = GRPO.Measurement(graded: o.map { Self.graded($0, greedy: true, rightSamples: 0, of: 0) }, n: 0)
        let start = GRPO.Start(before: before, control: before, others: others)
        // Every problem right after; one other-rung problem lost (100% -> 90%).
        let after = GRPO.Measurement(graded: p.map { Self.graded($0, greedy: true, rightSamples: 8) }, n: 8)
        let othersAfter = GRPO.Measurement(graded: o.enumerated().map { Self.graded($0.1, greedy: $0.0 > 0, rightSamples: 0, of: 0) }, n: 0)
        let t = GRPO.targets(start: start, end: GRPO.End(after: after, others: othersAfter, kl: 0.5))
        #expect(t.map(\.met) == [true, true, true, true, false])
        #expect(t[0].claim == "pass@1 up by 15 points and 3 standard errors (> +15.0 points)")
        #expect(t[4].claim == "the other rungs lose at most 5 points (100% -> 90%)")
        // 2 of 10 right after: +20 points, but 3 standard errors of the difference are 37.9.
        let small = GRPO.Measurement(graded: p.enumerated().map { Self.graded($0.1, greedy: $0.0 < 2, rightSamples: 8) }, n: 8)
        let u = GRPO.targets(start: start, end: GRPO.End(after: small, others: others, kl: 1.5))
        #expect(u.map(\.met) == [false, true, false, true, true])
        #expect(u[0].claim == "pass@1 up by 15 points and 3 standard errors (> +37.9 points)")
    }

    @Test func edgeCountsRungsAndFindsAGroupOfEachKind() {
        func group(_ p: RLData.Problem, right: Int) -> GRPO.Group {
            GRPO.Group(problem: p, prompt: [], samples: (0..<4).map { Self.sample($0 < right) })
        }
        var easy = GRPO.CellEdge(cell: RLData.Cell(.same, 2)), hard = GRPO.CellEdge(cell: RLData.Cell(.add, 4))
        var mixed = GRPO.CellEdge(cell: RLData.Cell(.add, 1))
        easy.always = 3
        hard.never = 2
        mixed.always = 1; mixed.never = 1; mixed.edge = 2
        let groups = [group(Self.problem(0, .add), right: 0), group(Self.problem(1, .add), right: 2), group(Self.problem(2, .add), right: 4)]
        let edge = GRPO.Edge(cells: [easy, hard, mixed], target: [mixed.cell], prompts: [], groups: groups, greedyRight: [false, false, true],
                             groupSize: 4, replies: 12, tokens: 0, seconds: 0)
        #expect(edge.probedCount == 9)
        #expect(edge.edgeCount == 2)
        #expect(edge.alwaysRight == [easy.cell])
        #expect(edge.neverRight == [hard.cell])
        #expect(edge.example(.allWrong)?.problem.answer == 0)
        #expect(edge.example(.atEdge)?.problem.answer == 1)
        #expect(edge.example(.allRight)?.problem.answer == 2)
        let noneRight = GRPO.Edge(cells: [hard], target: [], prompts: [], groups: [groups[0]], greedyRight: [false],
                                  groupSize: 4, replies: 4, tokens: 0, seconds: 0)
        #expect(noneRight.example(.atEdge) == nil && noneRight.example(.allRight) == nil)
    }
}
