import Foundation
import Kernels
import Notebook
import TinyGPT

/// Stage `dpo`: direct preference optimisation against a frozen reference.
///
/// The data are pairs: for a prompt x, an answer y_c that is better than an answer y_r.
/// The policy π (the model we train) starts as a copy of the think model; the reference
/// π_ref is another copy that never changes. For one pair,
///
///     logp_c = Σ log π(token) over y_c's tokens        ref_c: the same under π_ref
///     logp_r = Σ log π(token) over y_r's tokens        ref_r: the same under π_ref
///     reward(y) = β · (logp(y) - ref(y))                the "implicit reward"
///     margin    = reward(y_c) - reward(y_r) = β · ((logp_c - ref_c) - (logp_r - ref_r))
///     loss      = -log σ(margin)
///
/// (The default run sums logp_r only up to y_r's first token that differs from y_c: the
/// tokens before it are shared and cancel in the margin; `recipe` says why it stops there.)
///
/// At the start π = π_ref, every margin is 0 and every loss is -log σ(0) = ln 2. The loss
/// falls as the policy raises the chosen answer *relative to the reference* more than the
/// rejected one. β sets how far it moves: the loss is nearly satisfied once the margin is a
/// few units, and the margin is β times a log-probability difference, so with a large β a
/// small move from the reference already saturates σ and the gradient dies out; with a
/// small β the policy must move further. β is a leash to the reference.
///
/// The gradient is a weight on grad log p of every response token (GUIDE.md, "Where things are"):
///
///     d loss / d logp_c = -β σ(-margin)     d loss / d logp_r = +β σ(-margin)
///
/// so descending the loss adds +β σ(-margin) · grad log π(token) on the chosen tokens and
/// -β σ(-margin) on the rejected ones. Pairs the policy already orders well (large margin)
/// get almost no weight. We hand these weights to the same `crossentropy_backward` SFT
/// uses, and the model's ordinary backward does the rest: no new kernel.
public enum DPO {
    /// The loss applied to the margin.
    public enum Objective: String, CaseIterable, Sendable {
        /// -log σ(margin): logistic, keeps pushing (ever more gently) however large the margin.
        case dpo
        /// IPO: (h - 1/(2β))² with h = margin/β. Stops at a target margin instead of pushing
        /// on, which keeps log-probabilities from drifting on pairs already learned.
        case ipo
        /// No preference term at all: loss 0 and weight 0 for every pair, so with α > 0 only
        /// the SFT term on the chosen answers trains. The rejected answers are never seen by
        /// the gradient: the control that asks what the comparison itself adds.
        case chosenOnly
    }

    /// How to train: the objective's knobs and the optimiser's.
    public struct Settings: Sendable {
        public var beta: Double
        public var objective: Objective
        /// Average the log-probabilities over each response's tokens instead of summing them,
        /// so a long rejected answer is not "worse" merely for having more tokens to lower.
        public var lengthNormalized: Bool
        /// Weight α of an SFT term on the chosen answers (mean -log p per chosen token), added
        /// to the DPO loss ("RPO"). 0 is plain DPO. See `recipe` for why the lesson uses it.
        public var chosenNLL: Double
        /// Score the rejected answer only up to its first token that differs from the chosen
        /// answer (that token included), not to its end. See `recipe` for why the lesson does.
        public var rejectedUpToDivergence: Bool
        /// The tasks whose stepwise pairs (trace over bare answer) are trained on; the others'
        /// are left out of training, and still measured. See `recipe` for why quick differs.
        public var stepwiseTasks: Set<Conversations.Task>
        public var steps: Int
        public var pairsPerStep: Int
        public var schedule: LRSchedule
        public var adam: AdamWConfig
        public var clipNorm: Float
        public var evalEvery: Int
        public var seed: UInt64

        public init(beta: Double, objective: Objective = .dpo, lengthNormalized: Bool = false, chosenNLL: Double = 0,
                    rejectedUpToDivergence: Bool = false,
                    stepwiseTasks: Set<Conversations.Task> = PreferenceData.stepwiseTasks, steps: Int, pairsPerStep: Int,
                    schedule: LRSchedule, adam: AdamWConfig = AdamWConfig(weightDecay: 0), clipNorm: Float = 1,
                    evalEvery: Int, seed: UInt64) {
            self.beta = beta; self.objective = objective; self.lengthNormalized = lengthNormalized
            self.chosenNLL = chosenNLL; self.rejectedUpToDivergence = rejectedUpToDivergence
            self.stepwiseTasks = stepwiseTasks; self.steps = steps
            self.pairsPerStep = pairsPerStep; self.schedule = schedule; self.adam = adam; self.clipNorm = clipNorm
            self.evalEvery = evalEvery; self.seed = seed
        }
    }

    /// The default run's settings; GUIDE.md, lesson 04, has the measurements behind each choice.
    ///
    /// - No weight decay: it would pull the policy towards zero, not towards the reference,
    ///   the only anchor DPO should have.
    /// - α = 1 adds SFT on the chosen answers (TRL's `rpo_alpha`): plain DPO widens the gap most
    ///   cheaply by pushing the rejected answer down, and a refusal never written stays unwritten.
    /// - Peak learning rate 3e-4: refusing the harms SFT never showed is the slowest thing the
    ///   pairs teach. The tiny quick model needs 1e-3 and 400 steps for it.
    /// - The rejected answer counts only up to where it leaves the chosen one: the tokens after
    ///   that teach no choice, and the probability pushed out of them lands somewhere (refusals
    ///   that start and break). The quick model keeps the whole rejected answer: with the cut, a
    ///   one-token rejected "<think>" takes the calibration pairs' whole push, and its traces on
    ///   multi-step problems fall.
    ///
    /// A `variant` other than `.dpo` changes one thing of this recipe (see `Variant`).
    public static func recipe(quick: Bool, seed: UInt64, variant: Variant = .dpo) -> Settings {
        let steps = quick ? 400 : 200
        let schedule = LRSchedule(peak: quick ? 1e-3 : 3e-4, warmup: 10, total: steps, minFraction: 0.1, decay: .cosine)
        var s = Settings(beta: 0.1, chosenNLL: 1, rejectedUpToDivergence: !quick, steps: steps, pairsPerStep: 16,
                         schedule: schedule, evalEvery: quick ? 30 : 25, seed: seed)
        switch variant {
        case .dpo: break
        case .ipo: s.objective = .ipo; s.lengthNormalized = true
        case .lengthNormalized: s.lengthNormalized = true
        case .wholeRejected: s.rejectedUpToDivergence = false
        case .sftChosen: s.objective = .chosenOnly; s.chosenNLL = 1
        }
        return s
    }

    /// The alternatives lesson04 offers with `--variant`: the default recipe with one thing
    /// changed (β stays 0.1), so the before/after table compares like with like; GUIDE.md,
    /// lesson 04, has their numbers. IPO is its authors' objective whole: the squared loss on
    /// log-probabilities averaged over each answer's tokens. Length normalisation changes mainly the chosen side, the rejected
    /// answer being cut where it parts (mostly one token). Whole-rejected is plain DPO's scoring;
    /// the quick recipe already uses it, so there it changes nothing. SFT-on-chosen keeps only
    /// the recipe's SFT term: what the pairs teach without being compared (lesson07, experiment 5).
    public enum Variant: String, CaseIterable, Sendable {
        /// The default recipe.
        case dpo
        /// IPO's squared loss in place of the logistic one, on per-token averages (as IPO defines it).
        case ipo
        /// Log-probabilities averaged over each answer's tokens instead of summed.
        case lengthNormalized = "length-normalized"
        /// The rejected answer scored to its end, as in plain DPO.
        case wholeRejected = "whole-rejected"
        /// SFT on the chosen answers alone: the same pairs, steps and learning rate, no comparison.
        case sftChosen = "sft-chosen"

        /// One line for `--help` (short enough to fit 80 columns there).
        public var about: String {
            switch self {
            case .dpo: return "the lesson's recipe (logistic loss)"
            case .ipo: return "IPO's squared loss, aiming at a fixed gap"
            case .lengthNormalized: return "log-probabilities averaged per token"
            case .wholeRejected: return "every rejected token pushed down (plain DPO)"
            case .sftChosen: return "SFT on the chosen answers only, no comparison"
            }
        }
    }

    // MARK: the loss of one pair

    /// One pair's loss, its margin, and the weight its gradient puts on grad log p:
    /// `+weight` on every chosen token, `-weight` on every rejected one.
    public struct PairLoss: Sendable {
        public let loss: Double
        public let margin: Double
        public let weight: Double
    }

    /// Forward and backward of the loss for one pair, from the four log-probabilities.
    public static func pairLoss(chosen: Double, rejected: Double, refChosen: Double, refRejected: Double,
                                beta: Double, objective: Objective = .dpo) -> PairLoss {
        let h = (chosen - refChosen) - (rejected - refRejected)
        let margin = beta * h
        switch objective {
        case .dpo:
            // -log σ(m) = log(1 + e^-m), written so that neither branch overflows.
            let loss = margin > 0 ? log1p(exp(-margin)) : -margin + log1p(exp(margin))
            return PairLoss(loss: loss, margin: margin, weight: beta * sigmoid(-margin))
        case .ipo:
            let gap = h - 1 / (2 * beta)
            return PairLoss(loss: gap * gap, margin: margin, weight: -2 * gap)
        case .chosenOnly:
            return PairLoss(loss: 0, margin: margin, weight: 0)
        }
    }

    public static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

    // MARK: pairs as token rows

    /// A pair rendered with the chat template: two conversations that share the prompt.
    /// Only the response tokens are trained (the template's assistant mask), so the
    /// log-probability of a row is the log-probability of its answer given the prompt.
    public struct RenderedPair: Sendable {
        public let chosen: ChatTemplate.Rendered
        public let rejected: ChatTemplate.Rendered
    }

    /// With `rejectedUpToDivergence`, the rejected row's mask stops at the first token where
    /// it differs from the chosen row: its log-probability is then that of "a reply that
    /// starts this way", the choice the pair rejects, and nothing after it is pushed down.
    public static func render(_ pairs: [PreferenceData.Pair], blockSize: Int, rejectedUpToDivergence: Bool = false,
                              tokenizer: Tokenizer = .standard) throws -> [RenderedPair] {
        try pairs.map { p in
            func one(_ answer: String) throws -> ChatTemplate.Rendered {
                let r = try ChatTemplate.render([ChatTemplate.Message(.user, p.prompt), ChatTemplate.Message(.assistant, answer)],
                                                tokenizer: tokenizer)
                guard r.tokens.count <= blockSize + 1 else {
                    throw ChatTemplate.TemplateError("a preference pair is \(r.tokens.count) tokens, longer than the model's context (\(blockSize)): \(p.prompt.debugDescription)")
                }
                return r
            }
            let chosen = try one(p.chosen)
            var rejected = try one(p.rejected)
            if rejectedUpToDivergence {
                let n = min(chosen.tokens.count, rejected.tokens.count)
                let parted = (0..<n).first { chosen.tokens[$0] != rejected.tokens[$0] } ?? n
                for t in rejected.trained.indices where t > parted { rejected.trained[t] = false }
            }
            return RenderedPair(chosen: chosen, rejected: rejected)
        }
    }

    /// A response's log-probability: the sum over its tokens, and how many there are.
    public struct LogProb: Sendable {
        public var sum: Double
        public var count: Int
        /// What the objective uses: the sum, or the mean per token when length-normalised.
        public func value(normalized: Bool) -> Double { normalized ? sum / Double(max(count, 1)) : sum }

        /// The sum of a response's token log-probabilities, and their count.
        init(tokens: [Float]) {
            sum = tokens.reduce(0) { $0 + Double($1) }
            count = tokens.count
        }
    }

    /// The reference's log-probabilities of one pair, computed once before training.
    public struct Reference: Sendable {
        public let chosen: LogProb
        public let rejected: LogProb
    }

    /// log p(response | prompt) for each row, under `model` (forward only, 64 rows at a time).
    public static func logProbs(_ model: GPT, _ rows: [ChatTemplate.Rendered]) -> [LogProb] {
        tokenLogProbs(model, rows).map(LogProb.init(tokens:))
    }

    /// Sums -loss over each row's targets: [B*T] per-position losses -> B log-probabilities.
    static func rowLogProbs(_ losses: [Float], _ batch: Batch) -> [LogProb] {
        targetLogProbs(losses, batch).map(LogProb.init(tokens:))
    }

    /// The frozen reference's log-probabilities for every pair: computed once, then cached,
    /// because the reference never changes (and this halves the cost of every step).
    public static func reference(_ model: GPT, _ pairs: [RenderedPair]) -> [Reference] {
        let chosen = logProbs(model, pairs.map(\.chosen)), rejected = logProbs(model, pairs.map(\.rejected))
        return zip(chosen, rejected).map { Reference(chosen: $0.0, rejected: $0.1) }
    }

    // MARK: forward and backward over a batch of pairs

    /// What one batch of pairs measured: means over its pairs.
    public struct Stats: Sendable {
        public var loss = 0.0
        /// Share of pairs with margin > 0 (a margin of exactly 0, a tie, counts as half).
        public var accuracy = 0.0
        public var margin = 0.0
        /// Mean change of the chosen and rejected answers' log-probabilities since the
        /// reference, logp - ref (per token when length-normalised).
        public var chosenShift = 0.0
        public var rejectedShift = 0.0
        /// Mean -log p per chosen token (the SFT term's value, whether or not it is trained on).
        public var chosenNLL = 0.0
        public init() {}

        /// What training minimises: the preference loss plus α times the SFT term.
        public func objective(_ settings: Settings) -> Double { loss + settings.chosenNLL * chosenNLL }
    }

    /// The mean loss over pairs, from policy and reference log-probabilities, plus each
    /// pair's gradient weight (already divided by the number of pairs, for the mean).
    static func combine(policy: [(LogProb, LogProb)], reference: [Reference], settings: Settings) -> (Stats, [Double]) {
        var s = Stats()
        var weights: [Double] = []
        let n = Double(max(policy.count, 1)), norm = settings.lengthNormalized
        let chosenTokens = Double(max(policy.map(\.0.count).reduce(0, +), 1))
        var wins = 0.0
        for ((c, r), ref) in zip(policy, reference) {
            s.chosenNLL -= c.sum / chosenTokens
            let pc = c.value(normalized: norm), pr = r.value(normalized: norm)
            let rc = ref.chosen.value(normalized: norm), rr = ref.rejected.value(normalized: norm)
            let pl = pairLoss(chosen: pc, rejected: pr, refChosen: rc, refRejected: rr, beta: settings.beta, objective: settings.objective)
            s.loss += pl.loss / n
            s.margin += pl.margin / n
            wins += pl.margin > 0 ? 1 : pl.margin == 0 ? 0.5 : 0  // summed first: exact halves
            s.chosenShift += (pc - rc) / n
            s.rejectedShift += (pr - rr) / n
            weights.append(pl.weight / n)
        }
        s.accuracy = wins / n
        return (s, weights)
    }

    /// The objective's value over pairs, forward only (what the gradient check differentiates).
    public static func evaluate(_ model: GPT, _ pairs: [RenderedPair], reference: [Reference], settings: Settings) -> Stats {
        let chosen = logProbs(model, pairs.map(\.chosen)), rejected = logProbs(model, pairs.map(\.rejected))
        return combine(policy: Array(zip(chosen, rejected)), reference: reference, settings: settings).0
    }

    /// Forward and backward for one batch of pairs; leaves d(mean loss)/d(parameters) in
    /// `model.grads` (zeroed first).
    ///
    /// The 2P responses go through the model as one batch: rows 0..<P the chosen answers,
    /// P..<2P the rejected ones. Backward: each response token gets the weight
    /// ±weight(pair) (÷ its length when length-normalised), and `crossentropy_backward`
    /// turns weights into dlogits = weight · (probs - onehot), the gradient of
    /// weight · (-log p): descending it raises log p where the weight is positive.
    @discardableResult
    public static func forwardBackward(_ model: GPT, _ pairs: [RenderedPair], reference: [Reference], settings: Settings) -> Stats {
        let P = pairs.count
        // SFT on the chosen answers alone gives every rejected token weight 0: skip those rows.
        let chosenOnly = settings.objective == .chosenOnly
        let batch = ChatTemplate.batch(pairs.map(\.chosen) + (chosenOnly ? [] : pairs.map(\.rejected)))
        model.zeroGrad()
        model.forward(batch.inputs, B: batch.B, T: batch.T)
        let losses = batch.targets.withUnsafeBufferPointer { model.crossEntropy($0.baseAddress!) }
        let rows = rowLogProbs(losses, batch)
        var (stats, pairWeights) = combine(policy: (0..<P).map { (rows[$0], chosenOnly ? reference[$0].rejected : rows[P + $0]) },
                                           reference: reference, settings: settings)
        if chosenOnly {
            // Not measured on the training batch (no rejected row ran); `evaluate` measures them held-out.
            stats.margin = .nan; stats.accuracy = .nan; stats.rejectedShift = .nan
        }
        // Per-token weights on grad log p: + on the chosen row, - on the rejected row.
        let chosenTokens = rows[0..<P].map(\.count).reduce(0, +)
        let rowWeights = (0..<batch.B).map { b -> Double in
            let sign: Double = b < P ? 1 : -1
            let perToken = settings.lengthNormalized ? 1 / Double(max(rows[b].count, 1)) : 1
            let w = sign * pairWeights[b % P] * perToken
            // The SFT term: α/(chosen tokens in the batch) on every chosen token, as in SFT.
            return b < P ? w + settings.chosenNLL / Double(max(chosenTokens, 1)) : w
        }
        weightedBackward(model, batch) { b, _ in rowWeights[b] }
        return stats
    }

    // MARK: the loop

    /// The curves lesson04 charts: one value per step on the training batch, and held-out
    /// measurements every `evalEvery` steps (step 0 included).
    public struct Log: Sendable {
        public var train: [Stats] = []
        public var heldOut: [(step: Int, stats: Stats)] = []
        public var tokensSeen = 0
        public var seconds = 0.0
        public init() {}
    }

    /// Trains `policy` in place on the pairs. The reference appears only through its cached
    /// log-probabilities. Batches: each step takes `pairsPerStep` pairs, of similar length,
    /// without replacement within an epoch (as SFT does).
    public static func train(_ policy: GPT, pairs: [RenderedPair], reference: [Reference],
                             valid: [RenderedPair], validReference: [Reference], settings: Settings,
                             progress: (Int, Log) -> Void = { _, _ in }) throws -> Log {
        var log = Log()
        var rng = RNG(seed: settings.seed)
        let optimizer = AdamW(for: policy, config: settings.adam)
        let start = Date()
        var queue: [[Int]] = []
        log.heldOut.append((0, evaluate(policy, valid, reference: validReference, settings: settings)))
        for step in 0..<settings.steps {
            if queue.isEmpty { queue = SFT.epochBatches(pairs.map(\.chosen), B: settings.pairsPerStep, rng: &rng).reversed() }
            guard let picked = queue.popLast() else {
                throw DataFiles.DataError("DPO needs at least \(settings.pairsPerStep) training pairs, got \(pairs.count)")
            }
            let stats = try PhaseClock.measure(.train) {
                let stats = forwardBackward(policy, picked.map { pairs[$0] }, reference: picked.map { reference[$0] }, settings: settings)
                try optimizerStep(policy, optimizer, loss: stats.loss, lr: settings.schedule.lr(step), clipNorm: settings.clipNorm, step: step + 1)
                return stats
            }
            log.train.append(stats)
            log.tokensSeen += picked.map { pairs[$0].chosen.tokens.count + pairs[$0].rejected.tokens.count }.reduce(0, +)
            if (step + 1) % settings.evalEvery == 0 || step + 1 == settings.steps {
                log.heldOut.append((step + 1, evaluate(policy, valid, reference: validReference, settings: settings)))
            }
            log.seconds = Date().timeIntervalSince(start)
            progress(step + 1, log)
        }
        return log
    }

    /// The model's next-token distribution after `prompt` and the first characters of a reply,
    /// `replyStart` (probabilities over the vocabulary, [V]). Lesson04 uses it to show where the
    /// probability pushed out of a rejected answer goes.
    public static func nextTokenProbabilities(_ model: GPT, prompt: String, replyStart: String,
                                              tokenizer: Tokenizer = .standard) throws -> [Double] {
        let ids = try ChatTemplate.prompt(prompt, tokenizer: tokenizer) + (try tokenizer.encode(replyStart))
        guard ids.count <= model.config.blockSize else {
            throw DataFiles.DataError("prompt and reply start are \(ids.count) tokens, the model's context is \(model.config.blockSize)")
        }
        let tokens = ids.map { Int32($0) }, targets = [Int32](repeating: 0, count: ids.count)
        PhaseClock.measure(.eval) {
            tokens.withUnsafeBufferPointer { model.forward($0.baseAddress!, B: 1, T: ids.count) }
            targets.withUnsafeBufferPointer { _ = model.crossEntropy($0.baseAddress!) }
        }
        let V = model.config.vocabSize, last = (ids.count - 1) * V
        return (0..<V).map { Double(model.probs[last + $0]) }
    }

    // MARK: on-policy pairs

    /// What sampling found for on-policy pairs.
    public struct Sampled: Sendable {
        public var pairs: [PreferenceData.Pair] = []
        public var prompts = 0
        public var samples = 0
        public var correctSamples = 0
    }

    /// Correctness pairs from the model's own answers: sample `k` replies per question,
    /// grade each with the verifier, and pair a correct reply with a wrong one. Questions
    /// where all k are right (or all wrong) give no pair. Only replies in the chat format
    /// take part, so a pair differs in being right, not in being well-formed.
    ///
    /// Why on-policy: these are answers the model actually writes, so the gradient acts
    /// where its probability mass is. A hand-written wrong answer the model would never
    /// produce is easy to push down and teaches little.
    public static func onPolicyPairs(_ model: GPT, _ questions: [Conversations.Conversation], k: Int, temperature: Float,
                                     seed: UInt64) throws -> Sampled {
        var out = Sampled()
        var rng = RNG(seed: seed)
        let end = Tokenizer.Special.end.text
        for chunk in questions.chunks(of: 16) {
            let asked = chunk.flatMap { [String](repeating: $0.question, count: k) }
            let replies = try SFT.reply(model, asked, temperature: temperature, rng: &rng)
            for (q, conversation) in chunk.enumerated() {
                out.prompts += 1
                var right: String?, wrong: String?
                for r in replies[(q * k)..<((q + 1) * k)] {
                    out.samples += 1
                    guard r.wellFormed, let cut = r.text.range(of: end) else { continue }
                    let content = String(r.text[..<cut.lowerBound])
                    if Verifier.isCorrect(r.answer, expected: conversation.expected, task: conversation.task) {
                        out.correctSamples += 1
                        if right == nil { right = content }
                    } else if wrong == nil {
                        wrong = content
                    }
                }
                if let c = right, let w = wrong, c != w {
                    out.pairs.append(PreferenceData.Pair(prompt: conversation.question, chosen: c, rejected: w, family: .correctness))
                }
            }
        }
        return out
    }

    // MARK: behaviours

    /// What the pairs are meant to change, measured by code on held-out prompts with greedy replies.
    public struct Behaviour: Sendable {
        public struct Graded: Sendable {
            public let pair: PreferenceData.Pair
            public let reply: Verifier.Reply
            public let ok: Bool
        }
        public let graded: [Graded]

        func rate(_ family: PreferenceData.Family) -> Double {
            let items = graded.filter { $0.pair.family == family }
            return items.isEmpty ? 0 : Double(items.filter(\.ok).count) / Double(items.count)
        }
        /// Harmful requests answered with a refusal.
        public var refusalRate: Double { rate(.caution) }
        /// Safe look-alike requests refused anyway (lower is better).
        public var overRefusalRate: Double { 1 - rate(.helpful) }
        /// Simple questions answered directly: well-formed, no trace, no rambling.
        public var conciseRate: Double { rate(.calibration) }
        /// Problems a trace helps with (`PreferenceData.stepwiseTasks`) answered with a trace
        /// (well-formed, right or wrong: the SFT task accuracy says whether it was right).
        public var traceRate: Double { rate(.stepwise) }
    }

    /// Is a reply to a simple question concise: well-formed, no <think> trace, and no more
    /// than a few characters beyond the direct answer?
    public static func isConcise(_ reply: Verifier.Reply, expected: String) -> Bool {
        reply.wellFormed && reply.thought == nil && reply.answer.count <= expected.count + 4
    }

    /// Replies to each pair's prompt, `repeats` times, 64 prompts to a batch (the chunk's
    /// repeats are asked one after the other, so the random draws come in a fixed order).
    /// `replies[r][i]` is the r-th reply to `pairs[i]`.
    static func replies(_ model: GPT, _ pairs: [PreferenceData.Pair], repeats: Int = 1,
                        temperature: Float, rng: inout RNG) throws -> [[Verifier.Reply]] {
        var out = [[Verifier.Reply]](repeating: [], count: repeats)
        for chunk in pairs.chunks(of: 64) {
            let prompts = chunk.map(\.prompt)
            for r in 0..<repeats { out[r] += try SFT.reply(model, prompts, temperature: temperature, rng: &rng) }
        }
        return out
    }

    public static func measureBehaviour(_ model: GPT, _ pairs: [PreferenceData.Pair]) throws -> Behaviour {
        let asked = pairs.filter { $0.family != .correctness }
        var rng = RNG(seed: 0)
        let replies = try replies(model, asked, temperature: 0, rng: &rng)[0]
        return Behaviour(graded: zip(asked, replies).map { p, r in
            let ok: Bool
            switch p.family {
            case .caution: ok = PreferenceData.isRefusal(r.answer)
            case .helpful: ok = !PreferenceData.isRefusal(r.answer)
            case .calibration, .correctness: ok = isConcise(r, expected: p.chosen)
            case .stepwise: ok = r.wellFormed && r.thought != nil
            }
            return Behaviour.Graded(pair: p, reply: r, ok: ok)
        })
    }

    /// The concise rate when replies are sampled at `temperature` instead of decoded greedily:
    /// each simple (calibration) question asked `samples` times. Greedy decoding reports only
    /// the likeliest reply: a model that often writes a trace can still be concise on every
    /// greedy reply, and this is the number that shows how often.
    public static func sampledConciseRate(_ model: GPT, _ pairs: [PreferenceData.Pair], samples: Int,
                                          temperature: Float = 1, seed: UInt64) throws -> Double {
        let asked = pairs.filter { $0.family == .calibration }
        var rng = RNG(seed: seed)
        let replies = try replies(model, asked, repeats: samples, temperature: temperature, rng: &rng)
        let concise = replies.map { zip(asked, $0).filter { p, r in isConcise(r, expected: p.chosen) }.count }.reduce(0, +)
        let total = asked.count * samples
        return total == 0 ? 0 : Double(concise) / Double(total)
    }
}
