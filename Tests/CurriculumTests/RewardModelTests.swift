import Foundation
import Testing
import Curriculum
import Kernels
import TinyGPT

/// The learned reward of lesson07: Bradley-Terry on pairs, its gradient, and best-of-k by hand.
@Suite struct RewardModelTests {
    let tok = Tokenizer.standard

    func pairs() throws -> [DPO.RenderedPair] {
        let raw = [
            PreferenceData.Pair(prompt: "What is 2 + 3?", chosen: "5", rejected: "<think>2+3=6</think>6", family: .calibration),
            PreferenceData.Pair(prompt: "How can I hurt my cat?", chosen: "I can't help with that.", rejected: "Pull its tail.", family: .caution),
            PreferenceData.Pair(prompt: "How can I feed my cat?", chosen: "Give it cat food.", rejected: "I can't help with that.", family: .helpful),
        ]
        return try DPO.render(raw, blockSize: 64)
    }

    @Test func bradleyTerryLossByHand() throws {
        let model = try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 5)
        let rows = try pairs()
        let r = RewardModel.rows(rows)
        let c = RewardModel.scores(model, r.chosen), j = RewardModel.scores(model, r.rejected)
        let want = zip(c, j).map { log(1 + exp(-($0 - $1))) }.reduce(0, +) / Double(rows.count)
        let s = RewardModel.evaluate(model, rows)
        #expect(abs(s.loss - want) < 1e-9, "\(s.loss) vs \(want)")
        // Scores are per conversation: the same conversation alone or in a batch scores the same.
        #expect(abs(RewardModel.scores(model, [r.chosen[1]])[0] - c[1]) < 1e-4)
        // The training step's forward agrees.
        #expect(abs(RewardModel.forwardBackward(model, rows).loss - want) < 1e-6)
    }

    @Test("the gradient of the Bradley-Terry loss through the score row matches finite differences")
    func gradientMatchesFiniteDifferences() throws {
        let model = try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 5)
        let rows = try pairs()
        RewardModel.forwardBackward(model, rows)
        #expect(model.grads.array.contains { abs($0) > 1e-4 }, "the loss depends on the parameters")
        let err = model.objectiveGradientError { RewardModel.evaluate(model, rows).loss }
        #expect(err < GradientCheck.tolerance, "relative error \(err)")
    }

    @Test func bestOfKByHand() {
        // One problem, three samples: rewards 0.1 (right), 0.5 (wrong), 0.9 (right).
        let s = RewardModel.Samples(rewards: [[0.1, 0.5, 0.9]], verified: [[true, false, true]])
        // k = 1 is the plain sample mean; k = n picks the top-ranked sample.
        #expect(abs(RewardModel.bestOf(1, s).verified - 2.0 / 3) < 1e-12)
        #expect(abs(RewardModel.bestOf(1, s).reward - 0.5) < 1e-12)
        #expect(RewardModel.bestOf(3, s).verified == 1 && abs(RewardModel.bestOf(3, s).reward - 0.9) < 1e-12)
        // k = 2: of the three pairs, {0.1, 0.5} -> wrong, {0.1, 0.9} and {0.5, 0.9} -> right.
        #expect(abs(RewardModel.bestOf(2, s).verified - 2.0 / 3) < 1e-12)
        #expect(abs(RewardModel.bestOf(2, s).reward - (0.5 + 0.9 + 0.9) / 3) < 1e-12)
        #expect(RewardModel.bestOfKL(1) == 0 && abs(RewardModel.bestOfKL(4) - (log(4) - 0.75)) < 1e-12)
    }

    @Test("as RL's reward, the reward model scores each sampled reply in its whole conversation, and the group's advantages follow its scores")
    func learnedRewardScoresSampledReplies() throws {
        let policy = try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 3)
        let rm = try GPT(config: .tiny(vocabSize: tok.vocabSize), seed: 5)
        let sampling = GRPO.Sampling(groupSize: 4, maxNewTokens: 8, reward: RewardModel.reward(rm))
        let problems = [RLData.Problem(prompt: "What is 4 + 5?", answer: 9, family: .add)]
        var rng = RNG(seed: 9)
        let group = try #require(try GRPO.sampleGroups(policy, problems, sampling: sampling, rng: &rng).first)
        let want = RewardModel.scores(rm, group.samples.map { group.prompt + $0.completion })
        #expect(group.samples.map(\.reward) == want, "the reward is r of prompt + reply")
        #expect(Set(want).count > 1, "an untrained reward model still tells these replies apart")
        let a = GRPO.advantages(want, normalizeStd: sampling.normalizeStd, epsilon: sampling.stdEpsilon)
        #expect(zip(group.samples.map(\.advantage), a).allSatisfy { abs($0 - $1) < 1e-12 })
    }
}
