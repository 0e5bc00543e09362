import Foundation
import Kernels
import Notebook
import TinyGPT

/// How far a model has moved from where it started, and how many ways it still considers,
/// token by token: the entropy of its next-token distribution and its KL divergence to a
/// reference, over the trained (reply) positions of each row. DPO and GRPO report the KL of
/// what they trained; lesson07 reads both to tell a sharpened model from a collapsed one.
public enum EntropyKL {
    /// Per row, summed over its reply positions: the model's entropy -Σ p log p and
    /// KL(model ‖ reference) = Σ p log(p/q), each over the whole vocabulary at that position,
    /// and how many positions there were. (KL is 0 without a reference.)
    public static func sums(_ model: GPT, reference: GPT?, _ rows: [ChatTemplate.Rendered])
        -> [(entropy: Double, kl: Double, tokens: Int)] {
        PhaseClock.measure(.eval) {
            var out: [(entropy: Double, kl: Double, tokens: Int)] = []
            let V = model.config.vocabSize
            for chunk in rows.chunks(of: 32) {
                let batch = ChatTemplate.batch(chunk)
                for m in [model, reference].compactMap({ $0 }) {
                    m.forward(batch.inputs, B: batch.B, T: batch.T)
                    batch.targets.withUnsafeBufferPointer { _ = m.crossEntropy($0.baseAddress!) }
                }
                let p = model.probs, q = reference?.probs
                for b in 0..<batch.B {
                    var h = 0.0, kl = 0.0, n = 0
                    for t in 0..<batch.T where batch.targets[b * batch.T + t] >= 0 {
                        let i = b * batch.T + t
                        for v in 0..<V {
                            let pv = Double(p[i * V + v])
                            guard pv > 0 else { continue }
                            h -= pv * log(pv)
                            if let q { kl += pv * log(pv / max(Double(q[i * V + v]), 1e-30)) }
                        }
                        n += 1
                    }
                    out.append((h, kl, n))
                }
            }
            return out
        }
    }

    /// Mean per-token KL(π ‖ π_ref) over the reply positions of `rows`, pooled over rows: at
    /// each position, Σ_v π(v) log(π(v) / π_ref(v)) given the same context. 0 at the start;
    /// how far training moved the model, in nats per token.
    public static func meanKL(_ policy: GPT, _ reference: GPT, _ rows: [ChatTemplate.Rendered]) -> Double {
        let stats = sums(policy, reference: reference, rows)
        let tokens = stats.reduce(0) { $0 + $1.tokens }
        return tokens > 0 ? stats.reduce(0.0) { $0 + $1.kl } / Double(tokens) : 0
    }

    /// Per row: the mean over its reply tokens of the entropy and of the KL to `reference`
    /// (rows with no reply token are left out).
    public static func perToken(_ model: GPT, reference: GPT?, _ rows: [ChatTemplate.Rendered]) -> [(entropy: Double, kl: Double)] {
        sums(model, reference: reference, rows).compactMap { r in
            r.tokens > 0 ? (r.entropy / Double(r.tokens), r.kl / Double(r.tokens)) : nil
        }
    }
}
