import Foundation
import Testing
import TestSupport
import Kernels

@Suite("Layer kernels")
struct LayerTests {
    @Test("layernorm_backward: dinp, dweight, dbias match finite differences")
    func layernorm() {
        let N = 5, C = 16
        var x = randomArray(N * C, seed: 1, scale: 2)
        var w = randomArray(C, seed: 2).map { 1 + 0.3 * $0 }
        var b = randomArray(C, seed: 3, scale: 0.3)
        let r = randomArray(N * C, seed: 4)
        func loss(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var out = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
            layernorm_forward(&out, &mean, &rstd, x, w, b, N: N, C: C)
            return project(out, r)
        }
        var out = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
        layernorm_forward(&out, &mean, &rstd, x, w, b, N: N, C: C)
        // Each row is normalised: mean 0, variance 1 before weight and bias.
        for i in 0..<N {
            let row = (0..<C).map { Double((out[i * C + $0] - b[$0]) / w[$0]) }
            #expect(abs(row.reduce(0, +) / Double(C)) < 1e-4)
            #expect(abs(row.map { $0 * $0 }.reduce(0, +) / Double(C) - 1) < 1e-3)
        }
        var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C), db = dw
        layernorm_backward(&dx, &dw, &db, r, x, w, mean, rstd, N: N, C: C)
        let (x0, w0, b0) = (x, w, b)
        #expect(GradCheck.check(&x, analytic: dx, h: 1e-2) { loss($0, w0, b0) } < GradCheck.tolerance)
        #expect(GradCheck.check(&w, analytic: dw) { loss(x0, $0, b0) } < GradCheck.tolerance)
        #expect(GradCheck.check(&b, analytic: db) { loss(x0, w0, $0) } < GradCheck.tolerance)
    }

    @Test("gelu matches the tanh formula, and gelu_backward matches finite differences")
    func gelu() {
        let N = 37  // not a multiple of 8: the ragged tail takes the same path
        var x = randomArray(N, seed: 5, scale: 3)
        var out = [Float](repeating: 0, count: N)
        gelu_forward(&out, x, N: N)
        for i in 0..<N {
            let v = Double(x[i])
            let exact = 0.5 * v * (1 + tanh(0.7978845608 * (v + 0.044715 * v * v * v)))
            #expect(abs(Double(out[i]) - exact) < 1e-5)
        }
        let r = randomArray(N, seed: 6)
        var dx = [Float](repeating: 0, count: N)
        gelu_backward(&dx, x, r, N: N)
        func loss(_ x: [Float]) -> Double {
            var o = [Float](repeating: 0, count: N)
            gelu_forward(&o, x, N: N)
            return project(o, r)
        }
        #expect(GradCheck.check(&x, analytic: dx, h: 1e-2, loss: loss) < GradCheck.tolerance)
        // A classic mistake: using only ½(1 + tanh u), forgetting the x·sech²(u)·u' term.
        let wrong = (0..<N).map { i -> Float in
            let v = x[i], u = 0.7978845608 * (v + 0.044715 * v * v * v)
            return r[i] * 0.5 * (1 + Float(tanh(Double(u))))
        }
        #expect(GradCheck.check(&x, analytic: wrong, h: 1e-2, loss: loss) > GradCheck.tolerance)
    }

    @Test("exp8 agrees with Foundation's exp to 2e-7 relative over the range softmax uses")
    func fastExp() {
        var worst = 0.0
        var x: Float = -80
        while x < 80 {
            let v = exp8(SIMD8<Float>(repeating: x))[3]
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(v) - exact) / exact)
            x += 0.0137
        }
        #expect(worst < 2e-7)
        #expect(exp8(SIMD8<Float>(repeating: -1000))[0] >= 0)
        #expect(exp8(SIMD8<Float>(repeating: -1000))[0] < 1e-37)
    }

    @Test("embedding forward adds token and position rows; backward matches finite differences")
    func embedding() {
        let B = 2, T = 3, C = 8, V = 5
        let tokens: [Int32] = [1, 4, 1, 0, 2, 4]
        var wte = randomArray(V * C, seed: 7), wpe = randomArray(T * C, seed: 8)
        var out = [Float](repeating: 0, count: B * T * C)
        embedding_forward(&out, tokens, wte, wpe, B: B, T: T, C: C)
        #expect(out[(1 * T + 2) * C + 3] == wte[4 * C + 3] + wpe[2 * C + 3], "batch 1, position 2 holds token 4")
        let r = randomArray(B * T * C, seed: 9)
        var dwte = [Float](repeating: 0, count: V * C), dwpe = [Float](repeating: 0, count: T * C)
        embedding_backward(&dwte, &dwpe, r, tokens, B: B, T: T, C: C)
        let (wte0, wpe0) = (wte, wpe)
        func loss(_ e: [Float], _ p: [Float]) -> Double {
            var o = [Float](repeating: 0, count: B * T * C)
            embedding_forward(&o, tokens, e, p, B: B, T: T, C: C)
            return project(o, r)
        }
        #expect(GradCheck.check(&wte, analytic: dwte) { loss($0, wpe0) } < GradCheck.tolerance)
        #expect(GradCheck.check(&wpe, analytic: dwpe) { loss(wte0, $0) } < GradCheck.tolerance)
    }

    @Test("residual backward passes the gradient to both inputs")
    func residual() {
        let N = 10
        let a = randomArray(N, seed: 10), b = randomArray(N, seed: 11), d = randomArray(N, seed: 12)
        var out = [Float](repeating: 0, count: N)
        residual_forward(&out, a, b, N: N)
        #expect(out[3] == a[3] + b[3])
        var da = [Float](repeating: 1, count: N), db = [Float](repeating: 0, count: N)
        residual_backward(&da, &db, d, N: N)
        #expect(da[4] == 1 + d[4])
        #expect(db == d)
    }
}
