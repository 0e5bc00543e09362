import Foundation
import Kernels

/// How to pick each next token.
public struct SamplingOptions: Sendable {
    /// 0 means greedy (always the most likely token); 1 samples from the model's own
    /// distribution; below 1 sharpens it, above 1 flattens it.
    public var temperature: Float
    /// Keep only the k most likely tokens before sampling (0 = all).
    public var topK: Int
    /// Stop a sequence once it produces this token (it is included in the output).
    public var stopToken: Int?
    /// More tokens that stop a sequence the same way (tool use: <|result|> hands over to the runner).
    public var alsoStopAt: [Int]
    /// At most this many new tokens per sequence; also stops when prompt + completion fill the context.
    public var maxNewTokens: Int

    public init(temperature: Float = 1, topK: Int = 0, stopToken: Int? = nil, alsoStopAt: [Int] = [], maxNewTokens: Int = 64) {
        self.temperature = temperature; self.topK = topK; self.stopToken = stopToken; self.alsoStopAt = alsoStopAt
        self.maxNewTokens = maxNewTokens
    }

    /// Whether `token` ends a sequence.
    @inline(__always)
    func stops(at token: Int) -> Bool { token == stopToken || alsoStopAt.contains(token) }
}

/// One generated continuation.
public struct Completion: Sendable {
    /// The new tokens (not the prompt), ending with the stop token if it was produced.
    public var tokens: [Int]
    /// log p(token) under the model (temperature 1, no top-k) for each new token:
    /// what the RL and preference stages need, whatever sampling settings picked the token.
    public var logprobs: [Float]
    /// True if a stop token ended the sequence (false: ran out of length).
    public var stopped: Bool

    public init(tokens: [Int], logprobs: [Float], stopped: Bool) {
        self.tokens = tokens; self.logprobs = logprobs; self.stopped = stopped
    }
}

extension GPT {
    /// Continues every prompt in the batch, all sequences at once, with a KV cache.
    ///
    /// Without a cache, each new token would need a forward pass over the whole
    /// sequence so far. With it, each layer keeps the keys and values of past
    /// positions, and a step only computes the new token's row: for every layer,
    /// one matmul of [n, C] rows for all n sequences together.
    public func generate(prompts: [[Int]], options: SamplingOptions, rng: inout RNG) -> [Completion] {
        let n = prompts.count
        if n == 0 { return [] }
        let V = config.vocabSize, C = config.channels, H = config.heads, L = config.layers
        let hs = C / H, maxT = config.blockSize
        let p = params.ptr
        for prompt in prompts {
            precondition(!prompt.isEmpty && prompt.count <= maxT, "generate: prompt length must be in 1...\(maxT)")
            for t in prompt { precondition(t >= 0 && t < V, "generate: token id \(t) outside 0..<\(V)") }
        }
        // Caches: keys and values per layer, sequence, position: [L, n, maxT, C].
        let kcache = FloatBuffer(count: L * n * maxT * C)
        let vcache = FloatBuffer(count: L * n * maxT * C)
        func cacheRow(_ cache: FloatBuffer, _ l: Int, _ s: Int, _ t: Int) -> UnsafeMutablePointer<Float> {
            cache.ptr + ((l * n + s) * maxT + t) * C
        }
        // Per-step activations for n rows.
        let x = FloatBuffer(count: n * C), ln = FloatBuffer(count: n * C), qkv = FloatBuffer(count: n * 3 * C)
        let y = FloatBuffer(count: n * C), tmp = FloatBuffer(count: n * C), h = FloatBuffer(count: n * 4 * C)
        let hg = FloatBuffer(count: n * 4 * C), mean = FloatBuffer(count: n), rstd = FloatBuffer(count: n)
        let logits = FloatBuffer(count: n * V), att = FloatBuffer(count: maxT), probs = FloatBuffer(count: V)

        var pos = [Int](repeating: 0, count: n)               // next position to fill, per sequence
        var nextToken = prompts.map { $0[0] }                  // the token each sequence feeds in this step
        var out = [Completion](repeating: Completion(tokens: [], logprobs: [], stopped: false), count: n)
        var active = [Bool](repeating: true, count: n)

        while active.contains(true) {
            // Embed this step's token for every sequence (finished ones keep feeding their last token; ignored).
            for s in 0..<n {
                let row = x.ptr + s * C
                let e = p + layout.wte + nextToken[s] * C
                if let wpe = layout.wpe {
                    let pe = p + wpe + min(pos[s], maxT - 1) * C
                    for c in 0..<C { row[c] = e[c] + pe[c] }
                } else {
                    row.update(from: e, count: C)
                }
            }
            for l in 0..<L {
                let w = layout.blocks[l]
                layernorm_forward(ln.ptr, mean.ptr, rstd.ptr, x.ptr, p + w.ln1w, p + w.ln1b, N: n, C: C)
                matmul_forward(qkv.ptr, ln.ptr, p + w.qkvw, p + w.qkvb, M: n, K: C, N: 3 * C)
                for s in 0..<n where active[s] {
                    let t = pos[s]
                    let row = qkv.ptr + s * 3 * C
                    if let rope { rope_forward_row(row, rope, position: t, C: C, H: H) }
                    cacheRow(kcache, l, s, t).update(from: row + C, count: C)
                    cacheRow(vcache, l, s, t).update(from: row + 2 * C, count: C)
                    for head in 0..<H {
                        attention_head_forward(out: y.ptr + s * C + head * hs, outStride: C, att: att.ptr, attStride: maxT,
                                               q: row + head * hs, qStride: 3 * C,
                                               k: cacheRow(kcache, l, s, 0) + head * hs, kStride: C,
                                               v: cacheRow(vcache, l, s, 0) + head * hs, vStride: C,
                                               Tq: 1, p0: t, hs: hs)
                    }
                }
                matmul_forward(tmp.ptr, y.ptr, p + w.projw, p + w.projb, M: n, K: C, N: C)
                for i in 0..<(n * C) { x.ptr[i] += tmp.ptr[i] }
                layernorm_forward(ln.ptr, mean.ptr, rstd.ptr, x.ptr, p + w.ln2w, p + w.ln2b, N: n, C: C)
                matmul_forward(h.ptr, ln.ptr, p + w.fcw, p + w.fcb, M: n, K: C, N: 4 * C)
                gelu_forward(hg.ptr, h.ptr, N: n * 4 * C)
                matmul_forward(tmp.ptr, hg.ptr, p + w.fcprojw, p + w.fcprojb, M: n, K: 4 * C, N: C)
                for i in 0..<(n * C) { x.ptr[i] += tmp.ptr[i] }
            }
            layernorm_forward(ln.ptr, mean.ptr, rstd.ptr, x.ptr, p + layout.lnfw, p + layout.lnfb, N: n, C: C)
            matmul_forward(logits.ptr, ln.ptr, p + layout.wte, nil, M: n, K: C, N: V)

            // Advance each sequence: still reading its prompt, or sample a new token.
            for s in 0..<n where active[s] {
                pos[s] += 1
                if pos[s] < prompts[s].count {
                    nextToken[s] = prompts[s][pos[s]]
                    continue
                }
                let row = logits.ptr + s * V
                let token = sample(row, V: V, options: options, probs: probs.ptr, rng: &rng)
                // log p under the model itself (temperature 1, all tokens).
                let (m, z) = softmax_row(probs.ptr, row, V)
                let logp = row[token] - m - Float(log(Double(z)))
                out[s].tokens.append(token)
                out[s].logprobs.append(logp)
                nextToken[s] = token
                if options.stops(at: token) {
                    out[s].stopped = true
                    active[s] = false
                } else if out[s].tokens.count >= options.maxNewTokens || prompts[s].count + out[s].tokens.count >= maxT {
                    // Prompt + completion never exceed the context, so a full forward pass can re-score it.
                    active[s] = false
                }
            }
        }
        return out
    }

    /// Picks a token from one row of logits according to the options.
    func sample(_ logits: UnsafePointer<Float>, V: Int, options: SamplingOptions, probs: UnsafeMutablePointer<Float>,
                rng: inout RNG) -> Int {
        if options.temperature <= 0 {
            var best = 0
            for v in 1..<V where logits[v] > logits[best] { best = v }
            return best
        }
        let invT = 1 / options.temperature
        for v in 0..<V { probs[v] = logits[v] * invT }
        if options.topK > 0 && options.topK < V {
            // The k-th largest scaled logit; everything below it is dropped.
            var sorted = Array(UnsafeBufferPointer(start: probs, count: V))
            sorted.sort(by: >)
            let cutoff = sorted[options.topK - 1]
            for v in 0..<V where probs[v] < cutoff { probs[v] = -Float.infinity }
        }
        var m = -Float.infinity
        for v in 0..<V { m = max(m, probs[v]) }
        for v in 0..<V { probs[v] = probs[v] == -Float.infinity ? 0 : Float(exp(Double(probs[v] - m))) }
        return rng.categorical(probs, count: V)
    }
}

