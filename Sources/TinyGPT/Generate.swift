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
    ///
    /// All sequences move one position per step. The positions every prompt has (all
    /// but the shortest prompt's last token) are read in one first step of many rows,
    /// row by row the same arithmetic as one at a time, so the numbers do not change.
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
        // The shared prompt positions, read in the first step: rows (s, t) for t < prefill.
        let prefill = (prompts.map(\.count).min() ?? 1) - 1
        let maxRows = max(n, n * prefill)
        // Per-step activations, one row per (sequence, position) of the step.
        let x = FloatBuffer(count: maxRows * C), ln = FloatBuffer(count: maxRows * C), qkv = FloatBuffer(count: maxRows * 3 * C)
        let y = FloatBuffer(count: maxRows * C), tmp = FloatBuffer(count: maxRows * C), h = FloatBuffer(count: maxRows * 4 * C)
        let hg = FloatBuffer(count: maxRows * 4 * C), mean = FloatBuffer(count: maxRows), rstd = FloatBuffer(count: maxRows)
        let logits = FloatBuffer(count: n * V), probs = FloatBuffer(count: V)
        let threads = Parallel.threads
        let att = FloatBuffer(count: threads * maxT)  // one attention row per thread
        // The weights do not change while generating: packed once for every step's matmuls.
        let packed = layout.blocks.map { w in
            (qkv: PackedB.weight(p + w.qkvw, N: 3 * C, K: C), proj: PackedB.weight(p + w.projw, N: C, K: C),
             fc: PackedB.weight(p + w.fcw, N: 4 * C, K: C), fcproj: PackedB.weight(p + w.fcprojw, N: C, K: 4 * C))
        }
        let unembed = PackedB.weight(p + layout.wte, N: V, K: C)
        defer {
            for w in packed { w.qkv.deallocate(); w.proj.deallocate(); w.fc.deallocate(); w.fcproj.deallocate() }
            unembed.deallocate()
        }

        /// One step through the model for `rows` = (sequence, position, token): every row's key
        /// and value go into the caches first, then each row attends to its own sequence's
        /// positions 0...t. With `logits`, row r's next-token logits land in logits[r].
        func step(_ rows: [(s: Int, t: Int, token: Int)], logits wantLogits: Bool) {
            let R = rows.count
            for (r, row) in rows.enumerated() {
                let dst = x.ptr + r * C
                let e = p + layout.wte + row.token * C
                if let wpe = layout.wpe {
                    let pe = p + wpe + min(row.t, maxT - 1) * C
                    for c in 0..<C { dst[c] = e[c] + pe[c] }
                } else {
                    dst.update(from: e, count: C)
                }
            }
            let attWork = rows.reduce(0) { $0 + ($1.t + 1) } * C * 4
            for l in 0..<L {
                let w = layout.blocks[l], pw = packed[l]
                layernorm_forward(ln.ptr, mean.ptr, rstd.ptr, x.ptr, p + w.ln1w, p + w.ln1b, N: R, C: C)
                matmul_forward(qkv.ptr, ln.ptr, pw.qkv, p + w.qkvb, M: R)
                for (r, row) in rows.enumerated() {
                    let q = qkv.ptr + r * 3 * C
                    if let rope { rope_forward_row(q, rope, position: row.t, C: C, H: H) }
                    cacheRow(kcache, l, row.s, row.t).update(from: q + C, count: C)
                    cacheRow(vcache, l, row.s, row.t).update(from: q + 2 * C, count: C)
                }
                // Rows attend independently: threads split them, each with its own scratch row.
                Parallel.forEach(threads, work: attWork) { part in
                    let a = att.ptr + part * maxT
                    for r in Parallel.range(part, of: threads, n: R) {
                        let (s, t) = (rows[r].s, rows[r].t)
                        let q = qkv.ptr + r * 3 * C
                        for head in 0..<H {
                            attention_head_forward(out: y.ptr + r * C + head * hs, outStride: C, att: a, attStride: maxT,
                                                   q: q + head * hs, qStride: 3 * C,
                                                   k: cacheRow(kcache, l, s, 0) + head * hs, kStride: C,
                                                   v: cacheRow(vcache, l, s, 0) + head * hs, vStride: C,
                                                   Tq: 1, p0: t, hs: hs)
                        }
                    }
                }
                matmul_forward(tmp.ptr, y.ptr, pw.proj, p + w.projb, M: R)
                for i in 0..<(R * C) { x.ptr[i] += tmp.ptr[i] }
                layernorm_forward(ln.ptr, mean.ptr, rstd.ptr, x.ptr, p + w.ln2w, p + w.ln2b, N: R, C: C)
                matmul_forward(h.ptr, ln.ptr, pw.fc, p + w.fcb, M: R)
                gelu_forward(hg.ptr, h.ptr, N: R * 4 * C)
                matmul_forward(tmp.ptr, hg.ptr, pw.fcproj, p + w.fcprojb, M: R)
                for i in 0..<(R * C) { x.ptr[i] += tmp.ptr[i] }
            }
            if wantLogits {
                layernorm_forward(ln.ptr, mean.ptr, rstd.ptr, x.ptr, p + layout.lnfw, p + layout.lnfb, N: R, C: C)
                matmul_forward(logits.ptr, ln.ptr, unembed, nil, M: R)
            }
        }

        if prefill > 0 {
            step((0..<n).flatMap { s in (0..<prefill).map { t in (s: s, t: t, token: prompts[s][t]) } }, logits: false)
        }
        var pos = [Int](repeating: prefill, count: n)          // next position to fill, per sequence
        var nextToken = prompts.map { $0[prefill] }            // the token each sequence feeds in this step
        var out = [Completion](repeating: Completion(tokens: [], logprobs: [], stopped: false), count: n)
        var active = [Bool](repeating: true, count: n)

        while active.contains(true) {
            let live = (0..<n).filter { active[$0] }
            step(live.map { (s: $0, t: pos[$0], token: nextToken[$0]) }, logits: true)

            // Advance each sequence: still reading its prompt, or sample a new token.
            for (r, s) in live.enumerated() {
                pos[s] += 1
                if pos[s] < prompts[s].count {
                    nextToken[s] = prompts[s][pos[s]]
                    continue
                }
                let row = logits.ptr + r * V
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

