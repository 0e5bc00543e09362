import Foundation
import Kernels
import Notebook
import TinyGPT

/// Stages `instruct` and `think`: supervised fine-tuning on chat conversations.
///
/// SFT is pretraining's training step with a different weight per token (GUIDE.md, "Where things are"):
/// each conversation is rendered with the chat template, and only the assistant's tokens
/// have targets; prompt and padding positions get target -1 and count for nothing.
/// Everything else (forward, cross-entropy, backward, AdamW) is `trainStep`, unchanged.
public enum SFT {
    public typealias Style = Conversations.Style
    public typealias Conversation = Conversations.Conversation

    /// The stage each style writes.
    public static func stage(_ style: Style) -> Curriculum.Stage { style == .instruct ? .instruct : .think }

    /// The training settings. Both styles start from `mid`. Think replies are about twice as
    /// long, so with as many steps the think model reads about twice the tokens. (`seqLen` is
    /// unused: each batch is as long as its longest conversation.)
    ///
    /// Many small steps, because what SFT has to learn here is copying from the prompt: the
    /// word to reverse, the digits of a column. That is learned late and suddenly, after a
    /// plateau where the model writes well-formed replies with the wrong letters; fewer,
    /// bigger steps stop on the plateau (docs/experiments.md).
    ///
    /// The quick think model is what quick DPO starts from, and DPO can only raise a refusal
    /// the model can already write and tell apart from help: its SFT gets the small steps too.
    public static func recipe(_ style: Style, quick: Bool, seed: UInt64) -> TrainConfig {
        if quick && style == .think {
            let steps = 4000
            let schedule = LRSchedule(peak: 1e-3, warmup: 20, total: steps, minFraction: 0.1, decay: .cosine)
            return TrainConfig(steps: steps, batchSize: 8, seqLen: 0, schedule: schedule, evalEvery: 1000, seed: seed)
        }
        if quick {
            let steps = 200
            let schedule = LRSchedule(peak: 3e-3, warmup: 10, total: steps, minFraction: 0.1, decay: .cosine)
            return TrainConfig(steps: steps, batchSize: 32, seqLen: 0, schedule: schedule, evalEvery: 50, seed: seed)
        }
        let steps = 8000
        let schedule = LRSchedule(peak: 1e-3, warmup: 20, total: steps, minFraction: 0.1, decay: .cosine)
        return TrainConfig(steps: steps, batchSize: 8, seqLen: 0, schedule: schedule, evalEvery: 500, seed: seed)
    }

    // MARK: data

    /// The four SFT files from data/sft.
    public static func data() throws -> Conversations.Splits {
        guard let dir = DataFiles.defaultDataDirectory() else {
            throw DataFiles.DataError("cannot find the package's data/ folder (run from inside the package, or run `swift run make-data`)")
        }
        return try DataFiles.loadSFT(from: dir)
    }

    /// What each style trains on. Instruct: the instruct conversations. Think: every think
    /// conversation, plus one in `thinkDirectEvery(quick:)` of the basic tasks' direct
    /// replies, so the model mostly thinks first but has seen the bare answers too; a
    /// multi-step problem only ever comes with its trace.
    ///
    /// Requests about pets have no trace: their instruct and think conversations are the same.
    /// The default recipe takes them from the think files only; the quick one keeps the set it
    /// always had, every instruct conversation of a basic task included, so they come twice.
    public static func trainingSet(_ style: Style, _ splits: Conversations.Splits, quick: Bool) -> [Conversation] {
        switch style {
        case .instruct: return splits.instructTrain
        case .think:
            let every = thinkDirectEvery(quick: quick)
            let direct = splits.instructTrain.filter { !$0.task.isMultiStep && (every == 1 || $0.task != .care) }
            return stride(from: 0, to: direct.count, by: every).map { direct[$0] } + splits.thinkTrain
        }
    }

    /// The think set keeps one in this many of the basic tasks' direct replies. A think model
    /// that writes a trace for everything, even "Is pop a palindrome?", is what lesson04's
    /// calibration pairs exist to correct: with every direct reply kept, the think model is
    /// concise already and DPO has little to show; with none, DPO must teach bare answers the
    /// model never wrote (docs/experiments.md).
    ///
    /// The quick recipe keeps every direct reply (and the pet requests twice): its tiny think
    /// model, taught to trace more, lost the chat format and what quick GRPO gained on it.
    public static func thinkDirectEvery(quick: Bool) -> Int { quick ? 1 : 3 }

    /// Mid-training's fact lines, rehearsed among SFT's conversations: every toy-world fact
    /// as mid-training wrote it ("Q: Where does Mia live? A: by the lake", the held-out ones
    /// too, as mid-training had them), loss on the whole line, `copies` times each. Without
    /// them SFT wears away the facts mid-training taught in that format, and the chat model
    /// answers only the facts its conversations asked (docs/experiments.md).
    public static func factLines(copies: Int, world: World = .standard, tokenizer: Tokenizer = .standard) throws -> [ChatTemplate.Rendered] {
        guard copies > 0 else { return [] }
        return try world.facts.flatMap { fact in
            let tokens = try tokenizer.encodeWithSpecials("<|bos|>" + MidtrainCorpus.factLine(fact) + "\n")
            return Array(repeating: ChatTemplate.Rendered(tokens: tokens, trained: tokens.indices.map { $0 > 0 }), count: copies)
        }
    }

    /// One fact line for every `conversationsPerFactLine` conversations (each fact repeated to
    /// make up the count), each packed after one conversation (`packFactLines`).
    public static func factLineCopies(conversations: Int, world: World = .standard) -> Int {
        Int((Double(conversations) / Double(conversationsPerFactLine * world.facts.count)).rounded())
    }
    public static let conversationsPerFactLine = 4

    /// Which recipe rehearses the fact lines: the default think recipe, whose model every later
    /// lesson starts from. Instruct trains on the conversations alone, SFT as it is usually
    /// first written, so lesson03 shows beside it what that loses; the quick recipes have none,
    /// as the tiny mid model knows almost no fact to keep.
    public static func rehearsesFacts(_ style: Style, quick: Bool) -> Bool { style == .think && !quick }

    /// Each fact line goes at the end of one of the shortest conversations, as pretraining
    /// packs documents into one row: it mostly fills room the batch pads anyway, and every step
    /// still carries its full count of conversations.
    public static func packFactLines(_ lines: [ChatTemplate.Rendered], into rows: [ChatTemplate.Rendered], blockSize: Int) throws -> [ChatTemplate.Rendered] {
        guard !lines.isEmpty else { return rows }
        guard lines.count <= rows.count else { throw DataFiles.DataError("\(lines.count) fact lines need as many conversations to ride on, got \(rows.count)") }
        var out = rows
        let shortest = rows.indices.sorted { (rows[$0].tokens.count, $0) < (rows[$1].tokens.count, $1) }
        for (line, i) in zip(lines, shortest) {
            guard out[i].tokens.count + line.tokens.count <= blockSize + 1 else { throw DataFiles.DataError("a fact line does not fit after a conversation in \(blockSize) tokens") }
            out[i].tokens += line.tokens
            out[i].trained += line.trained
        }
        return out
    }

    /// The held-out conversations whose loss the training curve tracks.
    public static func validSet(_ style: Style, _ splits: Conversations.Splits) -> [Conversation] {
        style == .instruct ? splits.instructValid : splits.thinkValid
    }

    /// Renders conversations with the template; each must fit the model's context.
    public static func render(_ conversations: [Conversation], mask: ChatTemplate.LossMask, blockSize: Int,
                              tokenizer: Tokenizer = .standard) throws -> [ChatTemplate.Rendered] {
        try conversations.map { c in
            let r = try ChatTemplate.render(c.messages, mask: mask, tokenizer: tokenizer)
            guard r.tokens.count <= blockSize + 1 else {
                throw ChatTemplate.TemplateError("a \(c.task.rawValue) conversation is \(r.tokens.count) tokens, longer than the model's context (\(blockSize)): \(c.question.debugDescription)")
            }
            return r
        }
    }

    /// The order batches are drawn in, for one pass over the data.
    ///
    /// Rows of a batch are padded to the longest one, and padding is wasted compute. So we
    /// shuffle, cut the shuffled list into chunks of 8 batches, sort each chunk by length,
    /// and deal it out into batches: rows in a batch are of similar length, while which
    /// conversations meet, and the order of batches, stay random.
    public static func epochBatches(_ rows: [ChatTemplate.Rendered], B: Int, rng: inout RNG) -> [[Int]] {
        var order = Array(rows.indices)
        rng.shuffle(&order)
        var batches: [[Int]] = []
        for start in stride(from: 0, to: order.count, by: 8 * B) {
            let chunk = order[start..<min(start + 8 * B, order.count)].sorted { rows[$0].tokens.count < rows[$1].tokens.count }
            for b in stride(from: 0, to: chunk.count, by: B) where b + B <= chunk.count {
                batches.append(Array(chunk[(chunk.startIndex + b)..<(chunk.startIndex + b + B)]))
            }
        }
        rng.shuffle(&batches)
        return batches
    }

    /// Held-out batches: the validation conversations, 32 per batch, in file order.
    public static func evalBatches(_ rows: [ChatTemplate.Rendered], maxBatches: Int) -> [Batch] {
        stride(from: 0, to: rows.count, by: 32).prefix(maxBatches).map { start in
            ChatTemplate.batch(Array(rows[start..<min(start + 32, rows.count)]))
        }
    }

    /// The SFT loop: `trainLoop` with batches of whole conversations instead of random
    /// windows of a text stream, one shuffled pass over the data after another.
    /// `tokensSeen` counts every position computed, padding included.
    public static func train(_ model: GPT, rows: [ChatTemplate.Rendered], evalBatches: [Batch], config: TrainConfig,
                             progress: (TrainProgress) -> Void = { _ in }) throws -> TrainLog {
        var queue: [[Int]] = []
        return try trainLoop(model, config: config, evalBatches: evalBatches, nextBatch: { rng in
            if queue.isEmpty { queue = epochBatches(rows, B: config.batchSize, rng: &rng).reversed() }
            guard let picked = queue.popLast() else {
                throw DataFiles.DataError("SFT needs at least \(config.batchSize) training conversations, got \(rows.count)")
            }
            return ChatTemplate.batch(picked.map { rows[$0] })
        }, progress: progress)
    }

    // MARK: measurements

    /// How well a model does as a chat model, on held-out prompts.
    public struct Measurement: Sendable {
        /// One prompt, the model's reply and the verdicts.
        public struct Graded: Sendable {
            public let conversation: Conversation
            public let reply: Verifier.Reply
            public let correct: Bool
        }

        public let graded: [Graded]

        /// Share of replies that follow the chat format (`Verifier.Reply.wellFormed`), over all prompts.
        public var formatRate: Double { rate(graded) { $0.reply.wellFormed } }
        /// Accuracy over the basic tasks (everything but multi-step arithmetic).
        public var taskAccuracy: Double { rate(graded.filter { !$0.conversation.task.isMultiStep }) { $0.correct } }
        /// Accuracy over the tasks whose answer is computed from the prompt itself (reverse,
        /// palindrome, count a letter, capitals): what SFT can teach without new knowledge.
        public var stringTaskAccuracy: Double { rate(graded.filter { $0.conversation.task.isStringTask }) { $0.correct } }
        /// Accuracy on multi-step arithmetic (3-digit addition, two operations).
        public var multiStepAccuracy: Double { rate(graded.filter { $0.conversation.task.isMultiStep }) { $0.correct } }
        /// Accuracy on one task.
        public func accuracy(_ task: Conversations.Task) -> Double { rate(graded.filter { $0.conversation.task == task }) { $0.correct } }
        /// Share of replies that open a <think> trace.
        public var thinkRate: Double { rate(graded) { $0.reply.thought != nil } }

        func rate(_ items: [Graded], _ ok: (Graded) -> Bool) -> Double {
            items.isEmpty ? 0 : Double(items.filter(ok).count) / Double(items.count)
        }
    }

    /// The fixed held-out prompts every SFT measurement uses: the first `perTask` of each
    /// task from the instruct held-out file (the think file asks the same questions).
    public static func evalSet(_ splits: Conversations.Splits, quick: Bool) -> [Conversation] {
        let perTask = quick ? 20 : 40
        return Conversations.Task.allCases.flatMap { task in splits.instructValid.filter { $0.task == task }.prefix(perTask) }
    }

    /// Asks every prompt with the chat template, greedily, and grades the replies.
    public static func measure(_ model: GPT, _ prompts: [Conversation], tokenizer: Tokenizer = .standard) throws -> Measurement {
        var graded: [Measurement.Graded] = []
        var rng = RNG(seed: 0)
        for chunk in prompts.chunks(of: 64) {
            let replies = try reply(model, chunk.map { $0.question }, temperature: 0, rng: &rng, tokenizer: tokenizer)
            for (c, r) in zip(chunk, replies) {
                graded.append(.init(conversation: c, reply: r, correct: Verifier.isCorrect(r.answer, expected: c.expected, task: c.task)))
            }
        }
        return Measurement(graded: graded)
    }

    /// The model's replies to single-turn questions, generated until <|end|> (at most 112
    /// new tokens: the longest trace in the data is under 100).
    public static func reply(_ model: GPT, _ questions: [String], temperature: Float, rng: inout RNG,
                             tokenizer: Tokenizer = .standard) throws -> [Verifier.Reply] {
        let prompts = try questions.map { try ChatTemplate.prompt($0, tokenizer: tokenizer) }
        let room = model.config.blockSize - (prompts.map(\.count).max() ?? 0)
        guard room > 0 else {
            throw ChatTemplate.TemplateError("a question is too long for the model's context (\(model.config.blockSize) tokens)")
        }
        let options = SamplingOptions(temperature: temperature, stopToken: tokenizer.id(.end), maxNewTokens: min(112, room))
        return PhaseClock.measure(.sample) { model.generate(prompts: prompts, options: options, rng: &rng) }
            .map { Verifier.parse($0.tokens, tokenizer: tokenizer) }
    }

    // MARK: the stages

    /// What one SFT run produced.
    public struct Result {
        public let model: GPT
        public let log: TrainLog
        public let after: Measurement
        /// The held-out facts it still answers, against the mid model it started from.
        public let facts: FactsKept.Measurement
    }

    /// Which tokens carry SFT's loss: the assistant's, `<think>` included (lesson03's
    /// exercises change it here, for the lesson, `course` and the tests alike).
    public static let lossMask: ChatTemplate.LossMask = .assistant

    /// Fine-tunes a copy of `mid` in one style and measures it (`Stage.run`).
    public static func run(_ style: Style, from mid: GPT, quick: Bool, seed: UInt64, mask: ChatTemplate.LossMask = lossMask,
                           splits: Conversations.Splits? = nil,
                           progress: (TrainProgress) -> Void = { _ in }) throws -> Result {
        var stage = Stage(style, quick: quick, seed: seed)
        stage.mask = mask
        return try stage.run(from: mid, splits: splits, progress: progress)
    }

    /// One SFT run in one style, from the mid model to its saved checkpoint. lesson03 calls its
    /// steps one at a time; `run` (the tests' chain, `course`, `chat`) calls them all: one code path.
    public struct Stage {
        public let style: Style
        public let quick: Bool
        public let seed: UInt64
        /// Which tokens carry the loss.
        public var mask: ChatTemplate.LossMask = SFT.lossMask
        /// Whether mid-training's fact lines ride along with the conversations (`factLines`).
        public var rehearseFacts: Bool

        public init(_ style: Style, quick: Bool, seed: UInt64) {
            self.style = style; self.quick = quick; self.seed = seed
            rehearseFacts = SFT.rehearsesFacts(style, quick: quick)
        }

        public var recipe: TrainConfig { SFT.recipe(style, quick: quick, seed: seed) }
        /// The stage this style writes.
        public var stage: Curriculum.Stage { SFT.stage(style) }

        /// The model SFT starts from: the mid model, loaded from `run`, or trained now if missing.
        public func startingModel(run: RunDirectory, say: (String) -> Void,
                                  progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
            try Midtrain.loadOrTrain(run: run, quick: quick, seed: seed, say: say, progress: progress)
        }

        /// Fine-tunes a copy of `mid` and measures it on the held-out prompts, and on the
        /// held-out facts against `mid` itself (what SFT kept of its knowledge).
        public func run(from mid: GPT, splits: Conversations.Splits? = nil,
                        progress: (TrainProgress) -> Void = { _ in }) throws -> Result {
            let splits = try splits ?? data()
            let model = mid.copy()
            let rows = try trainingRows(splits, blockSize: model.config.blockSize)
            let valid = try render(validSet(style, splits), mask: .assistant, blockSize: model.config.blockSize)
            let log = try train(model, rows: rows, evalBatches: evalBatches(valid, maxBatches: quick ? 4 : 8),
                                config: recipe, progress: progress)
            let after = try measure(model, evalSet(splits, quick: quick))
            return Result(model: model, log: log, after: after, facts: try FactsKept.measure(chat: model, mid: mid))
        }

        /// The rows SFT trains on: the style's conversations, rendered with the mask, and the
        /// fact lines packed after the shortest of them when rehearsing.
        public func trainingRows(_ splits: Conversations.Splits, blockSize: Int) throws -> [ChatTemplate.Rendered] {
            let rows = try render(trainingSet(style, splits, quick: quick), mask: mask, blockSize: blockSize)
            guard rehearseFacts else { return rows }
            return try packFactLines(factLines(copies: factLineCopies(conversations: rows.count)), into: rows, blockSize: blockSize)
        }

        /// Writes the model as this style's stage with its metrics (and curves, if `log` is this
        /// run's) and returns the metrics. `before` is the mid model's measurement, recorded with
        /// the instruct model. Without a log, the training numbers already in the report are kept.
        @discardableResult
        public func save(_ model: GPT, after: Measurement, facts: FactsKept.Measurement?, before: Measurement?,
                         log: TrainLog?, to run: RunDirectory) throws -> [String: Double] {
            var all = (try? Report.load(from: run.path))?[stage.rawValue] ?? [:]
            let fresh = SFT.metrics(before: before, after: after, log: log ?? TrainLog(), facts: facts)
            for (k, v) in fresh where log != nil || !k.hasPrefix("train_") { all[k] = v }
            try saveStage(stage, model: model, step: recipe.steps, metrics: all, to: run, curves: log.map(Curves.init))
            return all
        }

        /// Writes a run's result (`save` with its model, measurements and log).
        @discardableResult
        public func save(_ r: Result, before: Measurement?, to run: RunDirectory) throws -> [String: Double] {
            try save(r.model, after: r.after, facts: r.facts, before: before, log: r.log, to: run)
        }
    }

    /// The report keys: `format_rate`, `task_acc`, `string_task_acc`, `multistep_acc` (and,
    /// when the starting model was measured too, the same with `_before`), one accuracy per
    /// task, and `facts_kept` when the facts were measured against the mid model.
    public static func metrics(before: Measurement?, after: Measurement, log: TrainLog,
                               facts: FactsKept.Measurement? = nil) -> [String: Double] {
        var m: [String: Double] = [
            "format_rate": after.formatRate, "task_acc": after.taskAccuracy, "multistep_acc": after.multiStepAccuracy,
            "string_task_acc": after.stringTaskAccuracy, "think_rate": after.thinkRate,
            "train_tokens": Double(log.tokensSeen), "train_seconds": log.seconds,
        ]
        for task in Conversations.Task.allCases { m["acc_\(task.rawValue)"] = after.accuracy(task) }
        if let b = before {
            m["format_rate_before"] = b.formatRate
            m["task_acc_before"] = b.taskAccuracy
            m["multistep_acc_before"] = b.multiStepAccuracy
            m["string_task_acc_before"] = b.stringTaskAccuracy
        }
        if let f = facts { m.merge(FactsKept.metrics(f)) { _, new in new } }
        return m
    }

    /// The stage's model from `run`'s checkpoint, or, if there is none yet, trained now from
    /// `mid` (itself trained first if missing) and saved.
    public static func loadOrTrain(_ style: Style, run: RunDirectory, quick: Bool, seed: UInt64, say: (String) -> Void,
                                   progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
        try run.prepare()
        let stage = stage(style)
        let path = run.checkpoint(stage)
        if FileManager.default.fileExists(atPath: path) {
            return try loadStage(stage, from: run).0
        }
        let sft = Stage(style, quick: quick, seed: seed)
        let mid = try sft.startingModel(run: run, say: say, progress: progress)
        say("No \(stage.rawValue) model at \(path) yet: lesson03-sft makes it, so it is trained now.")
        let splits = try data()
        let before = style == .instruct ? try measure(mid, evalSet(splits, quick: quick)) : nil
        let result = try sft.run(from: mid, splits: splits, progress: progress)
        try sft.save(result, before: before, to: run)
        return result.model
    }
}
