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
