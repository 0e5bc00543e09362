import Foundation

// AdamW, gradient clipping and the learning-rate schedule: how a gradient becomes a step.

/// AdamW's settings. The defaults are the usual ones for small transformers.
public struct AdamWConfig: Sendable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var eps: Float = 1e-8
    public var weightDecay: Float = 0.1

    public init(beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8, weightDecay: Float = 0.1) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }
}

/// One AdamW update of N parameters, at step t (1-based).
///
/// Adam keeps a running mean m of the gradient and of its square v, and steps by
/// m / √v: every parameter moves at a similar pace whatever its gradient's scale.
/// The "W" is decoupled weight decay: shrink the weights a little each step
/// (only matrices; biases, norms and position tables are passed decay = 0).
public func adamw_update(_ params: FloatPtr, _ grads: ConstFloatPtr, _ m: FloatPtr, _ v: FloatPtr, N: Int,
                         lr: Float, step t: Int, decay: Float, config c: AdamWConfig) {
    let b1 = c.beta1, b2 = c.beta2
    let correction1 = 1 - Float(pow(Double(b1), Double(t)))
    let correction2 = 1 - Float(pow(Double(b2), Double(t)))
    // Eight parameters at a time; the arithmetic is the same for the ragged tail.
    @inline(__always) func step8(_ g: SIMD8<Float>, _ m0: SIMD8<Float>, _ v0: SIMD8<Float>, _ p: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let mi = b1 * m0 + (1 - b1) * g
        let vi = b2 * v0 + (1 - b2) * g * g
        let mhat = mi / correction1
        let vhat = vi / correction2
        return (mi, vi, p - lr * (mhat / (vhat.squareRoot() + c.eps) + decay * p))
    }
    // Every parameter is independent: split the vectors across threads in 8-aligned chunks.
    let chunks = N / 8
    let threads = Parallel.threads
    Parallel.forEach(threads, work: N * 16, minWork: 1 << 18) { part in
        for ch in Parallel.range(part, of: threads, n: chunks) {
            let i = ch * 8
            let (mi, vi, pi) = step8(load8(grads + i), load8(m + i), load8(v + i), load8(params + i))
            store8(mi, m + i); store8(vi, v + i); store8(pi, params + i)
        }
    }
    let i = chunks * 8
    if i < N {
        let n = N - i
        let (mi, vi, pi) = step8(loadPartial(grads + i, n), loadPartial(m + i, n), loadPartial(v + i, n),
                                 loadPartial(params + i, n))
        storePartial(mi, m + i, n); storePartial(vi, v + i, n); storePartial(pi, params + i, n)
    }
}

/// The L2 norm of all N gradients, summed in Double in a fixed order.
public func global_norm(_ grads: ConstFloatPtr, N: Int) -> Float {
    var s: Double = 0
    var acc = SIMD8<Double>()
    var i = 0
    while i + 8 <= N {
        let g = SIMD8<Double>(load8(grads + i))
        acc += g * g
        i += 8
    }
    s = acc.sum()
    while i < N { s += Double(grads[i]) * Double(grads[i]); i += 1 }
    return Float(s.squareRoot())
}

/// Scales the gradients so their global norm is at most maxNorm; returns the norm before clipping.
/// One unlucky batch can produce a huge gradient; clipping keeps it from wrecking the weights.
@discardableResult
public func clip_grad_norm(_ grads: FloatPtr, N: Int, maxNorm: Float) -> Float {
    clip_grad_norm(grads, N: N, maxNorm: maxNorm, norm: global_norm(grads, N: N))
}

/// `clip_grad_norm` with the norm already measured (a training step checks it for NaN first).
@discardableResult
public func clip_grad_norm(_ grads: FloatPtr, N: Int, maxNorm: Float, norm: Float) -> Float {
    if norm.isFinite && norm > maxNorm {
        let s = maxNorm / (norm + 1e-6)
        for i in 0..<N { grads[i] *= s }
    }
    return norm
}

/// Learning rate as a function of the step: linear warm-up, then a decay to minLR.
///
/// Warm-up avoids huge first steps while Adam's statistics are still empty;
/// decaying at the end lets the weights settle into a minimum instead of
/// bouncing around it (it is worth a lot of loss on small models).
public struct LRSchedule: Sendable {
    public enum Decay: String, Sendable { case cosine, linear, constant }
    public var peak: Float
    public var warmup: Int
    public var total: Int
    public var minFraction: Float
    public var decay: Decay

    public init(peak: Float, warmup: Int, total: Int, minFraction: Float = 0.1, decay: Decay = .cosine) {
        self.peak = peak; self.warmup = warmup; self.total = total
        self.minFraction = minFraction; self.decay = decay
    }

    /// The learning rate for step (0-based).
    public func lr(_ step: Int) -> Float {
        if step < warmup { return peak * Float(step + 1) / Float(warmup) }
        let minLR = peak * minFraction
        let span = max(1, total - warmup)
        let progress = min(1, Float(step - warmup) / Float(span))
        switch decay {
        case .constant: return peak
        case .linear: return peak - (peak - minLR) * progress
        case .cosine: return minLR + (peak - minLR) * 0.5 * (1 + Float(cos(Double.pi * Double(progress))))
        }
    }
}
