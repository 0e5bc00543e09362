import Foundation

// Softmax + cross-entropy: how surprised the model is by the real next token.
//
//     probs[i, :] = softmax(logits[i, :])
//     loss[i]     = -log probs[i, target[i]]          (nats; ln V for a uniform guess)
//
// The backward pass takes a weight per token instead of assuming a plain mean.
// That one extra input is what every training stage in the course changes:
//     pretraining: weight 1/N on every token (the mean loss);
//     SFT:         1/N on assistant tokens, 0 on prompt tokens (the loss mask);
//     DPO, GRPO:   a signed weight per token, built from the preference margin
//                  or the sampled answer's advantage.
// Since d(-log p_target)/dlogits = probs - onehot(target), the gradient is
//     dlogits[i, :] = weight[i] · (probs[i, :] - onehot(target[i])).
// A target of -1 means "no target here" (loss 0, gradient 0).

/// Writes probs[N,V] and loss[N] (= -log p(target), 0 where target < 0) from logits[N,V].
public func softmax_crossentropy_forward(_ loss: FloatPtr, _ probs: FloatPtr, _ logits: ConstFloatPtr,
                                         _ targets: UnsafePointer<Int32>, N: Int, V: Int) {
    let threads = Parallel.threads
    Parallel.forEach(threads, work: N * V * 10) { part in
        for i in Parallel.range(part, of: threads, n: N) {
            let x = logits + i * V, p = probs + i * V
            let (m, z) = softmax_row(p, x, V)
            let target = Int(targets[i])
            if target >= 0 {
                // log p = x_t - max - log Σ exp(x - max): computed from the logits, never log(0).
                loss[i] = -(x[target] - m - log(z))
            } else {
                loss[i] = 0
            }
        }
    }
}

/// p[V] = softmax(x[V]), with the max subtracted first so exp never overflows.
/// Returns the max and Σ exp(x - max), from which log-probabilities follow.
@inline(__always) @discardableResult
public func softmax_row(_ p: FloatPtr, _ x: ConstFloatPtr, _ V: Int) -> (max: Float, sum: Float) {
    var m = -Float.infinity
    for v in 0..<V { m = max(m, x[v]) }
    var sum: Float = 0
    var j = 0
    while j + 8 <= V {
        let e = exp8(load8(x + j) - m)
        store8(e, p + j)
        sum += hsum(e)
        j += 8
    }
    if j < V {
        let e = exp8(loadPartial(x + j, V - j) - m)
        storePartial(e, p + j, V - j)
        for l in 0..<(V - j) { sum += e[l] }
    }
    let inv = 1 / sum
    for v in 0..<V { p[v] *= inv }
    return (m, sum)
}

/// dlogits[N,V] = weight[i] · (probs[i,:] - onehot(target[i])); overwrites dlogits.
/// Rows with target < 0 or weight 0 get a zero gradient.
public func crossentropy_backward(_ dlogits: FloatPtr, _ probs: ConstFloatPtr, _ targets: UnsafePointer<Int32>,
                                  _ weights: ConstFloatPtr, N: Int, V: Int) {
    for i in 0..<N {
        let d = dlogits + i * V, p = probs + i * V
        let target = Int(targets[i])
        let w = weights[i]
        if target < 0 || w == 0 {
            d.update(repeating: 0, count: V)
            continue
        }
        for v in 0..<V { d[v] = w * p[v] }
        d[target] -= w
    }
}
