import Foundation
import Kernels
import Notebook
import TinyGPT

/// Stage `tools`: the dpo model learns to call a calculator and a toy-world lookup.
///
/// Two new special tokens first (<|call|>, <|result|>: `GPT.growingVocabulary`), then SFT on
/// `ToolData`'s conversations with the chat template's tool turns: the call's tokens carry
/// loss, the runner's result does not. This is SFT exactly as lesson03 ran it (`SFT.train`);
/// only the data and the vocabulary are new. Then RL (`reinforce`): GRPO with the tools
/// running and a reward of the right answer minus a cost per call, which teaches when a call
/// is worth making.
public enum ToolTraining {
    /// The training settings.
    public static func recipe(quick: Bool, seed: UInt64) -> TrainConfig {
        if quick {
            let steps = 300
            let schedule = LRSchedule(peak: 3e-3, warmup: 10, total: steps, minFraction: 0.1, decay: .cosine)
            return TrainConfig(steps: steps, batchSize: 32, seqLen: 0, schedule: schedule, evalEvery: 50, seed: seed)
        }
        let steps = 2500
        let schedule = LRSchedule(peak: 1e-3, warmup: 20, total: steps, minFraction: 0.1, decay: .cosine)
        return TrainConfig(steps: steps, batchSize: 16, seqLen: 0, schedule: schedule, evalEvery: 250, seed: seed)
    }

    /// The two files from data/tools.
    public static func data() throws -> ToolData.Splits {
        guard let dir = DataFiles.defaultDataDirectory() else {
            throw DataFiles.DataError("cannot find the package's data/ folder (run from inside the package, or run `swift run make-data`)")
        }
        return try DataFiles.loadTools(from: dir)
    }

    /// The vocabulary every tools model uses.
    public static let tokenizer = Tokenizer.withTools

    /// Renders conversations with the tool template; each must fit the model's context.
    public static func render(_ examples: [ToolData.Example], blockSize: Int) throws -> [ChatTemplate.Rendered] {
        try examples.map { e in
            let r = try ChatTemplate.render(e.messages, tokenizer: tokenizer)
            guard r.tokens.count <= blockSize + 1 else {
                throw ChatTemplate.TemplateError("a \(e.kind.rawValue) conversation is \(r.tokens.count) tokens, longer than the model's context (\(blockSize)): \(e.question.debugDescription)")
            }
            return r
        }
    }

    // MARK: measurements

    /// A model with tools, on held-out questions of every kind, greedily.
    public struct Measurement: Sendable {
        public struct Graded: Sendable {
            public let example: ToolData.Example
            public let reply: ToolUse.Reply
            public let correct: Bool
            /// It made at least one call.
            public var called: Bool { !reply.calls.isEmpty }
        }

        public let graded: [Graded]

        /// Of all calls made, the share that named a tool and gave it valid arguments.
        public var callFormatRate: Double {
            let calls = graded.flatMap(\.reply.calls)
            return calls.isEmpty ? 0 : Double(calls.filter(\.wellFormed).count) / Double(calls.count)
        }
        /// Calls made, in all.
        public var callCount: Int { graded.map(\.reply.calls.count).reduce(0, +) }
        /// Accuracy on one kind of question.
        public func accuracy(_ kind: ToolData.Kind) -> Double { rate(graded.filter { $0.example.kind == kind }) { $0.correct } }
        /// Accuracy over every held-out question.
        public var accuracy: Double { rate(graded) { $0.correct } }
        /// Questions that need a tool, answered with at least one call.
        public var neededCallRate: Double { rate(graded.filter { $0.example.kind.needsTool }) { $0.called } }
        /// Questions that need none, answered with a call anyway.
        public var needlessCallRate: Double { rate(graded.filter { !$0.example.kind.needsTool }) { $0.called } }
        /// Share of one kind's questions answered with a call.
        public func callRate(_ kind: ToolData.Kind) -> Double { rate(graded.filter { $0.example.kind == kind }) { $0.called } }

        func rate(_ items: [Graded], _ ok: (Graded) -> Bool) -> Double {
            items.isEmpty ? 0 : Double(items.filter(ok).count) / Double(items.count)
        }
    }

    /// The held-out questions every measurement asks: the first `perKind` of each kind.
    public static func evalSet(_ splits: ToolData.Splits, quick: Bool) -> [ToolData.Example] {
        let perKind = quick ? 30 : ToolData.validCount
        return ToolData.Kind.allCases.flatMap { kind in splits.valid.filter { $0.kind == kind }.prefix(perKind) }
    }

    /// Asks every question with tools available, greedily, and grades the final answers.
    public static func measure(_ model: GPT, _ examples: [ToolData.Example]) throws -> Measurement {
        var rng = RNG(seed: 0)
        let replies = try ToolUse.reply(model, examples.map(\.question), temperature: 0, rng: &rng, tokenizer: tokenizer)
        return Measurement(graded: zip(examples, replies).map { e, r in
            .init(example: e, reply: r, correct: Verifier.isCorrect(r.answer, expected: e.answer, task: e.task))
        })
    }

    /// Made to open a call (the prompt ends in <|call|>), the calls a model writes: each one's
    /// text, and whether it is well formed (it ends with <|result|>, names a tool, and its
    /// arguments are valid). Before tool SFT this shows what the model makes of the new token.
    public static func forcedCalls(_ model: GPT, _ examples: [ToolData.Example]) throws -> [(text: String, wellFormed: Bool)] {
        var rng = RNG(seed: 0)
        let end = tokenizer.id(.end), result = tokenizer.id(.result)
        var out: [(String, Bool)] = []
        for chunk in examples.chunks(of: 64) {
            let prompts = try chunk.map { try ChatTemplate.prompt($0.question, tokenizer: tokenizer) + [tokenizer.id(.call)] }
            let options = SamplingOptions(temperature: 0, stopToken: end, alsoStopAt: [result], maxNewTokens: 24)
            for c in PhaseClock.measure(.sample, { model.generate(prompts: prompts, options: options, rng: &rng) }) {
                let closed = c.stopped && c.tokens.last == result
                let text = tokenizer.decode(closed ? Array(c.tokens.dropLast()) : c.tokens)
                out.append((text, closed && !Tools.run(text).isError))
            }
        }
        return out
    }

    /// The share of questions a model without tools (any chat model of the course) answers right, greedily.
    public static func accuracyWithoutTools(_ model: GPT, _ examples: [ToolData.Example]) throws -> Double {
        guard !examples.isEmpty else { return 0 }
        var rng = RNG(seed: 0)
        var right = 0
        for chunk in examples.chunks(of: 64) {
            let replies = try SFT.reply(model, chunk.map(\.question), temperature: 0, rng: &rng)
            right += zip(chunk, replies).filter { Verifier.isCorrect($1.answer, expected: $0.answer, task: $0.task) }.count
        }
        return Double(right) / Double(examples.count)
    }

    // MARK: RL: when to call

    /// What a call costs in reward: a right answer earns 1, each call takes this much off, so
    /// a call pays only where the model would otherwise be wrong.
    public static let callCost = 0.3

    /// The reward of one reply: 1 for a right final answer, minus `callCost` per call.
    public static func reward(_ reply: ToolUse.Reply, _ e: ToolData.Example) -> Double {
        (Verifier.isCorrect(reply.answer, expected: e.answer, task: e.task) ? 1 : 0) - callCost * Double(reply.calls.count)
    }

    /// GRPO's settings for the RL half: lesson05's machinery, a few dozen steps. Replies get
    /// the room the held-out measurement gives them: a cut-off trace has no answer, and would
    /// make every direct answer look wrong, so that calls seem to pay everywhere.
    public static func rlRecipe(quick: Bool, seed: UInt64) -> GRPO.Settings {
        let steps = quick ? 30 : 40
        let schedule = LRSchedule(peak: quick ? 1e-3 : 2e-4, warmup: 5, total: steps, minFraction: 0.1, decay: .constant)
        return GRPO.Settings(groupSize: 16, promptsPerStep: 8, steps: steps, schedule: schedule, beta: 0.1,
                             maxNewTokens: ToolUse.replyTokens, evalEvery: steps, evalPrompts: 0, seed: seed)
    }

    /// RL's training questions: the same number of each kind from the training file, so the
    /// kinds where the judgment is made (a sum the model can do alone) come up as often as the rest.
    public static func rlQuestions(_ splits: ToolData.Splits, perKind: Int = 200) -> [ToolData.Example] {
        ToolData.Kind.allCases.filter { $0 != .string }.flatMap { k in splits.train.filter { $0.kind == k }.prefix(perKind) }
    }

    /// One RL step, as logged.
    public struct RLStep: Sendable {
        public var meanReward = 0.0
        /// Share of sampled replies with a right final answer.
        public var rightRate = 0.0
        /// Calls per reply, on questions that need a tool and on those that do not.
        public var neededCalls = 0.0
        public var needlessCalls = 0.0
        public var kl = 0.0
        /// Replies to questions needing no tool that made no call, and how many of those were right.
        public var directReplies = 0
        public var directRight = 0
    }

    /// Samples G replies with tools for each question, scores them, and returns the rows
    /// (the runner's tokens untrained) with their group-relative advantages.
    static func sampleRollout(_ policy: GPT, _ picked: [ToolData.Example], settings: GRPO.Settings,
                              rng: inout RNG) throws -> (rows: [ChatTemplate.Rendered], advantages: [Double], step: RLStep) {
        let G = settings.groupSize
        let prompts = try picked.map { try ChatTemplate.prompt($0.question, tokenizer: tokenizer) }
        let replies = ToolUse.generate(policy, prompts: prompts.flatMap { Array(repeating: $0, count: G) },
                                       temperature: settings.temperature, maxNewTokens: settings.maxNewTokens, rng: &rng)
        var rows: [ChatTemplate.Rendered] = [], advantages: [Double] = [], s = RLStep()
        var needed = 0, needless = 0
        for (i, e) in picked.enumerated() {
            let group = Array(replies[(i * G)..<((i + 1) * G)])
            let rewards = group.map { reward($0, e) }
            advantages += GRPO.advantages(rewards, normalizeStd: settings.normalizeStd, epsilon: settings.stdEpsilon)
            for r in group {
                rows.append(ChatTemplate.Rendered(tokens: prompts[i] + r.tokens,
                                                  trained: Array(repeating: false, count: prompts[i].count) + r.byModel))
                if Verifier.isCorrect(r.answer, expected: e.answer, task: e.task) { s.rightRate += 1 }
                if e.kind.needsTool { s.neededCalls += Double(r.calls.count); needed += 1 } else { s.needlessCalls += Double(r.calls.count); needless += 1 }
                if !e.kind.needsTool && r.calls.isEmpty {
                    s.directReplies += 1
                    if Verifier.isCorrect(r.answer, expected: e.answer, task: e.task) { s.directRight += 1 }
                }
            }
            s.meanReward += rewards.reduce(0, +)
        }
        let n = Double(max(replies.count, 1))
        s.meanReward /= n; s.rightRate /= n
        s.neededCalls /= Double(max(needed, 1)); s.needlessCalls /= Double(max(needless, 1))
        return (rows, advantages, s)
    }

    /// Trains `policy` in place with GRPO against the frozen `reference` (the SFT model), on
    /// the training questions of every kind, with tools running: reward = right answer minus
    /// the calls' cost. Only the model's own tokens carry the update.
    public static func reinforce(_ policy: GPT, reference: GPT, questions: [ToolData.Example], settings: GRPO.Settings,
                                 progress: (Int, [RLStep]) -> Void = { _, _ in }) throws -> [RLStep] {
        guard !questions.isEmpty else { throw StageError(description: "tool RL has no training questions") }
        var rng = RNG(seed: settings.seed ^ 0x7007)
        let optimizer = AdamW(for: policy, config: settings.adam)
        var order: [Int] = []
        var log: [RLStep] = []
        for step in 0..<settings.steps {
            if order.count < settings.promptsPerStep {
                var fresh = Array(questions.indices)
                rng.shuffle(&fresh)
                order = fresh + order
            }
            let picked = order.suffix(settings.promptsPerStep).map { questions[$0] }
            order.removeLast(settings.promptsPerStep)
            let sampled = try sampleRollout(policy, picked, settings: settings, rng: &rng)
            var r = GRPO.Rollout(rows: sampled.rows, advantages: sampled.advantages,
                                 reference: GRPO.logProbs(reference, sampled.rows))
            let u = try GRPO.update(policy, &r, optimizer: optimizer, settings: settings, step: step)
            var s = sampled.step
            s.kl = u.first.kl
            log.append(s)
            progress(step + 1, log)
        }
        return log
    }

    // MARK: the stage

    /// What one run produced.
    public struct Result {
        /// The final model: SFT, then RL.
        public let model: GPT
        public let log: TrainLog
        /// The starting model without tools, on the held-out products.
        public let multiplyWithoutTools: Double
        /// The SFT model, and its held-out measurement: where RL starts.
        public let sft: GPT
        public let afterSFT: Measurement
        public let rlLog: [RLStep]
        /// The final model's held-out measurement.
        public let after: Measurement

        public init(model: GPT, log: TrainLog, multiplyWithoutTools: Double, sft: GPT, afterSFT: Measurement,
                    rlLog: [RLStep], after: Measurement) {
            self.model = model; self.log = log; self.multiplyWithoutTools = multiplyWithoutTools; self.sft = sft
            self.afterSFT = afterSFT; self.rlLog = rlLog; self.after = after
        }
    }

    /// The tools stage, from the dpo model to its saved checkpoint. lesson08 calls its steps
    /// one at a time; `run` (tests, `course`, `chat`) calls them all: one code path.
    public struct Stage {
        public let quick: Bool
        public let seed: UInt64

        public init(quick: Bool, seed: UInt64) { self.quick = quick; self.seed = seed }

        public var recipe: TrainConfig { ToolTraining.recipe(quick: quick, seed: seed) }
        public var rlSettings: GRPO.Settings { ToolTraining.rlRecipe(quick: quick, seed: seed) }

        /// The model the stage starts from: lesson04's dpo model, loaded, or trained now if missing.
        public func startingModel(run: RunDirectory, say: (String) -> Void,
                                  progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
            try DPO.loadOrTrain(run: run, quick: quick, seed: seed, say: say, progress: progress)
        }

        /// The starting model with the two tool tokens added.
        public func grown(_ start: GPT) throws -> GPT {
            try start.growingVocabulary(to: tokenizer.vocabSize)
        }

        /// Grows the vocabulary and fine-tunes on the tool conversations (the SFT half).
        public func fineTune(_ start: GPT, splits: ToolData.Splits,
                             progress: (TrainProgress) -> Void = { _ in }) throws -> (model: GPT, log: TrainLog) {
            let model = try grown(start)
            let rows = try render(splits.train, blockSize: model.config.blockSize)
            let valid = try render(splits.valid, blockSize: model.config.blockSize)
            let log = try SFT.train(model, rows: rows, evalBatches: SFT.evalBatches(valid, maxBatches: quick ? 4 : 8),
                                    config: recipe, progress: progress)
            return (model, log)
        }

        /// RL from a copy of the SFT model (the SFT model itself is the frozen reference).
        public func reinforce(_ sft: GPT, splits: ToolData.Splits,
                              progress: (Int, [RLStep]) -> Void = { _, _ in }) throws -> (model: GPT, log: [RLStep]) {
            let policy = sft.copy()
            let log = try ToolTraining.reinforce(policy, reference: sft, questions: rlQuestions(splits), settings: rlSettings,
                                                 progress: progress)
            return (policy, log)
        }

        /// The whole stage: SFT, then RL, each measured on the held-out questions.
        public func run(from start: GPT, splits: ToolData.Splits? = nil,
                        progress: (TrainProgress) -> Void = { _ in }) throws -> Result {
            let splits = try splits ?? data()
            let sft = try fineTune(start, splits: splits, progress: progress)
            let held = evalSet(splits, quick: quick)
            let withoutTools = try accuracyWithoutTools(start, held.filter { $0.kind == .multiply })
            let rl = try reinforce(sft.model, splits: splits)
            return Result(model: rl.model, log: sft.log, multiplyWithoutTools: withoutTools, sft: sft.model,
                          afterSFT: try measure(sft.model, held), rlLog: rl.log, after: try measure(rl.model, held))
        }

        /// Writes the model as stage `tools` with its metrics and curves; returns the metrics.
        @discardableResult
        public func save(_ r: Result, to run: RunDirectory) throws -> [String: Double] {
            let metrics = ToolTraining.metrics(r)
            try saveStage(.tools, model: r.model, step: recipe.steps, metrics: metrics, to: run, curves: Curves(r.log))
            return metrics
        }
    }

    /// The report keys: the final model's, and with `_before` the SFT model's (where RL started).
    public static func metrics(_ r: Result) -> [String: Double] {
        let a = r.after, b = r.afterSFT
        return [
            "call_format_rate": a.callFormatRate, "mult_acc_no_tools": r.multiplyWithoutTools,
            "mult_acc_tools": a.accuracy(.multiply), "lookup_fact_acc": a.accuracy(.fact),
            "needed_call_rate": a.neededCallRate, "needless_call_rate": a.needlessCallRate, "task_acc": a.accuracy,
            "needed_call_rate_before": b.neededCallRate, "needless_call_rate_before": b.needlessCallRate,
            "task_acc_before": b.accuracy,
            "train_tokens": Double(r.log.tokensSeen), "train_seconds": r.log.seconds,
        ]
    }

    /// The tools model from `run`'s checkpoint, or, if there is none yet, trained now from
    /// the dpo model (itself trained first if missing) and saved.
    public static func loadOrTrain(run: RunDirectory, quick: Bool, seed: UInt64, say: (String) -> Void,
                                   progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
        try run.prepare()
        let path = run.checkpoint(.tools)
        if FileManager.default.fileExists(atPath: path) {
            return try loadStage(.tools, from: run).0
        }
        let stage = Stage(quick: quick, seed: seed)
        let start = try stage.startingModel(run: run, say: say, progress: progress)
        say("No tools model at \(path) yet: lesson08-tools makes it, so it is trained now.")
        let result = try stage.run(from: start, progress: progress)
        try stage.save(result, to: run)
        return result.model
    }
}
