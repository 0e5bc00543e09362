import Foundation
import Testing
import TestSupport
import Kernels

/// Causal attention written out directly, in Double: the definition.
func naiveAttention(_ qkv: [Float], B: Int, T: Int, C: Int, H: Int) -> [Double] {
    let hs = C / H
    var out = [Double](repeating: 0, count: B * T * C)
    for b in 0..<B {
        for h in 0..<H {
            for t in 0..<T {
                var scores = [Double](repeating: 0, count: t + 1)
                for t2 in 0...t {
                    var s = 0.0
                    for i in 0..<hs {
                        s += Double(qkv[(b * T + t) * 3 * C + h * hs + i]) * Double(qkv[(b * T + t2) * 3 * C + C + h * hs + i])
                    }
                    scores[t2] = s / Double(hs).squareRoot()
                }
                let m = scores.max()!
                let e = scores.map { exp($0 - m) }
                let z = e.reduce(0, +)
                for t2 in 0...t {
                    for i in 0..<hs {
                        out[(b * T + t) * C + h * hs + i] += e[t2] / z * Double(qkv[(b * T + t2) * 3 * C + 2 * C + h * hs + i])
                    }
                }
            }
        }
    }
    return out
}

@Suite("Attention")
struct AttentionTests {
    @Test("attention_forward matches the direct definition (T longer than one row block)",
          arguments: [(2, 5, 16, 2), (1, 37, 16, 2), (2, 64, 32, 4)])
    func forwardMatches(shape: (Int, Int, Int, Int)) {
        let (B, T, C, H) = shape
        let qkv = randomArray(B * T * 3 * C, seed: 1)
        var out = [Float](repeating: 0, count: B * T * C), att = [Float](repeating: 0, count: B * H * T * T)
        attention_forward(&out, &att, qkv, B: B, T: T, C: C, H: H)
        let expected = naiveAttention(qkv, B: B, T: T, C: C, H: H)
        var worst = 0.0
        for i in 0..<out.count { worst = max(worst, abs(Double(out[i]) - expected[i])) }
        #expect(worst < 1e-4)
        // Each row of weights sums to 1 and is zero in the future.
        for row in 0..<(B * H * T) {
            let t = row % T
            let r = att[(row * T)..<(row * T + T)]
            #expect(abs(r.reduce(0, +) - 1) < 1e-5)
            #expect(r.dropFirst(t + 1).allSatisfy { $0 == 0 })
        }
    }

    @Test("attention_backward matches finite differences for q, k and v (one row block, and several)",
          arguments: [7, 67])
    func backwardGradients(T: Int) {
        let B = 2, C = 16, H = 2
        var qkv = randomArray(B * T * 3 * C, seed: 2)
        let r = randomArray(B * T * C, seed: 3)
        var out = [Float](repeating: 0, count: B * T * C), att = [Float](repeating: 0, count: B * H * T * T)
        attention_forward(&out, &att, qkv, B: B, T: T, C: C, H: H)
        var dqkv = [Float](repeating: 0, count: qkv.count)
        attention_backward(&dqkv, r, qkv, att, B: B, T: T, C: C, H: H)
        let err = GradCheck.check(&qkv, analytic: dqkv, h: 1e-2) { x in
            var o = [Float](repeating: 0, count: B * T * C), a = [Float](repeating: 0, count: B * H * T * T)
            attention_forward(&o, &a, x, B: B, T: T, C: C, H: H)
            return project(o, r)
        }
        #expect(err < GradCheck.tolerance)
    }

    @Test("a query never sees the future: changing token t+1's q, k, v leaves outputs 0...t bit-identical")
    func causal() {
        let B = 1, T = 40, C = 16, H = 2, t = 17
        var qkv = randomArray(B * T * 3 * C, seed: 4)
        var a = [Float](repeating: 0, count: B * T * C), att = [Float](repeating: 0, count: B * H * T * T)
        attention_forward(&a, &att, qkv, B: B, T: T, C: C, H: H)
        for i in 0..<(3 * C) { qkv[(t + 1) * 3 * C + i] += 5 }
        var b = [Float](repeating: 0, count: B * T * C)
        attention_forward(&b, &att, qkv, B: B, T: T, C: C, H: H)
        #expect(Array(a[0..<((t + 1) * C)]) == Array(b[0..<((t + 1) * C)]))
        #expect(a[(t + 1) * C] != b[(t + 1) * C])
    }
}
