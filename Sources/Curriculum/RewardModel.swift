import Foundation
import Kernels
import Notebook
import TinyGPT

/// A reward model learned from preference pairs, and what happens when a policy is pushed
/// against it (lesson07, experiment 3).
///
/// RLHF's reward is a model, not a checker: it scores a conversation with one number, trained
/// so that the chosen answer of each pair scores above the rejected one (Bradley-Terry):
///
///     P(chosen beats rejected) = σ(r(chosen) - r(rejected))    loss = -log σ(r_c - r_r)
///
/// The trunk is a chat model's (a copy of the think model, which already reads conversations);
/// the scalar head is one row of its output layer: r is the logit of `scoreToken` at the last
/// position of the conversation. The language model never predicts <|pad|>, so that row is free.
/// The gradient of r is then a one-hot `dlogits`, and the model's ordinary backward does the
/// rest: no new kernel. A learned reward is right where its pairs taught it and guesses
/// elsewhere; a policy searching for high reward finds the guesses (over-optimisation).
public enum RewardModel {
    /// The output row that serves as the scalar head.
    public static let scoreToken = Tokenizer.standard.id(.pad)

    /// Rows of whole conversations, padded to the longest, and where each one ends.
    static func batch(_ rows: [[Int]], tokenizer: Tokenizer = .standard) -> (inputs: [Int32], B: Int, T: Int, last: [Int]) {
        let T = max(1, rows.map(\.count).max() ?? 1)
        var inputs = [Int32](repeating: Int32(tokenizer.id(.pad)), count: rows.count * T)
        for (b, row) in rows.enumerated() {
            for (t, token) in row.prefix(T).enumerated() { inputs[b * T + t] = Int32(token) }
        }
        return (inputs, rows.count, T, rows.map { min(max($0.count, 1), T) - 1 })
    }

    /// r of each conversation (its tokens, prompt and reply), 64 at a time.
    public static func scores(_ model: GPT, _ rows: [[Int]]) -> [Double] {
        PhaseClock.measure(.eval) {
            rows.chunks(of: 64).flatMap { chunk -> [Double] in
                let b = batch(Array(chunk))
                b.inputs.withUnsafeBufferPointer { model.forward($0.baseAddress!, B: b.B, T: b.T) }
                let V = model.config.vocabSize
                return b.last.enumerated().map { i, t in Double(model.logits[(i * b.T + t) * V + scoreToken]) }
            }
        }
    }

    /// The reward model as RL's training reward: each reply scored by r of its whole conversation.
    public static func reward(_ model: GPT) -> GRPO.Reward {
        GRPO.Reward(name: "learned reward") { rows in scores(model, rows) }
    }

    /// The pairs as whole conversations: the chosen and the rejected answer, each to its end.
    public static func rows(_ pairs: [DPO.RenderedPair]) -> (chosen: [[Int]], rejected: [[Int]]) {
        (pairs.map(\.chosen.tokens), pairs.map(\.rejected.tokens))
    }

    /// What a batch of pairs measured.
    public struct Stats: Sendable {
        /// Mean -log σ(r_c - r_r).
        public var loss = 0.0
        /// Share of pairs with r_c > r_r (a tie counts half).
        public var accuracy = 0.0
        public var margin = 0.0
    }

    static func stats(_ chosen: [Double], _ rejected: [Double]) -> (Stats, [Double]) {
        var s = Stats(), weights: [Double] = []
        let n = Double(max(chosen.count, 1))
        var wins = 0.0
        for (c, r) in zip(chosen, rejected) {
            let m = c - r
            s.loss += (m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m))) / n
            s.margin += m / n
            wins += m > 0 ? 1 : m == 0 ? 0.5 : 0
            weights.append(DPO.sigmoid(-m) / n)  // -dloss/dm
        }
        s.accuracy = wins / n
        return (s, weights)
    }

    /// The loss on pairs, forward only (what the gradient check differentiates).
    public static func evaluate(_ model: GPT, _ pairs: [DPO.RenderedPair]) -> Stats {
        let r = rows(pairs)
        return stats(scores(model, r.chosen), scores(model, r.rejected)).0
    }

    /// Forward and backward for a batch of pairs: leaves d(mean loss)/d(parameters) in
    /// `model.grads`. The P chosen and P rejected conversations run as one batch; dlogits is
    /// -w at the chosen row's score and +w at the rejected one's, w = σ(-(r_c - r_r))/P.
    @discardableResult
    public static func forwardBackward(_ model: GPT, _ pairs: [DPO.RenderedPair]) -> Stats {
        let r = rows(pairs), P = pairs.count
        let b = batch(r.chosen + r.rejected)
        model.zeroGrad()
        b.inputs.withUnsafeBufferPointer { model.forward($0.baseAddress!, B: b.B, T: b.T) }
        let V = model.config.vocabSize
        let score = b.last.enumerated().map { i, t in Double(model.logits[(i * b.T + t) * V + scoreToken]) }
        let (s, weights) = stats(Array(score[0..<P]), Array(score[P...]))
        let dlogits = model.dlogitsScratch
        dlogits.update(repeating: 0, count: b.B * b.T * V)
        for i in 0..<P {
            dlogits[(i * b.T + b.last[i]) * V + scoreToken] = Float(-weights[i])
            dlogits[((P + i) * b.T + b.last[P + i]) * V + scoreToken] = Float(weights[i])
        }
        model.backward(dlogits)
        return s
    }

    /// How the reward model trains: the pairs lesson04 trained on, `steps` batches of
    /// `pairsPerStep`, AdamW with a short warmup and cosine decay.
    public struct Settings: Sendable {
        public var steps: Int
        public var pairsPerStep: Int
        public var schedule: LRSchedule
        public var seed: UInt64
    }

    public static func recipe(quick: Bool, seed: UInt64) -> Settings {
        let steps = quick ? 100 : 150
        return Settings(steps: steps, pairsPerStep: 16,
                        schedule: LRSchedule(peak: quick ? 1e-3 : 3e-4, warmup: 10, total: steps, minFraction: 0.1, decay: .cosine),
                        seed: seed)
    }

    /// A copy of `trunk` trained on `pairs`; `progress` gets each step's training stats.
    public static func train(from trunk: GPT, pairs: [DPO.RenderedPair], settings: Settings,
                             progress: (Int, Stats) -> Void = { _, _ in }) throws -> GPT {
        let model = trunk.copy()
        var rng = RNG(seed: settings.seed)
        let optimizer = AdamW(for: model, config: AdamWConfig(weightDecay: 0))
        var queue: [[Int]] = []
        for step in 0..<settings.steps {
            if queue.isEmpty { queue = SFT.epochBatches(pairs.map(\.chosen), B: settings.pairsPerStep, rng: &rng).reversed() }
            guard let picked = queue.popLast() else {
                throw DataFiles.DataError("the reward model needs at least \(settings.pairsPerStep) pairs, got \(pairs.count)")
            }
            let s = try PhaseClock.measure(.train) { () throws -> Stats in
                let s = forwardBackward(model, picked.map { pairs[$0] })
                try optimizerStep(model, optimizer, loss: s.loss, lr: settings.schedule.lr(step), clipNorm: 1, step: step + 1)
                return s
            }
            progress(step + 1, s)
        }
        return model
    }

    // MARK: best-of-n against the reward model

    /// For each problem, n sampled replies with their learned reward and the verifier's verdict.
    public struct Samples: Sendable {
        public let rewards: [[Double]]
        public let verified: [[Bool]]
        /// The replies themselves (empty when only the numbers are kept).
        public let replies: [[Verifier.Reply]]
        public var n: Int { rewards.first?.count ?? 0 }
        public var problems: Int { rewards.count }
        public init(rewards: [[Double]], verified: [[Bool]], replies: [[Verifier.Reply]] = []) {
            self.rewards = rewards; self.verified = verified; self.replies = replies
        }

        /// Mean length (characters of the reply) of every sample, and of each problem's top-ranked one.
        public var meanLength: (all: Double, top: Double) {
            let all = replies.flatMap { $0.map { Double($0.shown.count) } }
            let top = zip(replies, rewards).compactMap { r, w in w.indices.max { w[$0] < w[$1] }.map { Double(r[$0].shown.count) } }
            func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
            return (mean(all), mean(top))
        }
    }

    /// n replies per problem from `policy` (temperature 1), scored by `rewardModel` and the verifier.
    public static func sample(_ policy: GPT, rewardModel: GPT, _ problems: [RLData.Problem], n: Int,
                              maxNewTokens: Int, seed: UInt64) throws -> Samples {
        var rng = RNG(seed: seed)
        let sampling = GRPO.Sampling(groupSize: n, maxNewTokens: maxNewTokens)
        var rewards: [[Double]] = [], verified: [[Bool]] = [], replies: [[Verifier.Reply]] = []
        for chunk in problems.chunks(of: max(1, 128 / n)) {
            for g in try GRPO.sampleGroups(policy, Array(chunk), sampling: sampling, rng: &rng) {
                rewards.append(scores(rewardModel, g.samples.map { g.prompt + $0.completion }))
                verified.append(g.samples.map(\.verified))
                replies.append(g.samples.map(\.reply))
            }
        }
        return Samples(rewards: rewards, verified: verified, replies: replies)
    }

    /// Best-of-k from n samples (k ≤ n): the expected verified rate and learned reward of the
    /// reply the reward model ranks first among k drawn at random without replacement, exactly:
    /// the sample ranked j-th lowest of n wins with probability C(j, k-1)/C(n, k).
    public static func bestOf(_ k: Int, _ s: Samples) -> (verified: Double, reward: Double) {
        var v = 0.0, r = 0.0
        for (rewards, ok) in zip(s.rewards, s.verified) {
            let n = rewards.count
            let order = rewards.indices.sorted { (rewards[$0], $0) < (rewards[$1], $1) }
            for (j, i) in order.enumerated() where j >= k - 1 {
                let p = choose(j, k - 1) / choose(n, k)
                v += p * (ok[i] ? 1 : 0)
                r += p * rewards[i]
            }
        }
        let P = Double(max(s.problems, 1))
        return (v / P, r / P)
    }

    /// C(n, k) as a Double.
    static func choose(_ n: Int, _ k: Int) -> Double {
        guard k >= 0, k <= n else { return 0 }
        var c = 1.0
        for i in 0..<min(k, n - k) { c = c * Double(n - i) / Double(i + 1) }
        return c
    }

    /// KL(best-of-k ‖ policy) = ln k - (k-1)/k: how far selection moves from the policy it samples.
    public static func bestOfKL(_ k: Int) -> Double { log(Double(k)) - Double(k - 1) / Double(k) }
}
