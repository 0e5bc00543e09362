import Foundation
import Kernels
import Notebook
import TinyGPT

/// Stage `tools`: the dpo model learns to call a calculator and a toy-world lookup.
///
/// Two new special tokens first (<|call|>, <|result|>: `GPT.growingVocabulary`), then SFT on
/// `ToolData`'s conversations with the chat template's tool turns: the call's tokens carry
/// loss, the runner's result does not. This is SFT exactly as lesson03 ran it (`SFT.train`);
/// only the data and the vocabulary are new.
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

    // MARK: the stage

    /// What one run produced.
    public struct Result {
        public let model: GPT
        public let log: TrainLog
        /// The starting model without tools, on the held-out products.
        public let multiplyWithoutTools: Double
        public let after: Measurement
    }

    /// The tools stage, from the dpo model to its saved checkpoint. lesson08 calls its steps
    /// one at a time; `run` (tests, `course`, `chat`) calls them all: one code path.
    public struct Stage {
        public let quick: Bool
        public let seed: UInt64

        public init(quick: Bool, seed: UInt64) { self.quick = quick; self.seed = seed }

        public var recipe: TrainConfig { ToolTraining.recipe(quick: quick, seed: seed) }

        /// The model the stage starts from: lesson04's dpo model, loaded, or trained now if missing.
        public func startingModel(run: RunDirectory, say: (String) -> Void,
                                  progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
            try DPO.loadOrTrain(run: run, quick: quick, seed: seed, say: say, progress: progress)
        }

        /// The starting model with the two tool tokens added.
        public func grown(_ start: GPT) throws -> GPT {
            try start.growingVocabulary(to: tokenizer.vocabSize)
        }

        /// Grows the vocabulary, fine-tunes on the tool conversations, measures.
        public func run(from start: GPT, splits: ToolData.Splits? = nil,
                        progress: (TrainProgress) -> Void = { _ in }) throws -> Result {
            let splits = try splits ?? data()
            let model = try grown(start)
            let rows = try render(splits.train, blockSize: model.config.blockSize)
            let valid = try render(splits.valid, blockSize: model.config.blockSize)
            let log = try SFT.train(model, rows: rows, evalBatches: SFT.evalBatches(valid, maxBatches: quick ? 4 : 8),
                                    config: recipe, progress: progress)
            let held = evalSet(splits, quick: quick)
            let withoutTools = try accuracyWithoutTools(start, held.filter { $0.kind == .multiply })
            return Result(model: model, log: log, multiplyWithoutTools: withoutTools, after: try measure(model, held))
        }

        /// Writes the model as stage `tools` with its metrics and curves; returns the metrics.
        @discardableResult
        public func save(_ r: Result, to run: RunDirectory) throws -> [String: Double] {
            let metrics = ToolTraining.metrics(r)
            try saveStage(.tools, model: r.model, step: recipe.steps, metrics: metrics, to: run, curves: Curves(r.log))
            return metrics
        }
    }

    /// The report keys of the SFT half of the stage.
    public static func metrics(_ r: Result) -> [String: Double] {
        let a = r.after
        return [
            "call_format_rate": a.callFormatRate, "mult_acc_no_tools": r.multiplyWithoutTools,
            "mult_acc_tools": a.accuracy(.multiply), "lookup_fact_acc": a.accuracy(.fact),
            "needed_call_rate": a.neededCallRate, "needless_call_rate": a.needlessCallRate, "task_acc": a.accuracy,
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
