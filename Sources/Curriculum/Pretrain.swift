import Foundation
import Kernels
import TinyGPT

/// Stage `base`: next-token prediction on the toy world's text.
public enum Pretrain {
    /// The model and training settings: `quick` is the tiny config that trains in
    /// seconds (tests, `--quick`); the default is the classroom config, ~2 minutes.
    public static func recipe(quick: Bool, seed: UInt64) -> (model: GPTConfig, train: TrainConfig) {
        if quick {
            let model = GPTConfig.tiny(vocabSize: Tokenizer.standard.vocabSize)
            let schedule = LRSchedule(peak: 4e-3, warmup: 20, total: 600, minFraction: 0.1, decay: .cosine)
            return (model, TrainConfig(steps: 600, batchSize: 16, seqLen: 64, schedule: schedule, evalEvery: 100, seed: seed))
        }
        let model = GPTConfig.classroom(vocabSize: Tokenizer.standard.vocabSize)
        let schedule = LRSchedule(peak: 3e-3, warmup: 30, total: 1200, minFraction: 0.1, decay: .cosine)
        return (model, TrainConfig(steps: 1200, batchSize: 16, seqLen: 128, schedule: schedule, evalEvery: 100, seed: seed))
    }

    /// The pretraining corpus from data/, as token streams (train and held-out), each checked
    /// to be long enough for the `quick` or full recipe: a random training window needs
    /// T + 2 tokens, and the held-out loss at least one batch of `evalRows` windows.
    public static func data(quick: Bool, tokenizer: Tokenizer = .standard) throws -> (train: TokenStream, valid: TokenStream) {
        guard let dir = DataFiles.defaultDataDirectory() else {
            throw DataFiles.DataError("cannot find the package's data/ folder (run from inside the package, or run `swift run make-data`)")
        }
        return try data(in: dir, quick: quick, tokenizer: tokenizer)
    }

    /// `data(quick:)` from a given data directory.
    public static func data(in dir: URL, quick: Bool, tokenizer: Tokenizer = .standard) throws -> (train: TokenStream, valid: TokenStream) {
        let (train, valid) = try DataFiles.loadPretrain(from: dir)
        let streams = (train: try TokenStream(documents: PretrainCorpus.documents(in: train), tokenizer: tokenizer),
                       valid: try TokenStream(documents: PretrainCorpus.documents(in: valid), tokenizer: tokenizer))
        let T = recipe(quick: quick, seed: 0).train.seqLen
        try DataFiles.requireTokens(streams.train, T + 2, in: dir.appendingPathComponent(DataFiles.pretrainTrain),
                                    for: "one training window of \(T) tokens and their targets")
        try DataFiles.requireTokens(streams.valid, evalRows * T + 1, in: dir.appendingPathComponent(DataFiles.pretrainValid),
                                    for: "one held-out batch of \(evalRows) windows of \(T) tokens")
        return streams
    }

    /// Windows per held-out batch.
    public static let evalRows = 16

    /// Held-out batches used for every `val_loss` the course reports.
    public static func evalBatches(_ valid: TokenStream, seqLen: Int, quick: Bool) -> [Batch] {
        valid.evaluationBatches(B: evalRows, T: seqLen, maxBatches: quick ? 4 : 8)
    }

    /// What one pretraining run produced.
    public struct Result {
        public let model: GPT
        public let log: TrainLog
        public let metrics: [String: Double]
    }

    /// Trains a fresh model from the seed: the whole of stage `base` (`Stage.run`).
    public static func run(quick: Bool, seed: UInt64, progress: (TrainProgress) -> Void = { _ in }) throws -> Result {
        try Stage(quick: quick, seed: seed).run(progress: progress)
    }

    /// One pretraining run, from random weights to the saved checkpoint. lesson01 calls its
    /// steps one at a time; `run` (the tests' chain, `course`, `chat`) calls them all: one code path.
    public struct Stage {
        public let quick: Bool
        public let seed: UInt64

        public init(quick: Bool, seed: UInt64) { self.quick = quick; self.seed = seed }

        /// The model and training settings this stage uses.
        public var recipe: (model: GPTConfig, train: TrainConfig) { Pretrain.recipe(quick: quick, seed: seed) }

        /// The model before any training: random weights from the seed.
        public func untrained() throws -> GPT { try GPT(config: recipe.model, seed: seed) }

        /// The held-out loss every `val_loss` of stage base reports.
        public func heldOutLoss(_ model: GPT, valid: TokenStream) -> Double {
            evaluateLoss(model, evalBatches(valid, seqLen: recipe.train.seqLen, quick: quick))
        }

        /// Trains `untrained()` on the corpus.
        public func run(progress: (TrainProgress) -> Void = { _ in }) throws -> Result {
            let (train, valid) = try data(quick: quick)
            let model = try untrained()
            let evals = evalBatches(valid, seqLen: recipe.train.seqLen, quick: quick)
            let log = try trainLanguageModel(model, data: train, evalBatches: evals, config: recipe.train, progress: progress)
            let metrics: [String: Double] = [
                "val_loss_init": log.evalLoss.first?.loss ?? .nan,
                "val_loss": log.evalLoss.last?.loss ?? .nan,
                "train_tokens": Double(log.tokensSeen),
                "train_seconds": log.seconds,
            ]
            return Result(model: model, log: log, metrics: metrics)
        }

        /// Writes the model as stage base with `metrics` over those already in the report (and
        /// curves, if `log` is this run's); returns what was written.
        @discardableResult
        public func save(_ model: GPT, metrics: [String: Double], log: TrainLog?, to run: RunDirectory) throws -> [String: Double] {
            var all = (try? Report.load(from: run.path))?[Curriculum.Stage.base.rawValue] ?? [:]
            all.merge(metrics) { _, new in new }
            try saveStage(.base, model: model, step: recipe.train.steps, metrics: all, to: run, curves: log.map(Curves.init))
            return all
        }
    }

    /// The base model from `run`'s checkpoint, or, if there is none yet, trained now
    /// and saved (so any later lesson works on a fresh clone). `say` explains what happens.
    public static func loadOrTrain(run: RunDirectory, quick: Bool, seed: UInt64, say: (String) -> Void,
                                   progress: (TrainProgress) -> Void = { _ in }) throws -> GPT {
        try run.prepare()
        let path = run.checkpoint(.base)
        if FileManager.default.fileExists(atPath: path) {
            return try loadStage(.base, from: run).0
        }
        say("No base model at \(path) yet: this lesson builds on lesson01-pretrain, so it trains that first.")
        let stage = Stage(quick: quick, seed: seed)
        let result = try stage.run(progress: progress)
        try stage.save(result.model, metrics: result.metrics, log: result.log, to: run)
        return result.model
    }
}
