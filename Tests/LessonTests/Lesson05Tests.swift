import Foundation
import Testing
import Curriculum
import Kernels
import TinyGPT

/// Exercise checker for lesson05: the verifier as a reward, group-relative advantages,
/// the GRPO token loss and its gradient, and what quick GRPO must achieve.
@Suite("Lesson05: RL with verifiable rewards (GRPO)")
struct Lesson05Tests {
    let tok = Tokenizer.standard

    // MARK: the verifier

    func reward(_ text: String, _ expected: Int) throws -> Double {
        Verifier.reward(Verifier.parse(try tok.encodeWithSpecials(text)), expected: expected)
    }

    @Test("the verifier rewards exactly the right final integer, and nothing else",
          arguments: [
              ("85<|end|>", 85, 1.0),
              (" 85 <|end|>", 85, 1),                                    // spaces around the number are fine
              ("<think>ones 5+0=5; tens 8; so 85</think>85<|end|>", 85, 1),
              ("<think>so 85</think><|end|>", 85, 0),                    // no answer after the trace
              ("<|end|>", 85, 0),                                        // no answer at all
              ("<think>so 85</think>86<|end|>", 85, 0),                  // the trace's number does not count
              ("<think>so 86</think>85<|end|>", 85, 1),                  // only the final answer does
              ("<think>so 85", 85, 0),                                   // the trace never closes
              ("85", 85, 0),                                             // never stopped: ran out of room
              ("85 86<|end|>", 85, 0),                                   // two numbers: a hedge
              ("86 85<|end|>", 85, 0),
              ("85\n86<|end|>", 85, 0),                                  // a second line
              ("85 apples<|end|>", 85, 0),                               // trailing text
              ("85.<|end|>", 85, 0),
              ("085<|end|>", 85, 0),                                     // not the usual spelling
              ("-7<|end|>", -7, 1),                                      // negative numbers
              ("7<|end|>", -7, 0),
              ("-7<|end|>", 7, 0),
              ("- 7<|end|>", -7, 0),
              ("--7<|end|>", -7, 0),
              ("<think>a</think>5<think>b</think>5<|end|>", 5, 0),       // a second trace: malformed
              ("5<|user|>What is 2 + 3?<|end|>", 5, 0),                  // an invented turn: malformed
          ])
    func verifierCases(text: String, expected: Int, want: Double) throws {
        #expect(try reward(text, expected) == want, "\(text.debugDescription) for \(expected)")
    }

    @Test("an <|end|> the model spells out in characters is text, not the end of the reply: it earns nothing")
    func spelledEndEarnsNothing() throws {
        // The characters < | e n d | >, not the special token: the reply never stopped.
        let spelled = Verifier.parse(try tok.encode("85<|end|>"))
        #expect(!spelled.wellFormed)
        #expect(Verifier.finalInteger(spelled) == nil && Verifier.reward(spelled, expected: 85) == 0)
        #expect(Verifier.reward(Verifier.parse(try tok.encodeWithSpecials("85<|end|>")), expected: 85) == 1, "the real token")
    }

    // MARK: advantages and the token loss, by hand

    @Test("group-relative advantages: (r - mean) / (std + eps), the no-std variant, and all-equal groups")
    func advantagesByHand() {
        // One right reply of four: mean 0.25, population std √(0.25·0.75) = 0.4330.
        let a = GRPO.advantages([1, 0, 0, 0], normalizeStd: true, epsilon: 1e-4)
        let std = (0.25 * 0.75).squareRoot()
        #expect(abs(a[0] - 0.75 / (std + 1e-4)) < 1e-12 && abs(a[1] - -0.25 / (std + 1e-4)) < 1e-12)
        #expect(abs(a[0] - 3.0.squareRoot()) < 1e-3 && abs(a[1] + 1 / 3.0.squareRoot()) < 1e-3, "√((1-p)/p) and -√(p/(1-p))")
        #expect(GRPO.advantages([1, 0, 0, 0], normalizeStd: false) == [0.75, -0.25, -0.25, -0.25])
        // Three right of four: the one wrong reply is pushed down hard.
        let b = GRPO.advantages([1, 1, 1, 0], normalizeStd: true, epsilon: 0)
        #expect(abs(b[3] + 3.0.squareRoot()) < 1e-12 && abs(b[0] - 1 / 3.0.squareRoot()) < 1e-12)
        // All equal: no signal, whatever the rewards are.
        #expect(GRPO.advantages([0, 0, 0, 0], normalizeStd: true) == [0, 0, 0, 0])
        #expect(GRPO.advantages([1, 1, 1, 1], normalizeStd: true) == [0, 0, 0, 0])
        #expect(abs(a.reduce(0, +)) < 1e-12, "advantages sum to 0 in a group")
    }

    @Test("one token's loss and gradient weight, by hand: policy gradient, k3 KL and the ratio clip")
    func tokenTermByHand() {
        // π = 0.5, π_old = 0.5 (ρ = 1), π_ref = 0.25 (π_ref/π = 0.5), A = 2, β = 0.1.
        let t = GRPO.tokenTerm(logp: log(0.5), old: log(0.5), ref: log(0.25), advantage: 2, beta: 0.1, clipEpsilon: 0.2)
        let k3 = 0.5 - log(0.5) - 1  // 0.19315
        #expect(abs(t.kl - k3) < 1e-12)
        #expect(abs(t.loss - (-2 + 0.1 * k3)) < 1e-12)
        #expect(abs(t.weight - (2 + 0.1 * (0.5 - 1))) < 1e-12, "ρA + β(π_ref/π - 1) = 1.95")
        #expect(!t.clipped)
        // At the reference the KL term is 0 and so is its gradient.
        let atRef = GRPO.tokenTerm(logp: log(0.3), old: log(0.3), ref: log(0.3), advantage: -1, beta: 1, clipEpsilon: 0.2)
        #expect(atRef.kl == 0 && atRef.weight == -1 && atRef.loss == 1)
        // ρ = 0.5/0.4 = 1.25 > 1 + ε with A > 0: clipped, the policy-gradient term has no gradient.
        let c = GRPO.tokenTerm(logp: log(0.5), old: log(0.4), ref: log(0.25), advantage: 2, beta: 0.1, clipEpsilon: 0.2)
        #expect(c.clipped && abs(c.weight - 0.1 * (0.5 - 1)) < 1e-12 && abs(c.loss - (-1.2 * 2 + 0.1 * k3)) < 1e-12)
        // The same ρ with A < 0 is not clipped (min keeps the worse value, ρA): weight ρA + β(...).
        let d = GRPO.tokenTerm(logp: log(0.5), old: log(0.4), ref: log(0.25), advantage: -1, beta: 0.1, clipEpsilon: 0.2)
        #expect(!d.clipped && abs(d.weight - (-1.25 - 0.05)) < 1e-12)
    }

    @Test("the policy-gradient dLogits by hand: weight × (probs - onehot), on a 3-token vocabulary and in the model")
    func dlogitsByHand() throws {
        // logits (0, ln 2, 0): probs (1/4, 1/2, 1/4); the sampled token is 1; A = 1, β = 0, 4 tokens in the batch.
        let t = GRPO.tokenTerm(logp: log(0.5), old: log(0.5), ref: log(0.5), advantage: 1, beta: 0, clipEpsilon: 0.2)
        var logits: [Float] = [0, Float(log(2.0)), 0], probs = [Float](repeating: 0, count: 3), loss: [Float] = [0]
        var d = [Float](repeating: 0, count: 3)
        let targets: [Int32] = [1], weights = [Float(t.weight / 4)]
        softmax_crossentropy_forward(&loss, &probs, &logits, targets, N: 1, V: 3)
        crossentropy_backward(&d, probs, targets, weights, N: 1, V: 3)
        for (x, want) in zip(d, [0.0625, -0.125, 0.0625]) { #expect(abs(Double(x) - want) < 1e-6, "\(d)") }
        // Descending it raises the sampled token's logit (d < 0 there) and lowers the others.

        // In the model: after forwardBackward, every reply position's dLogits row is
        // weight/N · (probs - onehot) with the weight of `tokenTerm`.
        let policy = perturbed(try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 3), scale: 0.1, seed: 1)
        let reference = perturbed(policy.copy(), scale: 0.1, seed: 2)
        var settings = GRPO.recipe(quick: true, seed: 1)
        settings.beta = 0.3
        var r = try rollout(reference: reference)
        GRPO.forwardBackward(policy, &r, settings: settings)
        // The rows fit in one micro-batch (in order of length): the model's buffers hold all of it.
        let chunks = GRPO.microBatches(r.rows)
        #expect(chunks.count == 1)
        let order = chunks[0]
        let batch = ChatTemplate.batch(order.map { r.rows[$0] })
        let V = tok.vocabSize, n = Double(r.tokenCount)
        var checked = 0
        for (b, row) in order.enumerated() {
            var k = 0
            for pos in 0..<batch.T where batch.targets[b * batch.T + pos] >= 0 {
                let i = b * batch.T + pos, target = Int(batch.targets[i])
                let logp = log(Double(policy.probs[i * V + target]))
                let w = GRPO.tokenTerm(logp: logp, old: Double(r.old![row][k]), ref: Double(r.reference[row][k]),
                                       advantage: r.advantages[row], beta: 0.3, clipEpsilon: 0.2).weight / n
                for v in [0, target, V - 1] {
                    let want = w * (Double(policy.probs[i * V + v]) - (v == target ? 1 : 0))
                    #expect(abs(Double(policy.dlogitsScratch[i * V + v]) - want) < 1e-5 * max(1, abs(want) * 1e3))
                }
                k += 1
                checked += 1
            }
        }
        #expect(checked == r.tokenCount && checked > 20)
    }

    @Test("pass@k from n samples: 1 - C(n-c, k)/C(n, k)")
    func passAtKByHand() {
        #expect(GRPO.passAtK(n: 8, c: 0, k: 8) == 0)
        #expect(GRPO.passAtK(n: 8, c: 1, k: 8) == 1)
        #expect(abs(GRPO.passAtK(n: 8, c: 1, k: 1) - 0.125) < 1e-12)
        #expect(abs(GRPO.passAtK(n: 4, c: 2, k: 2) - (1 - 1.0 / 6)) < 1e-12)
        #expect(abs(GRPO.passAtK(n: 8, c: 3, k: 1) - 3.0 / 8) < 1e-12)
    }

    // MARK: the gradient, by finite differences

    /// A copy of `model` with Gaussian noise added to every parameter, so policy, reference
    /// and sampling policy differ and no term of the loss is trivially 0.
    func perturbed(_ model: GPT, scale: Float, seed: UInt64) -> GPT {
        var rng = RNG(seed: seed)
        for i in 0..<model.parameterCount { model.params.ptr[i] += scale * rng.normal() }
        return model
    }

    /// Two groups of hand-written replies (right, wrong, malformed), scored by the verifier.
    func rollout(reference: GPT) throws -> GRPO.Rollout {
        let groups: [(String, Int, [String])] = [
            ("What is 4 + 5?", 9, ["<think>ones 4+5=9; so 9</think>9<|end|>", "8<|end|>", "9<|end|>", "9 10<|end|>"]),
            ("What is 7 - 3?", 4, ["4<|end|>", "<think>ones 7-3=4</think>5<|end|>", "3<|end|>", "<think>so"]),
        ]
        var rows: [ChatTemplate.Rendered] = [], advantages: [Double] = []
        for (q, answer, replies) in groups {
            let prompt = try ChatTemplate.prompt(q)
            var rewards: [Double] = []
            for reply in replies {
                let completion = try tok.encodeWithSpecials(reply)
                rows.append(GRPO.row(prompt: prompt, completion: completion))
                rewards.append(Verifier.reward(Verifier.parse(completion), expected: answer))
            }
            advantages += GRPO.advantages(rewards, normalizeStd: true)
        }
        #expect(advantages.contains { $0 > 0 } && advantages.contains { $0 < 0 })
        return GRPO.Rollout(rows: rows, advantages: advantages, reference: GRPO.logProbs(reference, rows))
    }

    /// d J / d parameters from `forwardBackward` with `rule`, and the relative error against
    /// finite differences of the true objective (`GRPO.rule`).
    func gradientError(beta: Double, clipEpsilon: Double, oldFromAnotherModel: Bool, rule: @escaping GRPO.TokenRule = GRPO.rule) throws -> Double {
        let policy = perturbed(try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 3), scale: 0.1, seed: 1)
        let reference = perturbed(policy.copy(), scale: 0.1, seed: 2)
        var settings = GRPO.recipe(quick: true, seed: 1)
        settings.beta = beta
        settings.clipEpsilon = clipEpsilon
        var r = try rollout(reference: reference)
        if oldFromAnotherModel {
            // A later inner epoch: the sampling policy differs from the current one, ρ ≠ 1.
            r.old = GRPO.logProbs(perturbed(policy.copy(), scale: 0.03, seed: 5), r.rows)
        }
        let pass = GRPO.forwardBackward(policy, &r, settings: settings, rule: rule)
        if oldFromAnotherModel && clipEpsilon < 1 { #expect(pass.clipFraction > 0.1, "the clip is exercised") }
        #expect(policy.grads.array.contains { abs($0) > 1e-4 }, "the objective depends on the parameters")
        return policy.objectiveGradientError { GRPO.evaluate(policy, r, settings: settings).loss }
    }

    @Test("the gradient of the GRPO objective (policy gradient, k3 KL, ratio and clip) matches finite differences",
          arguments: [(0.0, 0.2, false), (0.5, 0.2, false), (0.5, 0.2, true), (0.5, 10.0, true)])
    func gradientMatchesFiniteDifferences(beta: Double, clipEpsilon: Double, oldFromAnotherModel: Bool) throws {
        let err = try gradientError(beta: beta, clipEpsilon: clipEpsilon, oldFromAnotherModel: oldFromAnotherModel)
        #expect(err < GradientCheck.tolerance, "β=\(beta) ε=\(clipEpsilon) ρ≠1: \(oldFromAnotherModel): relative error \(err)")
    }

    @Test("the gradient check catches wrong weights: the KL term's sign flipped, the KL term dropped, the ratio ignored")
    func wrongGradientsFail() throws {
        let klSignFlipped: GRPO.TokenRule = { logp, old, ref, a, s in
            let t = GRPO.tokenTerm(logp: logp, old: old, ref: ref, advantage: a, beta: s.beta, clipEpsilon: s.clipEpsilon)
            return GRPO.TokenTerm(loss: t.loss, weight: t.weight - 2 * s.beta * (exp(ref - logp) - 1), kl: t.kl, clipped: t.clipped)
        }
        let klDropped: GRPO.TokenRule = { logp, old, ref, a, s in
            GRPO.tokenTerm(logp: logp, old: old, ref: ref, advantage: a, beta: 0, clipEpsilon: s.clipEpsilon)
        }
        let ratioIgnored: GRPO.TokenRule = { logp, old, ref, a, s in
            let t = GRPO.tokenTerm(logp: logp, old: old, ref: ref, advantage: a, beta: s.beta, clipEpsilon: s.clipEpsilon)
            let ratio = exp(logp - old)
            return GRPO.TokenTerm(loss: t.loss, weight: t.clipped ? t.weight : t.weight - ratio * a + a, kl: t.kl, clipped: t.clipped)
        }
        let flipped = try gradientError(beta: 0.5, clipEpsilon: 0.2, oldFromAnotherModel: false, rule: klSignFlipped)
        let dropped = try gradientError(beta: 0.5, clipEpsilon: 0.2, oldFromAnotherModel: false, rule: klDropped)
        let ignored = try gradientError(beta: 0.5, clipEpsilon: 10, oldFromAnotherModel: true, rule: ratioIgnored)
        #expect(flipped > GradientCheck.tolerance, "KL sign flipped: relative error \(flipped)")
        #expect(dropped > GradientCheck.tolerance, "KL dropped: relative error \(dropped)")
        #expect(ignored > GradientCheck.tolerance, "ratio ignored: relative error \(ignored)")
    }

    /// Quick settings with G = 4, short replies, and a reward that is 1 for replies of even
    /// length, so an untrained model gives groups with mixed rewards and all-equal ones.
    func evenLengthSettings(maxNewTokens: Int) -> GRPO.Settings {
        var settings = GRPO.recipe(quick: true, seed: 1)
        settings.groupSize = 4
        settings.maxNewTokens = maxNewTokens
        settings.reward = GRPO.Reward(name: "even length") { reply, _ in reply.text.count % 2 == 0 ? 1 : 0 }
        return settings
    }

    @Test("sampled groups: G replies per prompt, advantages that sum to 0, all-equal groups with A = 0")
    func sampledGroups() throws {
        let model = try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 3)
        let settings = evenLengthSettings(maxNewTokens: 8)
        let problems = [RLData.Problem(prompt: "What is 4 + 5?", answer: 9, family: .add),
                        RLData.Problem(prompt: "What is 7 - 3?", answer: 4, family: .sub)]
        var rng = RNG(seed: 9)
        let groups = try GRPO.sampleGroups(model, problems, sampling: settings.sampling, rng: &rng)
        #expect(groups.count == 2 && groups.allSatisfy { $0.samples.count == 4 })
        for g in groups {
            #expect(abs(g.samples.map(\.advantage).reduce(0, +)) < 1e-9)
            if g.allEqual { #expect(g.samples.allSatisfy { $0.advantage == 0 }) }
            #expect(g.samples.allSatisfy { $0.length >= 1 && $0.length <= 8 })
        }
    }

    // MARK: the difficulty filter

    @Test("the difficulty filter: every probed prompt is counted once, only prompts with mixed rewards are kept, rungs by their room")
    func edgeFilter() throws {
        let model = try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 3)
        // An odd room: a greedy reply that never stops is 5 characters long, so it is wrong,
        // and the case where greedy is wrong but the group is all-equal (no room) occurs.
        var settings = evenLengthSettings(maxNewTokens: 5)
        settings.probePerCell = 3
        let data = try RLData.load()
        let edge = try GRPO.findEdge(model, data.train, settings: settings)
        #expect(edge.cells.map(\.cell) == RLData.Cell.all, "every rung probed, in ladder order")
        #expect(edge.cells.allSatisfy { $0.probed == 3 } && edge.groups.count == 3 * RLData.Cell.all.count)
        #expect(edge.replies == edge.groups.count * 4)
        for c in edge.cells {
            let groups = edge.groups.filter { $0.problem.cell == c.cell }
            #expect(c.edge == groups.filter { !$0.allEqual }.count)
            #expect(c.always == groups.filter { $0.allEqual && $0.meanReward == 1 }.count)
            let greedyWrong = zip(edge.groups, edge.greedyRight).filter { $0.0.problem.cell == c.cell && !$0.0.allEqual && !$0.1 }
            #expect(c.room == greedyWrong.count)
            #expect(c.rightSamples == groups.flatMap(\.samples).filter { $0.reward > 0 }.count)
        }
        let mixed = edge.groups.filter { !$0.allEqual }.map(\.problem)
        #expect(edge.prompts == mixed, "the kept prompts are the groups with mixed rewards")
        #expect(Set(edge.targetPrompts).union(edge.anchorPrompts) == Set(mixed) && Set(edge.targetPrompts).isDisjoint(with: edge.anchorPrompts))
        #expect(edge.groups.contains { $0.allEqual } && !edge.prompts.isEmpty, "the case is not trivial")
        let greedyWrongButAllEqual = zip(edge.groups, edge.greedyRight).filter { $0.0.allEqual && !$0.1 }.count
        #expect(greedyWrongButAllEqual > 0 && edge.cells.contains { $0.room > 0 },
                "room is tested both ways: \(greedyWrongButAllEqual) all-equal groups with a wrong greedy reply, rungs with room \(edge.cells.filter { $0.room > 0 }.count)")
        let best = edge.cells.map(\.roomShare).max() ?? 0
        #expect(edge.target.isEmpty == (best == 0), "no target only when no prompt has room")
        if best > 0 { #expect(edge.target.contains { c in edge.cells.first { $0.cell == c }?.roomShare == best }, "the roomiest rung is a target") }
        for c in edge.cells {
            let wanted = c.room > 0 && c.roomShare >= (best >= settings.minRoomShare ? settings.minRoomShare : best / 2)
            #expect(edge.target.contains(c.cell) == wanted, "\(c.cell): \(c.room) of \(c.probed) with room")
        }
        #expect(Set(edge.others).isDisjoint(with: edge.target) && edge.others.count + edge.target.count == edge.cells.count)
    }

    @Test("the held-out problems of a rung are its whole fixed set, whatever the model answers")
    func heldOutIsTheWholeRung() throws {
        let data = try RLData.load()
        let cells = [RLData.Cell(.add, 2), RLData.Cell(.chain, 1)]
        let held = GRPO.heldOut(data, cells: cells)
        #expect(held.count == cells.count * RLData.validCount)
        #expect(Set(held) == Set(data.valid.filter { cells.contains($0.cell) }))
        #expect(GRPO.heldOut(data, cells: cells, perCell: 5).count == 10)
    }

    @Test("the noise rule: three standard errors of the difference, and a floor")
    func noiseRule() {
        #expect(abs(Noise.standardError(0.5, 0.5, n: 100) - (0.5 / 100).squareRoot()) < 1e-12, "√((.25 + .25) / 100)")
        #expect(abs(Noise.margin(0.5, 0.5, n: 100, floor: 0) - 3 * (0.5 / 100).squareRoot()) < 1e-12)
        #expect(Noise.margin(0, 0, n: 100, floor: 0.15) == 0.15, "rates of 0 have no spread: the floor decides")
        #expect(Noise.isRise(from: 0.2, to: 0.6, n: 100, floor: 0.15))
        #expect(!Noise.isRise(from: 0.2, to: 0.3, n: 100, floor: 0.15), "under the floor")
        #expect(!Noise.isRise(from: 0.4, to: 0.6, n: 10, floor: 0.15), "above the floor, inside the noise of 10 items")
    }

    // MARK: quick GRPO

    @Test("quick GRPO trains on edge prompts and raises held-out pass@1 on its rungs, with bounded KL")
    func grpoImprovesPass1() throws {
        let r = try QuickChain.rlvr.get()
        let data = try RLData.load()
        // What RL trained and was measured on came from the filter, and the held-out set is whole.
        #expect(!r.edge.targetPrompts.isEmpty && !r.edge.target.isEmpty)
        #expect(r.before.graded.map(\.problem) == GRPO.heldOut(data, cells: r.edge.target))
        #expect(r.othersBefore.graded.map(\.problem) == GRPO.heldOut(data, cells: r.edge.others))
        // Greedy replies do not depend on the sampling seed; the control differs only in its samples.
        #expect(r.control.pass1 == r.before.pass1)
        let n = r.after.graded.count
        let b = r.before.pass1, a = r.after.pass1
        #expect(Noise.isRise(from: b, to: a, n: n, floor: 0.15), "held-out pass@1 \(b) -> \(a) on \(n) prompts")
        // Where the gain comes from: n - n, whose answer is always 0. Where the quick dpo model
        // has an edge on other sums too (seed 7: 2-digit +), RL trades them for that shortcut,
        // so arithmetic with other answers stays a known issue.
        let others = { (m: GRPO.Measurement) in GRPO.Measurement(graded: m.graded.filter { $0.problem.family != .same }, n: m.n) }
        let ob = others(r.before).pass1, oa = others(r.after).pass1, no = others(r.after).graded.count
        withKnownIssue("quick RL does not raise pass@1 on arithmetic other than n - n: the quick dpo model has almost no edge there") {
            #expect(Noise.isRise(from: ob, to: oa, n: no, floor: 0.1), "held-out pass@1 without n - n: \(ob) -> \(oa)")
        }
        #expect(r.kl.isFinite && r.kl > 0 && r.kl < 1, "KL to the reference \(r.kl)")
        #expect(r.after.meanLength > 0.5 * r.before.meanLength, "mean reply length \(r.before.meanLength) -> \(r.after.meanLength)")
        #expect(r.othersBefore.pass1 - r.othersAfter.pass1 <= 0.05, "the other rungs: \(r.othersBefore.pass1) -> \(r.othersAfter.pass1)")
        #expect(r.log.steps.count == GRPO.recipe(quick: true, seed: QuickChain.seed).steps)
        #expect(r.log.heldOut.first?.step == 0 && r.log.heldOut.last?.step == r.log.steps.count)
    }

    @Test("the rlvr checkpoint saves and reloads with its report keys")
    func checkpointAndReport() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lesson05-\(getpid())").path
        let run = RunDirectory(outDir: out, quick: true)
        let r = try QuickChain.rlvr.get()
        try saveStage(.rlvr, model: r.model, step: r.log.steps.count, metrics: GRPO.metrics(r), to: run)
        let report = try Report.load(from: run.path)
        for key in ["pass1_before", "pass1", "pass8_before", "pass8", "pass1_control", "edge_prompts", "reward_first", "reward_last",
                    "kl", "mean_len"] {
            #expect(report["rlvr"]?[key] != nil, "rlvr is missing \(key)")
        }
        let (loaded, _) = try loadStage(.rlvr, from: run)
        #expect(loaded.params.array == r.model.params.array)
    }
}
