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

    /// Trains a fresh model from the seed: the whole of stage `base`.
    public static func run(quick: Bool, seed: UInt64, progress: (TrainProgress) -> Void = { _ in }) throws -> Result {
        let (modelConfig, trainConfig) = recipe(quick: quick, seed: seed)
        let (train, valid) = try data(quick: quick)
        let model = try GPT(config: modelConfig, seed: seed)
        let evals = evalBatches(valid, seqLen: trainConfig.seqLen, quick: quick)
        let log = try trainLanguageModel(model, data: train, evalBatches: evals, config: trainConfig, progress: progress)
        let metrics: [String: Double] = [
            "val_loss_init": log.evalLoss.first?.loss ?? .nan,
            "val_loss": log.evalLoss.last?.loss ?? .nan,
            "train_tokens": Double(log.tokensSeen),
            "train_seconds": log.seconds,
        ]
        return Result(model: model, log: log, metrics: metrics)
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
        let result = try Pretrain.run(quick: quick, seed: seed, progress: progress)
        try saveStage(.base, model: result.model, step: result.log.trainLoss.count, metrics: result.metrics, to: run,
                      curves: Curves(result.log))
        return result.model
    }
}
