import Foundation
import Kernels
import TinyGPT

/// Stage `mid`: the base model keeps predicting the next token, but on denser, harder
/// text (arithmetic, questions and answers, long documents) and with twice the context.
public enum Midtrain {
    /// What share of the training text (by tokens) each ingredient gets.
    public struct Mix: Sendable, Equatable {
        public var arithmetic: Double
        public var facts: Double
        public var long: Double
        /// Pretraining text, replayed so the model keeps what it already knew.
        public var replay: Double

        public init(arithmetic: Double, facts: Double, long: Double, replay: Double) {
            self.arithmetic = arithmetic; self.facts = facts; self.long = long; self.replay = replay
        }

        public static let standard = Mix(arithmetic: 0.65, facts: 0.08, long: 0.07, replay: 0.2)
        /// The quick tier's: the tiny model needs more sums to find the column facts in its budget.
        public static let quick = Mix(arithmetic: 0.72, facts: 0.064, long: 0.056, replay: 0.16)
    }

    /// The training settings. The context doubles (the base model's T -> 2T); each step
    /// sees half the tokens of a pretraining step (a quarter of the rows, each twice as
    /// long), and there are more steps: small batches learn the sums in far fewer tokens.
    /// The learning rate warms up briefly and decays to a twentieth:
    /// arithmetic is learned late, and the decay is what turns "almost" into "right".
    ///
    /// What quick changes: the tiny model, carry-free problems only (`level`), a mix that is
    /// mostly arithmetic, and 1,500 steps of 16 rows (the column facts are learned in a
    /// sudden drop of the loss, after about a thousand steps).
    public static func recipe(quick: Bool, seed: UInt64, mix: Mix? = nil)
        -> (contextLength: Int, train: TrainConfig, mix: Mix, level: Arithmetic.Level) {
        let base = Pretrain.recipe(quick: quick, seed: seed)
        let T = 2 * base.model.blockSize
        if quick {
            let schedule = LRSchedule(peak: 4e-3, warmup: 20, total: 1500, minFraction: 0.1, decay: .cosine)
            return (T, TrainConfig(steps: 1500, batchSize: 16, seqLen: T, schedule: schedule, evalEvery: 250, seed: seed),
                    mix ?? .quick, .carryFree)
        }
        // Four rows a step: the sums are learned from many small updates more than from big batches
        // (docs/experiments.md has the runs).
        let schedule = LRSchedule(peak: 2e-3, warmup: 30, total: 6000, minFraction: 0.05, decay: .cosine)
        return (T, TrainConfig(steps: 6000, batchSize: 4, seqLen: T, schedule: schedule, evalEvery: 500, seed: seed),
                mix ?? .standard, .all)
    }

    /// The mid-training documents from data/, by kind, and the held-out ones.
    public struct Corpus: Sendable {
        public let train: [MidtrainCorpus.Kind: [String]]
        public let valid: [MidtrainCorpus.Kind: [String]]
        /// Pretraining documents, for replay.
        public let replay: [String]

        /// The same corpus with only the arithmetic lines `level` admits, in training and held-out text.
        public func keeping(_ level: Arithmetic.Level) -> Corpus {
            guard level != .all else { return self }
            func filtered(_ kinds: [MidtrainCorpus.Kind: [String]]) -> [MidtrainCorpus.Kind: [String]] {
                var k = kinds
                k[.arithmetic] = k[.arithmetic]?.compactMap { Arithmetic.keeping(level, in: $0) }
                return k
            }
            return Corpus(train: filtered(train), valid: filtered(valid), replay: replay)
        }
    }

    /// Reads data/midtrain and data/pretrain.
    public static func corpus() throws -> Corpus {
        guard let dir = DataFiles.defaultDataDirectory() else {
            throw DataFiles.DataError("cannot find the package's data/ folder (run from inside the package, or run `swift run make-data`)")
        }
        let (train, valid) = try DataFiles.loadMidtrain(from: dir)
        let replay = PretrainCorpus.documents(in: try DataFiles.loadPretrain(from: dir).train)
        /// The documents by kind; the mix and the measurements need every kind in both files.
        func byKind(_ text: String, _ file: String) throws -> [MidtrainCorpus.Kind: [String]] {
            let kinds = Dictionary(grouping: PretrainCorpus.documents(in: text), by: MidtrainCorpus.kind(of:))
            if let missing = MidtrainCorpus.Kind.allCases.first(where: { kinds[$0]?.isEmpty ?? true }) {
                throw DataFiles.DataError("\(dir.appendingPathComponent(file).path) has no \(missing.rawValue) documents; mid-training needs every kind. Regenerate it with `swift run make-data`.")
            }
            return kinds
        }
        return Corpus(train: try byKind(train, DataFiles.midtrainTrain), valid: try byKind(valid, DataFiles.midtrainValid), replay: replay)
    }

    /// One token stream in which each ingredient fills its share of `totalBytes`.
    ///
    /// Training cuts random windows out of the stream, so a kind's share of the stream
    /// is its share of what the model sees. Documents are drawn in a seeded random order
    /// (repeating a kind's documents if its share is bigger than the file), then shuffled
    /// together.
    public static func mixedStream(_ corpus: Corpus, mix: Mix, totalBytes: Int, seed: UInt64,
                                   tokenizer: Tokenizer = .standard) throws -> TokenStream {
        var rng = RNG(seed: seed)
        var docs: [String] = []
        let parts: [(Double, [String])] = [
            (mix.arithmetic, corpus.train[.arithmetic] ?? []), (mix.facts, corpus.train[.facts] ?? []),
            (mix.long, corpus.train[.long] ?? []), (mix.replay, corpus.replay),
        ]
        let totalShare = parts.map(\.0).reduce(0, +)
        guard totalShare > 0 else { throw DataFiles.DataError("the mid-training mix has no ingredient with a share above 0") }
        for (share, pool) in parts where share > 0 {
            guard !pool.isEmpty else { throw DataFiles.DataError("data/midtrain has no documents of a kind the mix needs; run `swift run make-data`") }
            let target = Int(Double(totalBytes) * share / totalShare)
            var order = pool
            var bytes = 0, i = order.count
            while bytes < target {
                if i == order.count { rng.shuffle(&order); i = 0 }
                docs.append(order[i])
                bytes += order[i].utf8.count + 2
                i += 1
            }
        }
        rng.shuffle(&docs)
        return try TokenStream(documents: docs, tokenizer: tokenizer)
    }

    // MARK: measurements

    /// The three numbers lesson02 compares before and after.
    public struct Measurement: Sendable {
        /// Exact-match accuracy on held-out two-digit sums and differences.
        public var arithmetic: Double
        /// Held-out loss at positions T..2T-1 of long documents (T = the pretraining context).
        public var longLoss: Double
        /// Held-out pretraining loss, the number lesson01 reported.
        public var textLoss: Double
    }

    /// Held-out problems measured (half additions, half subtractions).
    public static func evalProblemCount(quick: Bool) -> Int { quick ? 100 : 200 }

    /// Batches from held-out long documents: each row is a document's first 2T tokens,
    /// and only positions T..2T-1 have targets, so the loss measures exactly what the
    /// base model could never see: text more than T characters into a document.
    public static func longContextBatches(_ corpus: Corpus, oldContext T: Int, tokenizer: Tokenizer = .standard) throws -> [Batch] {
        let bos = Int32(tokenizer.id(.bos))
        var rows: [[Int32]] = []
        for doc in corpus.valid[.long] ?? [] {
            let ids = [bos] + (try tokenizer.encode(doc + "\n")).map(Int32.init)
            if ids.count >= 2 * T + 1 { rows.append(Array(ids.prefix(2 * T + 1))) }
        }
        let B = 16
        var batches: [Batch] = []
        for start in stride(from: 0, to: rows.count - B + 1, by: B) {
            var inputs: [Int32] = [], targets: [Int32] = []
            for row in rows[start..<(start + B)] {
                inputs += row.prefix(2 * T)
                targets += (0..<(2 * T)).map { $0 >= T ? row[$0 + 1] : -1 }
            }
            batches.append(Batch(inputs: inputs, targets: targets, B: B, T: 2 * T))
        }
        guard !batches.isEmpty else {
            throw DataFiles.DataError("\(DataFiles.dataDirectory)/\(DataFiles.midtrainValid) has \(rows.count) long documents of \(2 * T + 1) tokens or more; measuring the long context needs \(B). Regenerate it with `swift run make-data`.")
        }
        return batches
    }

    /// Everything the measurements need, built once.
    public struct Yardsticks: Sendable {
        public let problems: [Arithmetic.Problem]
        public let longBatches: [Batch]
        public let textBatches: [Batch]
        public let oldContext: Int
    }

    public static func yardsticks(_ corpus: Corpus, quick: Bool, seed: UInt64) throws -> Yardsticks {
        let T = Pretrain.recipe(quick: quick, seed: seed).model.blockSize
        let valid = try Pretrain.data(quick: quick).valid
        return Yardsticks(problems: Arithmetic.evalProblems(count: evalProblemCount(quick: quick),
                                                            level: recipe(quick: quick, seed: seed).level),
                          longBatches: try longContextBatches(corpus, oldContext: T),
                          textBatches: Pretrain.evalBatches(valid, seqLen: T, quick: quick),
                          oldContext: T)
    }

    /// How the new position rows start out (lesson02 step 3 measures the choices).
    public static let positionInit = PositionInit.interpolated

    /// Measures a model. A model whose context is still T (the base model) is first
    /// stretched to 2T the same way mid-training starts (`positionInit`), the only way
    /// it can read a 2T-long window at all.
    public static func measure(_ model: GPT, _ y: Yardsticks) throws -> Measurement {
        let wide = model.config.blockSize >= 2 * y.oldContext ? model
            : try model.extendingContext(to: 2 * y.oldContext, fill: positionInit)
        return Measurement(arithmetic: try Arithmetic.accuracy(model, y.problems).accuracy,
                           longLoss: evaluateLoss(wide, y.longBatches),
                           textLoss: evaluateLoss(model, y.textBatches))
    }

    // MARK: the stage

    /// What one mid-training run produced.
    public struct Result {
        public let model: GPT
        public let log: TrainLog
        public let before: Measurement
        public let after: Measurement
        public let metrics: [String: Double]
    }

    /// The held-out batches of the training curve: the mid-training valid split, same mix.
    public static func evalBatches(_ corpus: Corpus, mix: Mix, seqLen: Int, quick: Bool) throws -> [Batch] {
        let held = Corpus(train: corpus.keeping(recipe(quick: quick, seed: 0).level).valid, valid: [:], replay: [])
        var m = mix
        m.replay = 0
        return try mixedStream(held, mix: m, totalBytes: 200_000, seed: 1)
            .evaluationBatches(B: 8, T: seqLen, maxBatches: quick ? 4 : 8)
    }

    /// Stretches a copy of `base` to twice its context and trains it on the mix.
    public static func train(base: GPT, corpus: Corpus, quick: Bool, seed: UInt64, mix: Mix? = nil,
                             progress: (TrainProgress) -> Void = { _ in }) throws -> (model: GPT, log: TrainLog) {
        let (T, config, mix, level) = recipe(quick: quick, seed: seed, mix: mix)
        let model = try base.extendingContext(to: T, fill: positionInit)
        let stream = try mixedStream(corpus.keeping(level), mix: mix, totalBytes: 3_000_000, seed: seed)
        let evals = try evalBatches(corpus, mix: mix, seqLen: T, quick: quick)
        let log = try trainLanguageModel(model, data: stream, evalBatches: evals, config: config, progress: progress)
        return (model, log)
    }

    /// Measure, mid-train, measure again: the whole of stage `mid` (`Stage.run`).
    public static func run(base: GPT, quick: Bool, seed: UInt64, mix: Mix? = nil,
                           progress: (TrainProgress) -> Void = { _ in }) throws -> Result {
        try Stage(quick: quick, seed: seed, mix: mix).run(from: base, progress: progress)
    }

    /// The report keys of stage `mid` (and the training cost, when this run trained).
    public static func metrics(before: Measurement, after: Measurement, log: TrainLog?) -> [String: Double] {
        var m = [
            "arith_acc_before": before.arithmetic, "arith_acc": after.arithmetic,
            "long_loss_before": before.longLoss, "long_loss": after.longLoss,
            "text_loss_before": before.textLoss, "text_loss": after.textLoss,
        ]
        if let log {
            m["train_tokens"] = Double(log.tokensSeen)
            m["train_seconds"] = log.seconds
        }
        return m
    }

    /// The mid-trained model from `run`'s checkpoint, or, if there is none yet, trained now
    /// (from the base checkpoint, itself trained first if missing) and saved.
    public static func loadOrTrain(run: RunDirectory, quick: Bool, seed: UInt64, say: (String) -> Void,
                                   progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
        try run.prepare()
        let path = run.checkpoint(.mid)
        if FileManager.default.fileExists(atPath: path) {
            return try loadStage(.mid, from: run).0
        }
        let stage = Stage(quick: quick, seed: seed)
        let base = try stage.startingModel(run: run, say: say, progress: progress)
        say("No mid-trained model at \(path) yet: this lesson builds on lesson02-midtrain, so it trains that first.")
        let result = try stage.run(from: base, progress: progress)
        try stage.save(result.model, before: result.before, after: result.after, log: result.log, to: run)
        return result.model
    }

    /// One mid-training run, from the base model to its saved checkpoint. lesson02 calls its
    /// steps one at a time; `run` (the tests' chain, `course`, `chat`) calls them all: one code path.
    public struct Stage {
        public let quick: Bool
        public let seed: UInt64
        /// The mix to train on; nil for the recipe's.
        public var mix: Mix?

        public init(quick: Bool, seed: UInt64, mix: Mix? = nil) {
            self.quick = quick; self.seed = seed; self.mix = mix
        }

        /// The context, training settings, mix and arithmetic level this stage trains with.
        public var recipe: (contextLength: Int, train: TrainConfig, mix: Mix, level: Arithmetic.Level) {
            Midtrain.recipe(quick: quick, seed: seed, mix: mix)
        }

        /// The model mid-training starts from: the base model, loaded from `run`, or trained now if missing.
        public func startingModel(run: RunDirectory, say: (String) -> Void,
                                  progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
            try Pretrain.loadOrTrain(run: run, quick: quick, seed: seed, say: say, progress: progress)
        }

        /// The measurements' fixed inputs for this tier.
        public func yardsticks(_ corpus: Corpus) throws -> Yardsticks {
            try Midtrain.yardsticks(corpus, quick: quick, seed: seed)
        }

        /// A stretched copy of `base`, trained on the mix.
        public func train(_ base: GPT, corpus: Corpus, progress: (TrainProgress) -> Void = { _ in }) throws -> (model: GPT, log: TrainLog) {
            try Midtrain.train(base: base, corpus: corpus, quick: quick, seed: seed, mix: mix, progress: progress)
        }

        /// The whole stage from `base`, which stays untouched.
        public func run(from base: GPT, progress: (TrainProgress) -> Void = { _ in }) throws -> Result {
            let corpus = try Midtrain.corpus()
            let y = try yardsticks(corpus)
            let before = try measure(base, y)
            let (model, log) = try train(base, corpus: corpus, progress: progress)
            let after = try measure(model, y)
            return Result(model: model, log: log, before: before, after: after,
                          metrics: metrics(before: before, after: after, log: log))
        }

        /// Writes the model as stage mid with its metrics (and curves, if `log` is this run's) and
        /// returns the metrics. Without a log, the training numbers already in the report are kept.
        @discardableResult
        public func save(_ model: GPT, before: Measurement, after: Measurement, log: TrainLog?, to run: RunDirectory) throws -> [String: Double] {
            var metrics = (try? Report.load(from: run.path))?[Curriculum.Stage.mid.rawValue] ?? [:]
            metrics.merge(Midtrain.metrics(before: before, after: after, log: log)) { _, new in new }
            try saveStage(.mid, model: model, step: recipe.train.steps, metrics: metrics, to: run, curves: log.map(Curves.init))
            return metrics
        }
    }
}
