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
public func layernorm_forward(_ out: FloatPtr, _ mean: FloatPtr, _ rstd: FloatPtr,
                              _ inp: ConstFloatPtr, _ weight: ConstFloatPtr, _ bias: ConstFloatPtr,
                              N: Int, C: Int) {
    let threads = Parallel.threads
    Parallel.forEach(threads, work: N * C * 8) { part in
        for i in Parallel.range(part, of: threads, n: N) {
            let x = inp + i * C
            var m: Float = 0
            for c in 0..<C { m += x[c] }
            m /= Float(C)
            var v: Float = 0
            for c in 0..<C { let d = x[c] - m; v += d * d }
            v /= Float(C)
            let s = 1 / (v + layerNormEps).squareRoot()
            let o = out + i * C
            for c in 0..<C { o[c] = (x[c] - m) * s * weight[c] + bias[c] }
            mean[i] = m
            rstd[i] = s
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
    // dinp rows are independent: split them across threads.
    let threads = Parallel.threads
    Parallel.forEach(threads, work: N * C * 8) { part in
        for i in Parallel.range(part, of: threads, n: N) {
            let x = inp + i * C, dy = dout + i * C, dx = dinp + i * C
            let m = mean[i], s = rstd[i]
            var gMean: Float = 0, gxMean: Float = 0
            for c in 0..<C {
                let xhat = (x[c] - m) * s
                let g = dy[c] * weight[c]
                gMean += g
                gxMean += g * xhat
            }
            gMean /= Float(C)
            gxMean /= Float(C)
            for c in 0..<C {
                let xhat = (x[c] - m) * s
                let g = dy[c] * weight[c]
                dx[c] += s * (g - gMean - xhat * gxMean)
            }
        }
    }
    // Parameter gradients sum over rows: one thread, fixed order.
    for i in 0..<N {
        let x = inp + i * C, dy = dout + i * C
        let m = mean[i], s = rstd[i]
        for c in 0..<C {
            dbias[c] += dy[c]
            dweight[c] += dy[c] * (x[c] - m) * s
        }
    }
}
