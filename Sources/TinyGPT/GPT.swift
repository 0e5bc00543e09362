import Kernels

/// A GPT-2-style decoder-only transformer, small enough to train on a laptop CPU.
///
///     tokens [B,T] -> wte (+ wpe) -> L x Block -> LayerNorm -> · wteᵀ -> logits [B,T,V]
///     Block: x = x + proj(attention(ln1(x)));  x = x + mlp(ln2(x)),  mlp = proj(gelu(fc(·)))
///
/// Positions: rotary (the default) turns each head's q and k by the position inside
/// attention (Kernels/Rope.swift); learned (GPT-2) adds a position vector `wpe` to each token.
///
/// `forward` caches every activation the backward pass needs; `backward` takes
/// dLogits (how the loss changes with each logit) and accumulates parameter
/// gradients into `grads`. Every training objective in the course is just a
/// different way of building dLogits (see Kernels/CrossEntropy.swift).
public final class GPT {
    public let config: GPTConfig
    public let layout: ParameterLayout
    /// All parameters, one allocation; `layout` names the pieces.
    public let params: FloatBuffer
    /// Gradients, same layout as params. Accumulated by backward until `zeroGrad()`.
    public let grads: FloatBuffer
    /// The activations of the last forward pass, sized for its B and T.
    var acts = Activations()
    /// cos/sin of every position's rotation angles, for rotary positions (nil for learned).
    let rope: RopeTables?

    /// A freshly initialised model: weights ~ N(0, 0.02), the projections into the
    /// residual stream scaled down by √(2L) (GPT-2) so the stream does not grow
    /// with depth, biases 0, LayerNorm weights 1.
    public init(config: GPTConfig, seed: UInt64) throws {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config)
        params = FloatBuffer(count: layout.count)
        grads = FloatBuffer(count: layout.count)
        rope = GPT.ropeTables(config)
        var rng = RNG(seed: seed)
        let residualScale: Float = 1 / Float(2 * config.layers).squareRoot()
        for t in layout.tensors {
            let p = params.ptr + t.offset
            if t.name.hasSuffix(".bias") {
                p.update(repeating: 0, count: t.count)
            } else if t.name.hasPrefix("ln") || t.name.contains(".ln") {
                p.update(repeating: 1, count: t.count)
            } else {
                let std: Float = t.name.hasSuffix("proj.weight") ? 0.02 * residualScale : 0.02
                for i in 0..<t.count { p[i] = std * rng.normal() }
            }
        }
    }

    /// A model with the same config and a copy of the parameters (e.g. a frozen reference).
    public func copy() -> GPT {
        let m = GPT(config: config, layout: layout)
        m.params.copy(from: params)
        return m
    }

    /// A model of `newConfig` with every tensor but `changed` copied from this one, matched by
    /// name: what a longer context or a larger vocabulary starts from (each fills `changed`).
    func resized(to newConfig: GPTConfig, except changed: String, caller: String) throws -> GPT {
        try newConfig.validate()
        let new = GPT(config: newConfig, layout: ParameterLayout(newConfig))
        for t in new.layout.tensors where t.name != changed {
            guard let old = layout.tensor(named: t.name), old.count == t.count else {
                throw ConfigError(message: "\(caller): tensor \(t.name) has no counterpart in \(config)")
            }
            (new.params.ptr + t.offset).update(from: params.ptr + old.offset, count: t.count)
        }
        return new
    }

    init(config: GPTConfig, layout: ParameterLayout) {
        self.config = config
        self.layout = layout
        params = FloatBuffer(count: layout.count)
        grads = FloatBuffer(count: layout.count)
        rope = GPT.ropeTables(config)
    }

    static func ropeTables(_ config: GPTConfig) -> RopeTables? {
        config.positions == .rotary ? RopeTables(T: config.blockSize, headSize: config.headSize) : nil
    }

    public var parameterCount: Int { layout.count }

    public func zeroGrad() { grads.zero() }

    /// The logits of the last forward pass: [B, T, V].
    public var logits: UnsafeMutablePointer<Float> { acts.buf.ptr + acts.logits }
    /// softmax(logits) after `crossEntropy`: [B, T, V].
    public var probs: UnsafeMutablePointer<Float> { acts.buf.ptr + acts.probs }
    /// The attention weights of layer l from the last forward: [B, H, T, T].
    public func attention(layer l: Int) -> UnsafeMutablePointer<Float> { acts.buf.ptr + acts.att + l * acts.attPerLayer }
    public var lastBatch: (B: Int, T: Int) { (acts.B, acts.T) }

    // MARK: forward

    /// tokens [B,T] -> logits [B,T,V] (read them from `logits`). Caches activations for `backward`.
    public func forward(_ tokens: UnsafePointer<Int32>, B: Int, T: Int) {
        precondition(T >= 1 && T <= config.blockSize, "forward: T=\(T) outside 1...\(config.blockSize)")
        let V = config.vocabSize, C = config.channels, H = config.heads, L = config.layers
        for i in 0..<(B * T) {
            precondition(tokens[i] >= 0 && Int(tokens[i]) < V, "forward: token id \(tokens[i]) outside 0..<\(V)")
        }
        acts.prepare(config, B: B, T: T)
        let N = B * T
        // Keep the tokens for the backward pass (before taking the offsets copy A below).
        acts.tokens.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: tokens, count: N) }
        let p = params.ptr, a = acts.buf.ptr, A = acts

        embedding_forward(a + A.encoded, tokens, p + layout.wte, layout.wpe.map { p + $0 }, B: B, T: T, C: C)
        for l in 0..<L {
            let w = layout.blocks[l]
            let residual = l == 0 ? a + A.encoded : a + A.layer(l - 1, A.residual3)
            let ln1 = a + A.layer(l, A.ln1), qkv = a + A.layer(l, A.qkv), atty = a + A.layer(l, A.atty)
            let res2 = a + A.layer(l, A.residual2), ln2 = a + A.layer(l, A.ln2)
            let fch = a + A.layer(l, A.fch), fchGelu = a + A.layer(l, A.fchGelu), res3 = a + A.layer(l, A.residual3)
            let tmp = a + A.scratch  // [N, C] projection output before the residual add

            layernorm_forward(ln1, a + A.layer(l, A.ln1Mean), a + A.layer(l, A.ln1Rstd), residual,
                              p + w.ln1w, p + w.ln1b, N: N, C: C)
            matmul_forward(qkv, ln1, p + w.qkvw, p + w.qkvb, M: N, K: C, N: 3 * C)
            if let rope { rope_forward(qkv, rope, B: B, T: T, C: C, H: H) }  // qkv now holds the turned q, k
            attention_forward(atty, a + A.att + l * A.attPerLayer, qkv, B: B, T: T, C: C, H: H)
            matmul_forward(tmp, atty, p + w.projw, p + w.projb, M: N, K: C, N: C)
            residual_forward(res2, residual, tmp, N: N * C)
            layernorm_forward(ln2, a + A.layer(l, A.ln2Mean), a + A.layer(l, A.ln2Rstd), res2,
                              p + w.ln2w, p + w.ln2b, N: N, C: C)
            matmul_forward(fch, ln2, p + w.fcw, p + w.fcb, M: N, K: C, N: 4 * C)
            gelu_forward(fchGelu, fch, N: N * 4 * C)
            matmul_forward(tmp, fchGelu, p + w.fcprojw, p + w.fcprojb, M: N, K: 4 * C, N: C)
            residual_forward(res3, res2, tmp, N: N * C)
        }
        let last = a + A.layer(L - 1, A.residual3)
        layernorm_forward(a + A.lnf, a + A.lnfMean, a + A.lnfRstd, last, p + layout.lnfw, p + layout.lnfb, N: N, C: C)
        // Weight tying: the output layer reuses the token embedding, logits = lnf · wteᵀ.
        matmul_forward(a + A.logits, a + A.lnf, p + layout.wte, nil, M: N, K: C, N: V)
    }

    /// After `forward`: probs = softmax(logits) and loss[i] = -log p(targets[i]) per position
    /// (0 where the target is -1). Returns the per-position losses [B*T].
    @discardableResult
    public func crossEntropy(_ targets: UnsafePointer<Int32>) -> [Float] {
        let N = acts.B * acts.T
        var losses = [Float](repeating: 0, count: N)
        losses.withUnsafeMutableBufferPointer { lp in
            softmax_crossentropy_forward(lp.baseAddress!, probs, logits, targets, N: N, V: config.vocabSize)
        }
        return losses
    }

    // MARK: backward

    /// Accumulates parameter gradients into `grads` from dlogits [B,T,V] (for the last forward's B, T).
    public func backward(_ dlogits: UnsafePointer<Float>) {
        let B = acts.B, T = acts.T
        let V = config.vocabSize, C = config.channels, H = config.heads, L = config.layers
        let N = B * T
        let p = params.ptr, g = grads.ptr, a = acts.buf.ptr, A = acts
        let d = acts.dbuf.ptr
        let dres = d + A.dResidual, dA = d + A.dA, dB = d + A.dB, dqkv = d + A.dQKV
        func zero(_ x: UnsafeMutablePointer<Float>, _ n: Int) { x.update(repeating: 0, count: n) }

        // Each scratch buffer is written (overwriteInput) before it is read, so only the
        // accumulated ones (dres, dqkv) need zeroing.
        // logits = lnf · wteᵀ
        matmul_backward(dA, g + layout.wte, nil, dlogits, a + A.lnf, p + layout.wte, M: N, K: C, N: V, overwriteInput: true)
        zero(dres, N * C)
        layernorm_backward(dres, g + layout.lnfw, g + layout.lnfb, dA, a + A.layer(L - 1, A.residual3),
                           p + layout.lnfw, a + A.lnfMean, a + A.lnfRstd, N: N, C: C)

        for l in stride(from: L - 1, through: 0, by: -1) {
            let w = layout.blocks[l]
            let residual = l == 0 ? a + A.encoded : a + A.layer(l - 1, A.residual3)
            // dres holds d(res3). res3 = res2 + mlp(ln2(res2)): the gradient reaches res2 directly
            // (dres already) and through the MLP.
            matmul_backward(dB, g + w.fcprojw, g + w.fcprojb, dres, a + A.layer(l, A.fchGelu), p + w.fcprojw,
                            M: N, K: 4 * C, N: C, overwriteInput: true)
            let dfch = d + A.dFch
            gelu_backward(dfch, a + A.layer(l, A.fch), dB, N: N * 4 * C)
            matmul_backward(dA, g + w.fcw, g + w.fcb, dfch, a + A.layer(l, A.ln2), p + w.fcw, M: N, K: C, N: 4 * C,
                            overwriteInput: true)
            layernorm_backward(dres, g + w.ln2w, g + w.ln2b, dA, a + A.layer(l, A.residual2), p + w.ln2w,
                               a + A.layer(l, A.ln2Mean), a + A.layer(l, A.ln2Rstd), N: N, C: C)
            // dres holds d(res2). res2 = residual + proj(attention(ln1(residual))).
            matmul_backward(dA, g + w.projw, g + w.projb, dres, a + A.layer(l, A.atty), p + w.projw, M: N, K: C, N: C,
                            overwriteInput: true)
            zero(dqkv, N * 3 * C)
            attention_backward(dqkv, dA, a + A.layer(l, A.qkv), a + A.att + l * A.attPerLayer, B: B, T: T, C: C, H: H)
            if let rope { rope_backward(dqkv, rope, B: B, T: T, C: C, H: H) }
            matmul_backward(dA, g + w.qkvw, g + w.qkvb, dqkv, a + A.layer(l, A.ln1), p + w.qkvw, M: N, K: C, N: 3 * C,
                            overwriteInput: true)
            layernorm_backward(dres, g + w.ln1w, g + w.ln1b, dA, residual, p + w.ln1w,
                               a + A.layer(l, A.ln1Mean), a + A.layer(l, A.ln1Rstd), N: N, C: C)
            // dres now holds d(residual), the input of block l.
        }
        acts.tokens.withUnsafeBufferPointer { tp in
            embedding_backward(g + layout.wte, layout.wpe.map { g + $0 }, dres, tp.baseAddress!, B: B, T: T, C: C)
        }
    }

    /// The simplest objective, for pretraining and tests: forward, cross-entropy with a
    /// weight per position, backward. Returns Σ weight·loss. Pass weights 1/N for the mean loss.
    @discardableResult
    public func forwardBackward(tokens: UnsafePointer<Int32>, targets: UnsafePointer<Int32>,
                                weights: UnsafePointer<Float>, B: Int, T: Int) -> Float {
        forward(tokens, B: B, T: T)
        let losses = crossEntropy(targets)
        var total: Float = 0
        for i in 0..<(B * T) { total += weights[i] * losses[i] }
        let dlogits = acts.dbuf.ptr + acts.dLogits
        crossentropy_backward(dlogits, probs, targets, weights, N: B * T, V: config.vocabSize)
        backward(dlogits)
        return total
    }

    /// A [B*T*V] scratch buffer the caller may fill with dlogits before calling `backward`.
    public var dlogitsScratch: UnsafeMutablePointer<Float> { acts.dbuf.ptr + acts.dLogits }
}

/// Offsets (in floats) of every cached activation for one (B, T), inside two buffers:
/// `buf` for the forward activations and `dbuf` for the backward pass's scratch.
struct Activations {
    var B = 0, T = 0
    var buf = FloatBuffer(count: 0)
    var dbuf = FloatBuffer(count: 0)
    var tokens: [Int32] = []
    // per-layer tensors: offset of layer 0 and the stride between layers
    var perLayer = 0
    var ln1 = 0, ln1Mean = 0, ln1Rstd = 0, qkv = 0, atty = 0, residual2 = 0
    var ln2 = 0, ln2Mean = 0, ln2Rstd = 0, fch = 0, fchGelu = 0, residual3 = 0
    var att = 0, attPerLayer = 0
    var encoded = 0, lnf = 0, lnfMean = 0, lnfRstd = 0, logits = 0, probs = 0, scratch = 0
    var dResidual = 0, dA = 0, dB = 0, dFch = 0, dQKV = 0, dLogits = 0

    @inline(__always) func layer(_ l: Int, _ offset: Int) -> Int { l * perLayer + offset }

    /// Lays out the buffers for this B, T; reallocates only when they must grow.
    mutating func prepare(_ cfg: GPTConfig, B: Int, T: Int) {
        if B == self.B && T == self.T && !tokens.isEmpty { return }
        let N = B * T, C = cfg.channels, V = cfg.vocabSize, L = cfg.layers, H = cfg.heads
        var o = 0
        func take(_ n: Int) -> Int { defer { o += n }; return o }
        // One layer's block; the layers follow each other.
        ln1 = take(N * C); ln1Mean = take(N); ln1Rstd = take(N); qkv = take(N * 3 * C); atty = take(N * C)
        residual2 = take(N * C); ln2 = take(N * C); ln2Mean = take(N); ln2Rstd = take(N)
        fch = take(N * 4 * C); fchGelu = take(N * 4 * C); residual3 = take(N * C)
        perLayer = o
        o = perLayer * L
        attPerLayer = B * H * T * T
        att = take(attPerLayer * L)
        encoded = take(N * C); lnf = take(N * C); lnfMean = take(N); lnfRstd = take(N)
        logits = take(N * V); probs = take(N * V); scratch = take(N * C)
        if buf.count < o { buf = FloatBuffer(count: o) }
        o = 0
        dResidual = take(N * C); dA = take(N * C); dB = take(N * 4 * C); dFch = take(N * 4 * C)
        dQKV = take(N * 3 * C); dLogits = take(N * V)
        if dbuf.count < o { dbuf = FloatBuffer(count: o) }
        tokens = [Int32](repeating: 0, count: N)
        self.B = B
        self.T = T
    }
}
