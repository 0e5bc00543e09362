import Kernels
import Notebook
import TinyGPT

/// log p of each row's target tokens, in order, under `model` (forward only, 64 rows at a
/// time): DPO sums them per answer, GRPO keeps them per token.
public func tokenLogProbs(_ model: GPT, _ rows: [ChatTemplate.Rendered]) -> [[Float]] {
    PhaseClock.measure(.eval) {
        var out: [[Float]] = []
        for chunk in rows.chunks(of: 64) {
            let batch = ChatTemplate.batch(chunk)
            model.forward(batch.inputs, B: batch.B, T: batch.T)
            let losses = batch.targets.withUnsafeBufferPointer { model.crossEntropy($0.baseAddress!) }
            out += targetLogProbs(losses, batch)
        }
        return out
    }
}

/// Per-position losses [B*T] -> for each row, log p of its target tokens in order.
func targetLogProbs(_ losses: [Float], _ batch: Batch) -> [[Float]] {
    (0..<batch.B).map { b in
        (0..<batch.T).compactMap { t in batch.targets[b * batch.T + t] >= 0 ? -losses[b * batch.T + t] : nil }
    }
}

/// The backward pass of Σ weight · (-log p) over a batch's target tokens, the one gradient
/// every post-training stage takes: SFT's weight is 1/N on each reply token, DPO's a signed
/// weight per answer, GRPO's a weight per sampled token. Call it after `model.forward` and
/// `model.crossEntropy` on `batch`; `weight(b, k)` is the weight of row b's k-th target
/// token. `crossentropy_backward` turns the weights into dlogits = weight · (probs - onehot);
/// the gradients add to `model.grads` (zero them first for a fresh step).
func weightedBackward(_ model: GPT, _ batch: Batch, weight: (_ row: Int, _ k: Int) -> Double) {
    var weights = [Float](repeating: 0, count: batch.B * batch.T)
    for b in 0..<batch.B {
        var k = 0
        for t in 0..<batch.T where batch.targets[b * batch.T + t] >= 0 {
            weights[b * batch.T + t] = Float(weight(b, k))
            k += 1
        }
    }
    let dlogits = model.dlogitsScratch
    batch.targets.withUnsafeBufferPointer { tp in
        weights.withUnsafeBufferPointer { wp in
            crossentropy_backward(dlogits, model.probs, tp.baseAddress!, wp.baseAddress!, N: batch.B * batch.T,
                                  V: model.config.vocabSize)
        }
    }
    model.backward(dlogits)
}
