import Foundation
import Kernels
import Notebook
import TinyGPT

/// Stage `rlvr`: reinforcement learning with verifiable rewards, by GRPO.
///
/// No answers to imitate, no preference pairs: only prompts and a checker. Each step,
///
///     1. sample a group of G replies to each prompt from the policy (the KV-cache sampler);
///     2. score every reply with the reward (default: the verifier, 1 for exactly the right
///        final integer, else 0);
///     3. turn rewards into advantages *within the group*: A_i = (r_i - mean) / (std + eps).
///        The group is its own baseline: a reply is reinforced for being better than its
///        siblings, not for being right on an easy prompt. No value network (PPO's critic).
///        A group whose rewards are all equal (all right, or, usually, all wrong) gets A = 0
///        everywhere: it teaches nothing, however much it cost to sample;
///     4. descend, over every token of every reply,
///
///            ℓ(token) = -min(ρ·A, clip(ρ, 1-ε, 1+ε)·A) + β·k3
///            ρ  = π(token) / π_old(token)          (1 on the first pass over a batch)
///            k3 = π_ref/π - log(π_ref/π) - 1        (an estimate of KL(π ‖ π_ref) that is never negative)
///            J  = Σ ℓ / (completion tokens in the batch)      ("token-level" averaging)
///
/// As everywhere in the course (GUIDE.md, "Where things are"), the gradient is a weight on grad log π of
/// each sampled token, handed to `crossentropy_backward`:
///
///     weight = -dℓ/d log π = ρ·A (0 where clipped)  +  β·(π_ref/π - 1)
///
/// A right reply in a group of mostly wrong ones pushes its tokens up hard; the wrong ones
/// are pushed down gently; the KL term pulls every token back towards the reference:
/// up where the reference liked it more (π_ref/π > 1), down where less.
///
/// Why these choices:
///   - token-level averaging (DAPO) gives every token the same say. Per-reply averaging,
///     GRPO's original form, divides each reply's advantage by its length: a long wrong
///     reply is then pushed down less per token than a short one, and a short right reply
///     pushed up more, a bias towards long wrong answers (the Dr. GRPO paper);
///   - k3 (Schulman's estimator) is unbiased, and never negative, unlike log(π/π_ref) on
///     one sample; its gradient stays small near the reference;
///   - the ratio ρ and its clip matter only when one sampled batch is used for several
///     updates (`innerEpochs` > 1): after the first update the policy is no longer the one
///     that sampled, and the clip stops a token's probability moving more than ε from it.
public enum GRPO {
    // MARK: settings

    /// How replies are scored during training. The held-out measurements always use the
    /// verifier, whatever the training reward, so a reward that can be gamed shows as a
    /// training reward that rises while verified accuracy does not.
    public struct Reward: Sendable {
        public let name: String
        public let score: @Sendable (Verifier.Reply, RLData.Problem) -> Double
        /// A learned reward reads the whole conversation (prompt and reply tokens) and scores a
        /// group at once; when set, it replaces `score`.
        public let scoreConversations: (@Sendable ([[Int]]) -> [Double])?

        public init(name: String, score: @escaping @Sendable (Verifier.Reply, RLData.Problem) -> Double) {
            self.name = name; self.score = score; self.scoreConversations = nil
        }

        public init(name: String, conversations: @escaping @Sendable ([[Int]]) -> [Double]) {
            self.name = name; self.score = { _, _ in 0 }; self.scoreConversations = conversations
        }

        /// The verifier: 1 if the final answer is exactly the right integer, else 0.
        public static let verified = Reward(name: "verified answer") { reply, p in Verifier.reward(reply, expected: p.answer) }

        /// A loose reward, for the reward-hacking exercise: 1 if the right number appears
        /// anywhere in the reply, trace included, well-formed or not.
        public static let containsAnswer = Reward(name: "answer appears somewhere") { reply, p in
            reply.text.contains(String(p.answer)) ? 1 : 0
        }
    }

    /// How a group of replies is drawn and scored: all that sampling needs, apart from training
    /// (measurements and best-of-n sample with it; a run's `Settings.sampling` is its own).
    public struct Sampling: Sendable {
        /// G: replies per prompt.
        public var groupSize: Int
        public var maxNewTokens: Int
        /// 0 is greedy; 1 the policy's own distribution.
        public var temperature: Float
        public var format: Format
        public var reward: Reward
        /// How rewards become advantages within a group (`advantages`).
        public var normalizeStd: Bool
        public var stdEpsilon: Double

        public init(groupSize: Int, maxNewTokens: Int, temperature: Float = 1, format: Format = .chat, reward: Reward = .verified,
                    normalizeStd: Bool = true, stdEpsilon: Double = 1e-4) {
            self.groupSize = groupSize; self.maxNewTokens = maxNewTokens; self.temperature = temperature
            self.format = format; self.reward = reward; self.normalizeStd = normalizeStd; self.stdEpsilon = stdEpsilon
        }

        /// One greedy reply per prompt, read the same way.
        public var greedy: Sampling {
            var s = self
            s.groupSize = 1
            s.temperature = 0
            return s
        }
    }

    /// Everything a GRPO run can vary.
    public struct Settings: Sendable {
        /// G: replies sampled per prompt.
        public var groupSize: Int
        public var promptsPerStep: Int
        public var steps: Int
        public var schedule: LRSchedule
        public var adam: AdamWConfig
        public var clipNorm: Float
        /// β: weight of the k3 KL penalty to the frozen reference (0 = no leash).
        public var beta: Double
        /// Divide advantages by the group's standard deviation (GRPO). Off: A = r - mean
        /// (Dr. GRPO), so groups with rare successes do not get their step sizes inflated.
        public var normalizeStd: Bool
        /// The eps of (r - mean) / (std + eps).
        public var stdEpsilon: Double
        /// Gradient steps on each sampled batch. 1 = purely on-policy (ρ = 1, clipping unused).
        public var innerEpochs: Int
        /// ε of the ratio clip, used when `innerEpochs` > 1.
        public var clipEpsilon: Double
        public var maxNewTokens: Int
        /// Sampling temperature for the training groups (1 = the policy's own distribution).
        public var temperature: Float
        public var reward: Reward
        /// How problems are asked and replies read (the chat template, or mid-training's text).
        public var format: Format = .chat
        /// Measure held-out pass@1 (greedy) every this many steps (and at step 0 and the end).
        public var evalEvery: Int
        /// How many held-out prompts that periodic measurement uses (0: none).
        public var evalPrompts: Int
        /// The difficulty filter (`findEdge`): training prompts it samples from each rung.
        public var probePerCell: Int
        /// A rung is a target if at least this share of its probed prompts has room: greedy
        /// wrong, some sample right.
        public var minRoomShare: Double
        /// Share of each step's prompts drawn from the edge prompts with room (the rest: the
        /// other edge prompts, which hold what the model already does).
        public var targetShare: Double
        public var seed: UInt64

        public init(groupSize: Int = 8, promptsPerStep: Int, steps: Int, schedule: LRSchedule,
                    adam: AdamWConfig = AdamWConfig(weightDecay: 0), clipNorm: Float = 1, beta: Double,
                    normalizeStd: Bool = true, stdEpsilon: Double = 1e-4, innerEpochs: Int = 1, clipEpsilon: Double = 0.2,
                    maxNewTokens: Int = 112, temperature: Float = 1, reward: Reward = .verified,
                    evalEvery: Int, evalPrompts: Int, probePerCell: Int = 32, minRoomShare: Double = 0.125, targetShare: Double = 0.5, seed: UInt64) {
            self.groupSize = groupSize; self.promptsPerStep = promptsPerStep; self.steps = steps
            self.schedule = schedule; self.adam = adam; self.clipNorm = clipNorm; self.beta = beta
            self.normalizeStd = normalizeStd; self.stdEpsilon = stdEpsilon; self.innerEpochs = innerEpochs
            self.clipEpsilon = clipEpsilon; self.maxNewTokens = maxNewTokens; self.temperature = temperature
            self.reward = reward; self.evalEvery = evalEvery; self.evalPrompts = evalPrompts
            self.probePerCell = probePerCell; self.minRoomShare = minRoomShare; self.targetShare = targetShare
            self.seed = seed
        }

        /// How this run samples its training groups.
        public var sampling: Sampling {
            Sampling(groupSize: groupSize, maxNewTokens: maxNewTokens, temperature: temperature, format: format, reward: reward,
                     normalizeStd: normalizeStd, stdEpsilon: stdEpsilon)
        }
    }

    /// The default run's settings (docs/experiments.md has the measurements behind them).
    ///
    /// Sixteen replies per prompt: on the hardest rungs a right reply is rare, and with eight
    /// the probe misses whole rungs with room, and most groups there are all wrong.
    /// β is firmer than the GRPO paper's 0.04: a tiny model takes large steps, and the k3
    /// weight β·(π_ref/π - 1), 0 at the reference, is what holds the replies the reward says
    /// nothing about. The filter probes 32 prompts of every rung and keeps the rungs where at
    /// least one in eight has room (4 of 32: fewer could be luck). Sixty steps: held-out pass@1
    /// flattens after a few dozen, while the rungs RL does not train on keep drifting the
    /// longer it runs. Quick keeps β firmer still: the tiny think model, pushed harder, drops its
    /// traces and halves its replies. The runs behind these choices are in docs/experiments.md.
    public static func recipe(quick: Bool, seed: UInt64) -> Settings {
        let steps = quick ? 40 : 60
        let schedule = LRSchedule(peak: quick ? 1e-3 : 2e-4, warmup: 5, total: steps, minFraction: 0.1, decay: .constant)
        return Settings(groupSize: 16, promptsPerStep: 8, steps: steps, schedule: schedule, beta: quick ? 0.5 : 0.1,
                        maxNewTokens: quick ? 64 : 112, evalEvery: quick ? 10 : 20, evalPrompts: quick ? 40 : 80,
                        probePerCell: 32, minRoomShare: 0.125, seed: seed)
    }

    // MARK: groups and advantages

    /// Group-relative advantages: (r - mean) / (std + eps), or r - mean without the std.
    /// The std is the population one (divide by G). With rewards in {0, 1} and k of G
    /// right, mean p = k/G, std √(p(1-p)), a right reply gets √((1-p)/p), a wrong one -√(p/(1-p)):
    /// the rarer success is, the harder it is pushed. All equal: every advantage is 0.
    public static func advantages(_ rewards: [Double], normalizeStd: Bool, epsilon: Double = 1e-4) -> [Double] {
        guard !rewards.isEmpty else { return [] }
        let n = Double(rewards.count)
        let mean = rewards.reduce(0, +) / n
        let centred = rewards.map { $0 - mean }
        guard normalizeStd else { return centred }
        let std = (centred.map { $0 * $0 }.reduce(0, +) / n).squareRoot()
        return centred.map { $0 / (std + epsilon) }
    }

    /// One sampled reply, scored.
    public struct Sample: Sendable {
        public let completion: [Int]
        public let reply: Verifier.Reply
        /// The training reward.
        public let reward: Double
        /// What the verifier says, whatever the training reward (for the logs).
        public let verified: Bool
        public var advantage: Double
        public var length: Int { completion.count }
    }

    /// A prompt and its G replies.
    public struct Group: Sendable {
        public let problem: RLData.Problem
        public let prompt: [Int]
        public var samples: [Sample]
        /// Every reply got the same reward: all advantages are 0, no policy-gradient signal.
        public var allEqual: Bool { samples.allSatisfy { $0.reward == samples.first?.reward } }
        public var meanReward: Double { samples.map(\.reward).reduce(0, +) / Double(max(samples.count, 1)) }
    }

    /// Samples G replies per problem (one batched call of the KV-cache sampler), scores them
    /// and fills in the group-relative advantages.
    public static func sampleGroups(_ policy: GPT, _ problems: [RLData.Problem], sampling: Sampling, rng: inout RNG,
                                    tokenizer: Tokenizer = .standard) throws -> [Group] {
        let G = sampling.groupSize
        let format = sampling.format
        let prompts = try problems.map { try format.prompt($0, tokenizer: tokenizer) }
        let room = policy.config.blockSize - (prompts.map(\.count).max() ?? 0)
        guard room > 0 else {
            throw ChatTemplate.TemplateError("an RL prompt is too long for the model's context (\(policy.config.blockSize) tokens)")
        }
        let options = SamplingOptions(temperature: sampling.temperature, stopToken: format.stopToken(tokenizer),
                                      maxNewTokens: min(sampling.maxNewTokens, room))
        let outs = PhaseClock.measure(.sample) {
            policy.generate(prompts: prompts.flatMap { [[Int]](repeating: $0, count: G) }, options: options, rng: &rng)
        }
        let replies = outs.map { format.parse($0.tokens, tokenizer: tokenizer) }
        // Reply j answers problem j / G.
        let rewards = sampling.reward.scoreConversations.map { learned in learned(outs.indices.map { prompts[$0 / G] + outs[$0].tokens }) }
            ?? outs.indices.map { sampling.reward.score(replies[$0], problems[$0 / G]) }
        return problems.indices.map { i in
            var samples = ((i * G)..<((i + 1) * G)).map { j in
                Sample(completion: outs[j].tokens, reply: replies[j], reward: rewards[j],
                       verified: format.reward(replies[j], expected: problems[i].answer) == 1, advantage: 0)
            }
            let a = advantages(samples.map(\.reward), normalizeStd: sampling.normalizeStd, epsilon: sampling.stdEpsilon)
            for k in samples.indices { samples[k].advantage = a[k] }
            return Group(problem: problems[i], prompt: prompts[i], samples: samples)
        }
    }

    // MARK: the loss of one token

    /// One token's loss term and the weight its gradient puts on grad log π.
    public struct TokenTerm: Sendable, Equatable {
        /// ℓ = -min(ρA, clip(ρ)A) + β·k3.
        public let loss: Double
        /// -dℓ/d log π: what `crossentropy_backward` multiplies (probs - onehot) by.
        public let weight: Double
        /// k3 = π_ref/π - log(π_ref/π) - 1.
        public let kl: Double
        /// The clip took over: this token's policy-gradient term has no gradient.
        public let clipped: Bool

        public init(loss: Double, weight: Double, kl: Double, clipped: Bool) {
            self.loss = loss; self.weight = weight; self.kl = kl; self.clipped = clipped
        }
    }

    /// A rule for one token's loss and weight, from log π, log π_old, log π_ref and the
    /// reply's advantage. `tokenTerm` is the real one; tests pass deliberately wrong ones.
    public typealias TokenRule = (_ logp: Double, _ old: Double, _ ref: Double, _ advantage: Double, _ settings: Settings) -> TokenTerm

    /// The GRPO loss of one token (see the top of this file) and its gradient weight.
    public static func tokenTerm(logp: Double, old: Double, ref: Double, advantage a: Double,
                                 beta: Double, clipEpsilon eps: Double) -> TokenTerm {
        let ratio = exp(logp - old)
        let clippedRatio = min(max(ratio, 1 - eps), 1 + eps)
        // min(ρA, clip(ρ)A): the clipped value wins (and has no gradient) when it is smaller.
        let clipped = clippedRatio * a < ratio * a
        let surrogate = clipped ? clippedRatio * a : ratio * a
        let x = ref - logp  // log(π_ref/π)
        let k3 = exp(x) - x - 1
        let weight = (clipped ? 0 : ratio * a) + beta * (exp(x) - 1)
        return TokenTerm(loss: -surrogate + beta * k3, weight: weight, kl: k3, clipped: clipped)
    }

    /// `tokenTerm` with the run's β and ε.
    public static let rule: TokenRule = { logp, old, ref, a, s in
        tokenTerm(logp: logp, old: old, ref: ref, advantage: a, beta: s.beta, clipEpsilon: s.clipEpsilon)
    }

    // MARK: a batch of replies as token rows

    /// The sampled replies of one step as training rows: prompt + reply, with targets on the
    /// reply's tokens only (its closing <|end|> included), each reply's advantage, and the
    /// reference's (and, once known, the sampling policy's) log-probability of every reply token.
    public struct Rollout: Sendable {
        public var rows: [ChatTemplate.Rendered]
        public var advantages: [Double]
        /// log π_ref of each reply token, per row: computed once, the reference never changes.
        public var reference: [[Float]]
        /// log π_old: the policy that sampled. Filled by the first `forwardBackward` (the
        /// policy has not moved yet, so its forward pass *is* π_old), then kept fixed.
        public var old: [[Float]]?

        public var tokenCount: Int { reference.map(\.count).reduce(0, +) }

        public init(rows: [ChatTemplate.Rendered], advantages: [Double], reference: [[Float]], old: [[Float]]? = nil) {
            self.rows = rows; self.advantages = advantages; self.reference = reference; self.old = old
        }
    }

    /// log π of the reply tokens of each row (forward only, 64 rows at a time).
    public static func logProbs(_ model: GPT, _ rows: [ChatTemplate.Rendered]) -> [[Float]] {
        tokenLogProbs(model, rows)
    }

    /// A prompt (ending with <|assistant|>) and a reply as one training row: targets on the
    /// reply's tokens only.
    public static func row(prompt: [Int], completion: [Int]) -> ChatTemplate.Rendered {
        ChatTemplate.Rendered(tokens: prompt + completion,
                              trained: [Bool](repeating: false, count: prompt.count) + [Bool](repeating: true, count: completion.count))
    }

    /// The groups' replies as a rollout, with the reference's log-probabilities.
    public static func rollout(_ groups: [Group], reference: GPT) -> Rollout {
        var rows: [ChatTemplate.Rendered] = [], adv: [Double] = []
        for g in groups {
            for s in g.samples {
                rows.append(row(prompt: g.prompt, completion: s.completion))
                adv.append(s.advantage)
            }
        }
        return Rollout(rows: rows, advantages: adv, reference: logProbs(reference, rows))
    }

    // MARK: forward and backward

    /// What one pass over a rollout measured.
    public struct PassStats: Sendable {
        /// J, the objective being minimised.
        public var loss = 0.0
        /// Mean k3 per reply token: the KL(π ‖ π_ref) estimate.
        public var kl = 0.0
        /// Share of reply tokens whose policy-gradient term was clipped.
        public var clipFraction = 0.0
        public var tokens = 0
        /// Token positions run through the model, padding included (the pass's cost).
        public var positions = 0
        public init() {}
    }

    /// Adds the rows `indices` (whose log-probabilities are `logp`, in the same order) to the
    /// stats, and returns their per-token weights, already ÷ the rollout's reply tokens.
    static func accumulate(_ s: inout PassStats, _ logp: [[Float]], rows indices: [Int], _ r: Rollout, old: [[Float]],
                           settings: Settings, rule: TokenRule) -> [[Double]] {
        let n = Double(max(r.tokenCount, 1))
        return zip(indices, logp).map { b, lp in
            lp.indices.map { k in
                let term = rule(Double(lp[k]), Double(old[b][k]), Double(r.reference[b][k]), r.advantages[b], settings)
                s.loss += term.loss / n
                s.kl += term.kl / n
                if term.clipped { s.clipFraction += 1 / n }
                return term.weight / n
            }
        }
    }

    /// The objective over a rollout, forward only (what the gradient check differentiates).
    /// Needs `rollout.old` (set by a first `forwardBackward`, or by hand).
    public static func evaluate(_ policy: GPT, _ r: Rollout, settings: Settings, rule: TokenRule = GRPO.rule) -> PassStats {
        let logp = logProbs(policy, r.rows)
        var s = PassStats()
        _ = accumulate(&s, logp, rows: Array(r.rows.indices), r, old: r.old ?? logp, settings: settings, rule: rule)
        s.tokens = r.tokenCount
        return s
    }

    /// Rows in order of length, cut into micro-batches of at most `size` rows: a batch is
    /// padded to its longest row, and one rambling reply should not pad all the others.
    public static func microBatches(_ rows: [ChatTemplate.Rendered], size: Int = 16) -> [[Int]] {
        let order = rows.indices.sorted { (rows[$0].tokens.count, $0) < (rows[$1].tokens.count, $1) }
        return stride(from: 0, to: order.count, by: size).map { Array(order[$0..<min($0 + size, order.count)]) }
    }

    /// Forward and backward over a rollout; leaves dJ/d(parameters) in `policy.grads`
    /// (zeroed first). On the first call `rollout.old` is filled from this forward pass.
    ///
    /// Each reply token gets its weight (`rule`, ÷ the rollout's reply tokens) and
    /// `crossentropy_backward` turns it into dlogits = weight · (probs - onehot), the
    /// gradient of weight · (-log π). The rows go through the model in micro-batches of
    /// similar length; their gradients add up in `policy.grads`, so the result is the same
    /// as one big batch.
    @discardableResult
    public static func forwardBackward(_ policy: GPT, _ r: inout Rollout, settings: Settings,
                                       rule: TokenRule = GRPO.rule) -> PassStats {
        policy.zeroGrad()
        let fillOld = r.old == nil
        var old = r.old ?? [[Float]](repeating: [], count: r.rows.count)
        var stats = PassStats()
        for chunk in microBatches(r.rows) {
            let batch = ChatTemplate.batch(chunk.map { r.rows[$0] })
            policy.forward(batch.inputs, B: batch.B, T: batch.T)
            let losses = batch.targets.withUnsafeBufferPointer { policy.crossEntropy($0.baseAddress!) }
            let logp = targetLogProbs(losses, batch)
            if fillOld { for (j, b) in chunk.enumerated() { old[b] = logp[j] } }
            let w = accumulate(&stats, logp, rows: chunk, r, old: old, settings: settings, rule: rule)
            weightedBackward(policy, batch) { b, k in w[b][k] }
            stats.positions += batch.B * batch.T
        }
        if fillOld { r.old = old }
        stats.tokens = r.tokenCount
        return stats
    }

    // MARK: the loop

    /// One training step, as logged.
    public struct Step: Sendable {
        /// Mean training reward over the step's replies.
        public var meanReward = 0.0
        /// Share of the step's replies the verifier accepts (= meanReward for the default reward).
        public var verifiedRate = 0.0
        /// Mean k3 per reply token, on the step's own samples, before the update.
        public var kl = 0.0
        /// Mean reply length in tokens (<|end|> included).
        public var meanLength = 0.0
        /// Share of groups whose rewards were all equal (no policy-gradient signal).
        public var allEqualFraction = 0.0
        /// Share of reply tokens clipped (on the last inner epoch; 0 with one epoch).
        public var clipFraction = 0.0
        public var loss = 0.0
        public init() {}
    }

    /// The curves of a run: one entry per step, and held-out pass@1 (greedy) every `evalEvery` steps.
    public struct Log: Sendable {
        public var steps: [Step] = []
        public var heldOut: [(step: Int, pass1: Double)] = []
        /// Tokens generated (replies) and tokens run through training passes (prompt + reply, padding included).
        public var tokensSampled = 0
        public var tokensTrained = 0
        public var sampleSeconds = 0.0
        public var seconds = 0.0
        public init() {}

        /// The mean of one per-step value over the first (or last) `fraction` of the steps (at least one step).
        public func mean(_ value: (Step) -> Double, first fraction: Double) -> Double {
            let n = max(1, Int((Double(steps.count) * fraction).rounded()))
            let part = steps.prefix(n)
            return part.isEmpty ? .nan : part.map(value).reduce(0, +) / Double(part.count)
        }
        public func mean(_ value: (Step) -> Double, last fraction: Double) -> Double {
            let n = max(1, Int((Double(steps.count) * fraction).rounded()))
            let part = steps.suffix(n)
            return part.isEmpty ? .nan : part.map(value).reduce(0, +) / Double(part.count)
        }
        /// Per-step series, for charts and the report card.
        public var rewardCurve: [Double] { steps.map(\.meanReward) }
        public var klCurve: [Double] { steps.map(\.kl) }
        public var lengthCurve: [Double] { steps.map(\.meanLength) }
        public var allEqualCurve: [Double] { steps.map(\.allEqualFraction) }
        /// Held-out pass@1 by step: each measured value held until the next.
        public var heldOutCurve: [Double] { Curves.held(heldOut.map { ($0.step, $0.pass1) }, steps: steps.count) }
    }

    /// Greedy accuracy (the verifier) on held-out problems: the periodic pass@1.
    public static func greedyAccuracy(_ model: GPT, _ problems: [RLData.Problem], maxNewTokens: Int,
                                      format: Format = .chat) throws -> Double {
        guard !problems.isEmpty else { return .nan }
        var rng = RNG(seed: 0)
        let greedy = Sampling(groupSize: 1, maxNewTokens: maxNewTokens, temperature: 0, format: format)
        var right = 0
        for chunk in problems.chunks(of: 64) {
            right += try sampleGroups(model, chunk, sampling: greedy, rng: &rng).filter { $0.samples[0].verified }.count
        }
        return Double(right) / Double(problems.count)
    }

    /// Shuffled passes over a list of prompts, one after another: `next` gives the next `k` indices.
    struct Passes {
        let count: Int
        var order: [Int] = []

        mutating func next(_ k: Int, rng: inout RNG) -> [Int] {
            while order.count < k {
                var fresh = Array(0..<count)
                rng.shuffle(&fresh)
                order = fresh + order
            }
            defer { order.removeLast(k) }
            return Array(order.suffix(k))
        }
    }

    /// Trains `policy` in place with GRPO against the frozen `reference`.
    ///
    /// Each step draws `promptsPerStep` prompts (shuffled passes over `prompts`; with
    /// `anchors`, `targetShare` of them from `prompts` and the rest from `anchors`), samples
    /// `groupSize` replies to each, computes advantages, runs the reference once over the
    /// replies, then takes `innerEpochs` AdamW steps on the batch. `heldOut` (its first
    /// `evalPrompts`) is measured greedily at step 0, every `evalEvery` steps and at the end.
    public static func train(_ policy: GPT, reference: GPT, prompts: [RLData.Problem], anchors: [RLData.Problem] = [],
                             heldOut: [RLData.Problem], settings: Settings,
                             progress: (Int, Log) -> Void = { _, _ in }) throws -> Log {
        guard !prompts.isEmpty, settings.promptsPerStep >= 1, settings.groupSize >= 1 else {
            throw StageError(description: "GRPO has no training prompts: no rung had a prompt the starting model gets right sometimes but not always")
        }
        var log = Log()
        var rng = RNG(seed: settings.seed)
        let optimizer = AdamW(for: policy, config: settings.adam)
        let evalSet = Array(heldOut.prefix(settings.evalPrompts))
        let start = Date()
        func measureHeldOut(_ step: Int) throws {
            guard !evalSet.isEmpty else { return }
            log.heldOut.append((step, try greedyAccuracy(policy, evalSet, maxNewTokens: settings.maxNewTokens, format: settings.format)))
        }
        try measureHeldOut(0)
        var targetPasses = Passes(count: prompts.count), anchorPasses = Passes(count: anchors.count)
        let fromTarget = anchors.isEmpty ? settings.promptsPerStep
            : min(settings.promptsPerStep, max(1, Int((Double(settings.promptsPerStep) * settings.targetShare).rounded())))
        for step in 0..<settings.steps {
            let picked = targetPasses.next(fromTarget, rng: &rng).map { prompts[$0] }
                + anchorPasses.next(settings.promptsPerStep - fromTarget, rng: &rng).map { anchors[$0] }

            let t0 = Date()
            let groups = try sampleGroups(policy, picked, sampling: settings.sampling, rng: &rng)
            log.sampleSeconds += Date().timeIntervalSince(t0)
            var r = rollout(groups, reference: reference)

            var s = Step()
            let samples = groups.flatMap(\.samples)
            let n = Double(max(samples.count, 1))
            s.meanReward = samples.map(\.reward).reduce(0, +) / n
            s.verifiedRate = Double(samples.filter(\.verified).count) / n
            s.meanLength = Double(samples.map(\.length).reduce(0, +)) / n
            s.allEqualFraction = Double(groups.filter(\.allEqual).count) / Double(max(groups.count, 1))
            log.tokensSampled += samples.map(\.length).reduce(0, +)

            let u = try update(policy, &r, optimizer: optimizer, settings: settings, step: step)
            log.tokensTrained += u.positions
            s.kl = u.first.kl; s.loss = u.first.loss; s.clipFraction = u.last.clipFraction
            log.steps.append(s)
            if (step + 1) % settings.evalEvery == 0 || step + 1 == settings.steps { try measureHeldOut(step + 1) }
            log.seconds = Date().timeIntervalSince(start)
            progress(step + 1, log)
        }
        return log
    }

    /// The update of one step: `innerEpochs` passes over the rollout, each followed by an
    /// AdamW step (gradients clipped first). Returns the first pass (its loss and KL are the
    /// step's, measured before the policy moved), the last one (its clip fraction), and the
    /// positions run. Lesson08's RL calls it too, on replies that made tool calls.
    public static func update(_ policy: GPT, _ r: inout Rollout, optimizer: AdamW, settings: Settings,
                              step: Int) throws -> (first: PassStats, last: PassStats, positions: Int) {
        var first = PassStats(), last = PassStats(), positions = 0
        for epoch in 0..<max(1, settings.innerEpochs) {
            let pass = try PhaseClock.measure(.train) {
                let pass = forwardBackward(policy, &r, settings: settings)
                try optimizerStep(policy, optimizer, loss: pass.loss, lr: settings.schedule.lr(step), clipNorm: settings.clipNorm, step: step + 1)
                return pass
            }
            positions += pass.positions
            if epoch == 0 { first = pass }
            last = pass
        }
        return (first, last, positions)
    }

    // MARK: measurement: pass@1 and pass@k

    /// One held-out problem: the greedy reply and n sampled ones, graded by the verifier.
    public struct Graded: Sendable {
        public let problem: RLData.Problem
        /// The prompt's tokens, as the model was asked.
        public let prompt: [Int]
        public let greedy: Sample
        public let samples: [Sample]
        public var greedyCorrect: Bool { greedy.verified }
        public var correctSamples: Int { samples.filter(\.verified).count }
    }

    /// pass@k from n samples of which c are right: the chance that k of them, drawn without
    /// replacement, include a right one, 1 - C(n-c, k)/C(n, k) (the unbiased estimator of
    /// the Codex paper). With k = n it is "any of the n is right".
    public static func passAtK(n: Int, c: Int, k: Int) -> Double {
        guard n > 0, k > 0 else { return 0 }
        if n - c < k { return 1 }
        var notAll = 1.0  // C(n-c, k) / C(n, k) = Π_{i=0}^{k-1} (n-c-i)/(n-i)
        for i in 0..<k { notAll *= Double(n - c - i) / Double(n - i) }
        return 1 - notAll
    }

    /// A model's held-out performance.
    public struct Measurement: Sendable {
        public let graded: [Graded]
        /// Samples per problem.
        public let n: Int

        /// Greedy accuracy: what the model answers when asked once.
        public var pass1: Double { rate { $0.greedyCorrect ? 1 : 0 } }
        /// pass@k from the n samples per problem (k ≤ n).
        public func pass(at k: Int) -> Double { rate { passAtK(n: $0.samples.count, c: $0.correctSamples, k: k) } }
        /// Share of sampled replies that are right (pass@1 at temperature 1).
        public var sampledAccuracy: Double { pass(at: 1) }
        /// Mean length in tokens of the sampled replies, and of the greedy ones.
        public var meanLength: Double { mean(graded.flatMap { $0.samples.map { Double($0.length) } }) }
        public var meanGreedyLength: Double { mean(graded.map { Double($0.greedy.length) }) }
        /// Share of greedy replies that open a <think> trace, and that are well-formed.
        public var thinkRate: Double { rate { $0.greedy.reply.thought != nil ? 1 : 0 } }
        public var formatRate: Double { rate { $0.greedy.reply.wellFormed ? 1 : 0 } }

        /// The same measurement on one rung's problems.
        public func cell(_ c: RLData.Cell) -> Measurement {
            Measurement(graded: graded.filter { $0.problem.cell == c }, n: n)
        }

        /// The same measurement on one family's problems.
        public func family(_ f: RLData.Family) -> Measurement {
            Measurement(graded: graded.filter { $0.problem.family == f }, n: n)
        }

        public init(graded: [Graded], n: Int) { self.graded = graded; self.n = n }

        func rate(_ f: (Graded) -> Double) -> Double { graded.isEmpty ? 0 : graded.map(f).reduce(0, +) / Double(graded.count) }
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
    }

    /// Greedy replies and `n` samples at `temperature` for each problem, graded by the verifier.
    public static func measure(_ model: GPT, _ problems: [RLData.Problem], n: Int = 8, maxNewTokens: Int = 112,
                               temperature: Float = 1, format: Format = .chat, seed: UInt64 = 0) throws -> Measurement {
        var rng = RNG(seed: seed)
        let sampled = Sampling(groupSize: n, maxNewTokens: maxNewTokens, temperature: temperature, format: format)
        var graded: [Graded] = []
        let chunkSize = max(1, 128 / max(n, 1))
        for start in stride(from: 0, to: problems.count, by: chunkSize) {
            let chunk = Array(problems[start..<min(start + chunkSize, problems.count)])
            let greedy = try sampleGroups(model, chunk, sampling: sampled.greedy, rng: &rng)
            let samples = n > 0 ? try sampleGroups(model, chunk, sampling: sampled, rng: &rng) : []
            for i in chunk.indices {
                graded.append(Graded(problem: chunk[i], prompt: greedy[i].prompt, greedy: greedy[i].samples[0],
                                     samples: n > 0 ? samples[i].samples : []))
            }
        }
        return Measurement(graded: graded, n: n)
    }

    /// Mean per-token KL(π ‖ π_ref), over the whole vocabulary, at the positions of the
    /// measurement's sampled replies: how far the policy moved, where it actually writes.
    public static func meanKL(_ policy: GPT, _ reference: GPT, _ m: Measurement) -> Double {
        EntropyKL.meanKL(policy, reference, m.graded.flatMap { g in
            g.samples.filter { !$0.completion.isEmpty }.map { row(prompt: g.prompt, completion: $0.completion) }
        })
    }
}
