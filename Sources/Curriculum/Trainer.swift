import Foundation
import Kernels
import Notebook
import TinyGPT

/// How long and how hard to train.
public struct TrainConfig: Sendable {
    public var steps: Int
    public var batchSize: Int
    public var seqLen: Int
    public var schedule: LRSchedule
    public var adam: AdamWConfig
    /// Gradients are scaled down if their global norm exceeds this.
    public var clipNorm: Float
    /// Measure held-out loss every this many steps (and at the end).
    public var evalEvery: Int
    /// Seed of the batch sampler.
    public var seed: UInt64

    public init(steps: Int, batchSize: Int, seqLen: Int, schedule: LRSchedule, adam: AdamWConfig = AdamWConfig(),
                clipNorm: Float = 1, evalEvery: Int, seed: UInt64) {
        self.steps = steps; self.batchSize = batchSize; self.seqLen = seqLen; self.schedule = schedule
        self.adam = adam; self.clipNorm = clipNorm; self.evalEvery = evalEvery; self.seed = seed
    }

    public var tokensPerStep: Int { batchSize * seqLen }
}

/// What happened during training: the curves a lesson charts.
public struct TrainLog: Sendable {
    public var trainLoss: [Double] = []
    /// (step, held-out loss), including step 0 (before training) and the last step.
    public var evalLoss: [(step: Int, loss: Double)] = []
    public var tokensSeen = 0
    public var seconds = 0.0
    public init() {}
}

/// Live numbers for a progress bar.
public struct TrainProgress: Sendable {
    public let step: Int
    public let steps: Int
    public let loss: Double
    public let lr: Float
    public let tokensPerSecond: Double
    public let evalLoss: Double?
}

/// Mean loss in nats per target token over the batches (forward only).
public func evaluateLoss(_ model: GPT, _ batches: [Batch]) -> Double {
    PhaseClock.measure(.eval) { heldOutLoss(model, batches) }
}

private func heldOutLoss(_ model: GPT, _ batches: [Batch]) -> Double {
    var total = 0.0, count = 0
    for batch in batches {
        model.forward(batch.inputs, B: batch.B, T: batch.T)
        let losses = model.crossEntropy(batch.targets)
        for (loss, target) in zip(losses, batch.targets) where target >= 0 {
            total += Double(loss)
            count += 1
        }
    }
    return count > 0 ? total / Double(count) : .nan
}

/// One optimizer step on one batch: forward, weighted cross-entropy, backward, clip, AdamW.
/// Throws (and leaves the weights untouched) if a gradient is NaN or infinite.
@discardableResult
public func trainStep(_ model: GPT, _ optimizer: AdamW, _ batch: Batch, lr: Float, clipNorm: Float, step: Int) throws -> Double {
    model.zeroGrad()
    let loss = model.forwardBackward(tokens: batch.inputs, targets: batch.targets, weights: batch.weights,
                                     B: batch.B, T: batch.T)
    try optimizerStep(model, optimizer, loss: Double(loss), lr: lr, clipNorm: clipNorm, step: step)
    return Double(loss)
}

/// How every training step ends, whatever its objective (SFT, DPO, GRPO, the reward model):
/// a NaN or infinite loss or gradient stops training with the weights untouched (`step` is
/// the one the error names); otherwise the gradient is clipped to `clipNorm` and AdamW steps.
public func optimizerStep(_ model: GPT, _ optimizer: AdamW, loss: Double, lr: Float, clipNorm: Float, step: Int) throws {
    // A NaN or infinite gradient makes the norm NaN or infinite: one pass finds out, and only
    // then is every tensor searched for the one to name.
    let norm = global_norm(model.grads.ptr, N: model.parameterCount)
    let bad = norm.isFinite ? nil : model.firstNonFiniteGradient()
    if !loss.isFinite || bad != nil {
        throw NonFiniteError(tensor: bad ?? "loss", step: step)
    }
    clip_grad_norm(model.grads.ptr, N: model.parameterCount, maxNorm: clipNorm, norm: norm)
    optimizer.update(model, lr: lr)
}

/// The training loop every stage shares: take a batch, one `trainStep` at the scheduled
/// learning rate, and every `evalEvery` steps (and at the end) the held-out loss.
/// Stages differ only in where batches come from (`nextBatch`, which gets the loop's
/// seeded RNG) and in how their batches weight each token.
public func trainLoop(_ model: GPT, config: TrainConfig, evalBatches: [Batch],
                      nextBatch: (inout RNG) throws -> Batch,
                      progress: (TrainProgress) -> Void = { _ in }) throws -> TrainLog {
    var log = TrainLog()
    var rng = RNG(seed: config.seed)
    let optimizer = AdamW(for: model, config: config.adam)
    let start = Date()
    log.evalLoss.append((0, evaluateLoss(model, evalBatches)))
    for step in 0..<config.steps {
        let lr = config.schedule.lr(step)
        let (batch, loss) = try PhaseClock.measure(.train) {
            let batch = try nextBatch(&rng)
            return (batch, try trainStep(model, optimizer, batch, lr: lr, clipNorm: config.clipNorm, step: step + 1))
        }
        log.trainLoss.append(loss)
        log.tokensSeen += batch.B * batch.T
        var evalLoss: Double?
        if (step + 1) % config.evalEvery == 0 || step + 1 == config.steps {
            let measured = evaluateLoss(model, evalBatches)
            log.evalLoss.append((step + 1, measured))
            evalLoss = measured
        }
        let elapsed = Date().timeIntervalSince(start)
        progress(TrainProgress(step: step + 1, steps: config.steps, loss: loss, lr: lr,
                               tokensPerSecond: Double(log.tokensSeen) / max(elapsed, 1e-9), evalLoss: evalLoss))
    }
    log.seconds = Date().timeIntervalSince(start)
    return log
}

/// Next-token prediction on a text stream (pretraining and mid-training): each batch is
/// B random windows of T+1 tokens.
public func trainLanguageModel(_ model: GPT, data: TokenStream, evalBatches: [Batch], config: TrainConfig,
                               progress: (TrainProgress) -> Void = { _ in }) throws -> TrainLog {
    try trainLoop(model, config: config, evalBatches: evalBatches,
                  nextBatch: { rng in data.randomBatch(B: config.batchSize, T: config.seqLen, rng: &rng) },
                  progress: progress)
}
