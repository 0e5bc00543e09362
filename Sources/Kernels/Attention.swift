// Causal self-attention: each token looks back at the tokens before it.
//
// For one head with head size hs, a query at position t scores every key at
// positions t2 <= t, turns the scores into weights with a softmax, and returns
// the weighted sum of the values:
//
//     att[t, t2] = softmax_t2( q_t · k_t2 / √hs )   for t2 <= t  (0 for t2 > t: the causal mask)
//     out_t      = Σ_t2 att[t, t2] · v_t2
//
// In the model, q, k and v for all heads come from one linear layer, so a row of
// qkv[B,T,3C] is [q (C) | k (C) | v (C)] and head h owns channels h*hs..<(h+1)*hs of each.
// The per-head kernels below take a pointer and a row stride for q, k and v, so
// the same code serves training (reading qkv) and generation (reading a KV cache).

@inline(__always)
func dot(_ a: ConstFloatPtr, _ b: ConstFloatPtr, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n { acc.addProduct(load8(a + i), load8(b + i)); i += 8 }
    var s = hsum(acc)
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// Sum of the 8 lanes, by halves (the stdlib's sum() is a slower lane-by-lane loop).
@inline(__always)
func hsum(_ v: SIMD8<Float>) -> Float {
    let h = v.lowHalf + v.highHalf
    let q = h.lowHalf + h.highHalf
    return q[0] + q[1]
}

/// y[n] += alpha · x[n]
@inline(__always)
func axpy(_ y: FloatPtr, _ alpha: Float, _ x: ConstFloatPtr, _ n: Int) {
    let a = SIMD8<Float>(repeating: alpha)
    var i = 0
    while i + 8 <= n { store8(load8(y + i) + a * load8(x + i), y + i); i += 8 }
    while i < n { y[i] += alpha * x[i]; i += 1 }
}

/// One head, Tq queries at positions p0..<p0+Tq, attending to keys 0...(p0+i).
/// Writes out rows (stride outStride) and the attention weights att[Tq, attStride] (zeros past the mask).
/// Used by generation with a KV cache, where Tq = 1 and p0 is the new token's position.
@inline(__always)
public func attention_head_forward(out: FloatPtr, outStride: Int, att: FloatPtr, attStride: Int,
                                   q: ConstFloatPtr, qStride: Int, k: ConstFloatPtr, kStride: Int,
                                   v: ConstFloatPtr, vStride: Int, Tq: Int, p0: Int, hs: Int) {
    let scale = 1 / Float(hs).squareRoot()
    for i in 0..<Tq {
        let t = p0 + i
        let qi = q + i * qStride
        let row = att + i * attStride
        for t2 in 0...t { row[t2] = dot(qi, k + t2 * kStride, hs) }
        masked_softmax_row(row, t + 1, max(t + 1, attStride), scale)
        let o = out + i * outStride
        o.update(repeating: 0, count: hs)
        for t2 in 0...t { axpy(o, row[t2], v + t2 * vStride, hs) }
    }
}

/// Rows of queries handled together. Row block r only needs keys 0..<end(r), so the
/// matrix products skip most of the masked upper triangle (about 40% of the work at T = 128).
let attentionRowBlock = 5 * MR

/// Causal self-attention over a batch.
/// out[B,T,C] and att[B,H,T,T] (cached for backward) from qkv[B,T,3C].
///
/// For training, each (batch, head) pair is a few small matrix products done with
/// `gemm`, block of query rows by block: scores = Q·Kᵀ, a masked softmax per row,
/// then out = att·V. A packed gemm is ~10x faster than a loop of dot products.
public func attention_forward(_ out: FloatPtr, _ att: FloatPtr, _ qkv: ConstFloatPtr,
                              B: Int, T: Int, C: Int, H: Int) {
    let hs = C / H
    let scale = 1 / Float(hs).squareRoot()
    Parallel.forEach(B * H, work: B * H * T * T * hs * 2) { bh in
        let b = bh / H, h = bh % H
        let q = qkv + b * T * 3 * C + h * hs, k = q + C, v = q + 2 * C
        let a = att + bh * T * T
        // Every block of queries reads a prefix of the same keys and values: pack them once.
        let kT = PackedB(K: hs, N: T), vs = PackedB(K: T, N: hs)
        defer { kT.deallocate(); vs.deallocate() }
        kT.pack(k, ldb: 3 * C, transB: true)
        vs.pack(v, ldb: 3 * C, transB: false)
        var r0 = 0
        while r0 < T {
            let rows = min(attentionRowBlock, T - r0), end = r0 + rows  // queries r0..<end see keys 0..<end
            gemm(M: rows, N: end, K: hs, A: q + r0 * 3 * C, lda: 3 * C, transA: false, packed: kT,
                 C: a + r0 * T, ldc: T, accumulate: false)
            for t in r0..<end { masked_softmax_row(a + t * T, t + 1, T, scale) }
            gemm(M: rows, N: hs, K: end, A: a + r0 * T, lda: T, transA: false, packed: vs,
                 C: out + (b * T + r0) * C + h * hs, ldc: C, accumulate: false)
            r0 = end
        }
    }
}

/// row[0..<n] = softmax(scale · row[0..<n]); row[n..<width] = 0 (the future is masked).
/// Eight lanes at a time: this runs on T²/2 numbers per head, as often as the matmuls.
@inline(__always)
func masked_softmax_row(_ row: FloatPtr, _ n: Int, _ width: Int, _ scale: Float) {
    let full = n / 8 * 8, tail = n - full
    var m8 = SIMD8<Float>(repeating: -.infinity)
    var j = 0
    while j < full { let v = load8(row + j); m8 = m8.replacing(with: v, where: v .> m8); j += 8 }
    var m = m8.max()
    for k in full..<n { m = max(m, row[k]) }
    m *= scale  // scale > 0, so max(scale·x) = scale·max(x)
    let s8 = SIMD8<Float>(repeating: scale)
    var sum8 = SIMD8<Float>()
    j = 0
    while j < full {
        let e = exp8(load8(row + j) * s8 - m)
        store8(e, row + j)
        sum8 += e
        j += 8
    }
    var sum = hsum(sum8)
    if tail > 0 {
        let e = exp8(loadPartial(row + full, tail) * s8 - m)
        storePartial(e, row + full, tail)
        for k in 0..<tail { sum += e[k] }
    }
    let inv = SIMD8<Float>(repeating: 1 / sum)
    j = 0
    while j < full { store8(load8(row + j) * inv, row + j); j += 8 }
    for k in full..<n { row[k] *= inv[0] }
    if width > n { (row + n).update(repeating: 0, count: width - n) }
}

/// d[0..<n] = att ⊙ (d - Σ att·d) · scale: the softmax's backward, eight lanes at a time.
@inline(__always)
func softmax_backward_row(_ d: FloatPtr, _ att: ConstFloatPtr, _ n: Int, _ scale: Float) {
    let full = n / 8 * 8
    var w8 = SIMD8<Float>()
    var j = 0
    while j < full { w8 += load8(att + j) * load8(d + j); j += 8 }
    var weighted = hsum(w8)
    for k in full..<n { weighted += att[k] * d[k] }
    let wv = SIMD8<Float>(repeating: weighted), sv = SIMD8<Float>(repeating: scale)
    j = 0
    while j < full { store8(load8(att + j) * (load8(d + j) - wv) * sv, d + j); j += 8 }
    for k in full..<n { d[k] = att[k] * (d[k] - weighted) * scale }
}

/// Accumulates dqkv[B,T,3C] from dout[B,T,C], using the cached att[B,H,T,T].
///
/// Backward through out = att·V (datt = dout·Vᵀ, dV += attᵀ·dout), then through the
/// softmax (dscore = att ⊙ (datt - Σ att·datt)), then through score = Q·Kᵀ·scale
/// (dQ += dscore·K·scale, dK += dscoreᵀ·Q·scale), by the same row blocks as the forward.
/// Each (b, h) pair touches only its own slice of dqkv, so pairs run in parallel.
public func attention_backward(_ dqkv: FloatPtr, _ dout: ConstFloatPtr, _ qkv: ConstFloatPtr,
                               _ att: ConstFloatPtr, B: Int, T: Int, C: Int, H: Int) {
    let hs = C / H
    let scale = 1 / Float(hs).squareRoot()
    Parallel.forEach(B * H, work: B * H * T * T * hs * 4) { bh in
        let b = bh / H, h = bh % H
        let q = qkv + b * T * 3 * C + h * hs, k = q + C, v = q + 2 * C
        let dq = dqkv + b * T * 3 * C + h * hs, dk = dq + C, dv = dq + 2 * C
        let a = att + bh * T * T
        let ds = FloatPtr.allocate(capacity: attentionRowBlock * T)
        // Vᵀ and K are read, a prefix at a time, by every block: packed once.
        let vT = PackedB(K: hs, N: T), ks = PackedB(K: T, N: hs)
        defer { ds.deallocate(); vT.deallocate(); ks.deallocate() }
        vT.pack(v, ldb: 3 * C, transB: true)
        ks.pack(k, ldb: 3 * C, transB: false)
        var r0 = 0
        while r0 < T {
            let rows = min(attentionRowBlock, T - r0), end = r0 + rows
            let ar = a + r0 * T, dy = dout + (b * T + r0) * C + h * hs
            // ds = datt = dout · Vᵀ  over keys 0..<end;  dV[0..<end] += attᵀ · dout
            gemm(M: rows, N: end, K: hs, A: dy, lda: C, transA: false, packed: vT,
                 C: ds, ldc: T, accumulate: false)
            gemm(M: end, N: hs, K: rows, A: ar, lda: T, transA: true, B: dy, ldb: C, transB: false,
                 C: dv, ldc: 3 * C, accumulate: true, threads: 1)
            for i in 0..<rows {
                let t = r0 + i
                softmax_backward_row(ds + i * T, ar + i * T, t + 1, scale)
                if end > t + 1 { (ds + i * T + t + 1).update(repeating: 0, count: end - t - 1) }
            }
            gemm(M: rows, N: hs, K: end, A: ds, lda: T, transA: false, packed: ks,
                 C: dq + r0 * 3 * C, ldc: 3 * C, accumulate: true)
            gemm(M: end, N: hs, K: rows, A: ds, lda: T, transA: true, B: q + r0 * 3 * C, ldb: 3 * C, transB: false,
                 C: dk, ldc: 3 * C, accumulate: true, threads: 1)
            r0 = end
        }
    }
}
