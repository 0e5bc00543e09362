import Foundation

// LayerNorm over the channel dimension C, for each of the N = B*T rows:
//
//     mean = Σx/C,  rstd = 1/sqrt(Σ(x-mean)²/C + eps)
//     out  = (x - mean) · rstd · weight + bias
//
// Normalising each token's vector keeps activations at a steady scale as the
// residual stream grows through the layers; weight and bias let the model undo it.

public let layerNormEps: Float = 1e-5

/// out[N,C], mean[N], rstd[N] from inp[N,C]. mean and rstd are cached for the backward pass.
/// Rows are independent: threads split them. Eight channels at a time (C need not be a multiple of 8).
public func layernorm_forward(_ out: FloatPtr, _ mean: FloatPtr, _ rstd: FloatPtr,
                              _ inp: ConstFloatPtr, _ weight: ConstFloatPtr, _ bias: ConstFloatPtr,
                              N: Int, C: Int) {
    let threads = Parallel.threads
    let full = C / 8 * 8
    Parallel.forEach(threads, work: N * C * 8) { part in
        for i in Parallel.range(part, of: threads, n: N) {
            let x = inp + i * C
            var s8 = SIMD8<Float>()
            var c = 0
            while c < full { s8 += load8(x + c); c += 8 }
            var m = hsum(s8)
            for k in full..<C { m += x[k] }
            m /= Float(C)
            let m8 = SIMD8<Float>(repeating: m)
            var v8 = SIMD8<Float>()
            c = 0
            while c < full { let d = load8(x + c) - m8; v8 += d * d; c += 8 }
            var v = hsum(v8)
            for k in full..<C { let d = x[k] - m; v += d * d }
            v /= Float(C)
            let r = 1 / (v + layerNormEps).squareRoot()
            let r8 = SIMD8<Float>(repeating: r)
            let o = out + i * C
            c = 0
            while c < full { store8((load8(x + c) - m8) * r8 * load8(weight + c) + load8(bias + c), o + c); c += 8 }
            for k in full..<C { o[k] = (x[k] - m) * r * weight[k] + bias[k] }
            mean[i] = m
            rstd[i] = r
        }
    }
}

/// Accumulates dinp[N,C], dweight[C], dbias[C] from dout[N,C].
///
/// With xhat = (x-mean)·rstd and g = dout·weight:
///     dinp = rstd · (g - mean(g) - xhat · mean(g·xhat))
public func layernorm_backward(_ dinp: FloatPtr, _ dweight: FloatPtr, _ dbias: FloatPtr,
                               _ dout: ConstFloatPtr, _ inp: ConstFloatPtr, _ weight: ConstFloatPtr,
                               _ mean: ConstFloatPtr, _ rstd: ConstFloatPtr, N: Int, C: Int) {
    let threads = Parallel.threads
    let full = C / 8 * 8
    // dinp rows are independent: split them across threads.
    Parallel.forEach(threads, work: N * C * 8) { part in
        for i in Parallel.range(part, of: threads, n: N) {
            let x = inp + i * C, dy = dout + i * C, dx = dinp + i * C
            let m = mean[i], s = rstd[i]
            let m8 = SIMD8<Float>(repeating: m), s8 = SIMD8<Float>(repeating: s)
            var g8 = SIMD8<Float>(), gx8 = SIMD8<Float>()
            var c = 0
            while c < full {
                let g = load8(dy + c) * load8(weight + c)
                g8 += g
                gx8 += g * ((load8(x + c) - m8) * s8)
                c += 8
            }
            var gMean = hsum(g8), gxMean = hsum(gx8)
            for k in full..<C { let g = dy[k] * weight[k]; gMean += g; gxMean += g * (x[k] - m) * s }
            gMean /= Float(C)
            gxMean /= Float(C)
            let gm8 = SIMD8<Float>(repeating: gMean), gx = SIMD8<Float>(repeating: gxMean)
            c = 0
            while c < full {
                let g = load8(dy + c) * load8(weight + c)
                let xhat = (load8(x + c) - m8) * s8
                store8(load8(dx + c) + s8 * (g - gm8 - xhat * gx), dx + c)
                c += 8
            }
            for k in full..<C {
                let g = dy[k] * weight[k]
                dx[k] += s * (g - gMean - (x[k] - m) * s * gxMean)
            }
        }
    }
    // Parameter gradients sum over rows. Threads split the channels, and each channel
    // adds its rows in order 0..<N: the same sums whatever the thread count.
    let chunks = (C + 7) / 8
    Parallel.forEach(min(threads, chunks), work: N * C * 4) { part in
        for ch in Parallel.range(part, of: min(threads, chunks), n: chunks) {
            let c0 = ch * 8, n = min(8, C - c0)
            var db = SIMD8<Float>(), dw = SIMD8<Float>()
            for i in 0..<N {
                let dy = loadPartial(dout + i * C + c0, n)
                let xhat = (loadPartial(inp + i * C + c0, n) - mean[i]) * rstd[i]
                db += dy
                dw += dy * xhat
            }
            storePartial(loadPartial(dbias + c0, n) + db, dbias + c0, n)
            storePartial(loadPartial(dweight + c0, n) + dw, dweight + c0, n)
        }
    }
}
