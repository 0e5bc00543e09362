import Foundation
import Testing
import TestSupport
import Kernels

@Suite("Cross-entropy, optimizer, schedule, RNG")
struct LossAndOptimizerTests {
    @Test("cross-entropy is -log softmax(target); an untrained uniform guess costs ln V")
    func crossEntropyForward() {
        let N = 4, V = 11
        let logits = randomArray(N * V, seed: 1, scale: 3)
        let targets: [Int32] = [0, 10, 5, -1]
        var loss = [Float](repeating: 0, count: N), probs = [Float](repeating: 0, count: N * V)
        softmax_crossentropy_forward(&loss, &probs, logits, targets, N: N, V: V)
        for i in 0..<3 {
            let row = (0..<V).map { Double(logits[i * V + $0]) }
            let m = row.max()!
            let logZ = m + log(row.map { exp($0 - m) }.reduce(0, +))
            #expect(abs(Double(loss[i]) - (logZ - row[Int(targets[i])])) < 1e-5)
            #expect(abs(probs[(i * V)..<(i * V + V)].reduce(0, +) - 1) < 1e-5)
        }
        #expect(loss[3] == 0, "target -1 means no target: no loss")
        var flat = [Float](repeating: 0, count: V)
        var p = [Float](repeating: 0, count: V)
        softmax_crossentropy_forward(&flat, &p, [Float](repeating: 0.5, count: V), [3], N: 1, V: V)
        #expect(abs(Double(flat[0]) - log(Double(V))) < 1e-5)
    }

    @Test("crossentropy_backward with per-token weights matches finite differences of Σ w·loss")
    func crossEntropyBackward() {
        let N = 5, V = 9
        var logits = randomArray(N * V, seed: 2, scale: 2)
        let targets: [Int32] = [1, 8, -1, 0, 4]
        let weights: [Float] = [0.2, -0.5, 0.7, 0, 1.3]  // signed weights: what DPO and GRPO use
        func loss(_ x: [Float]) -> Double {
            var l = [Float](repeating: 0, count: N), p = [Float](repeating: 0, count: N * V)
            softmax_crossentropy_forward(&l, &p, x, targets, N: N, V: V)
            return (0..<N).reduce(0.0) { $0 + Double(weights[$1]) * Double(l[$1]) }
        }
        var l = [Float](repeating: 0, count: N), p = [Float](repeating: 0, count: N * V)
        softmax_crossentropy_forward(&l, &p, logits, targets, N: N, V: V)
        var d = [Float](repeating: 9, count: N * V)
        crossentropy_backward(&d, p, targets, weights, N: N, V: V)
        #expect(GradCheck.check(&logits, analytic: d, h: 1e-2, loss: loss) < GradCheck.tolerance)
        #expect(d[(2 * V)..<(3 * V)].allSatisfy { $0 == 0 }, "no target: no gradient")
    }

    @Test("AdamW's first step moves each weight by about lr against its gradient's sign, plus decay")
    func adamw() {
        var p: [Float] = [1, -2, 0.5], m: [Float] = [0, 0, 0], v: [Float] = [0, 0, 0]
        let g: [Float] = [0.3, -4, 0]
        let cfg = AdamWConfig(beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        adamw_update(&p, g, &m, &v, N: 3, lr: 0.01, step: 1, decay: 0.1, config: cfg)
        // Bias-corrected m/√v = sign(g) on step 1; decay subtracts lr·0.1·p.
        #expect(abs(p[0] - (1 - 0.01 - 0.01 * 0.1 * 1)) < 1e-6)
        #expect(abs(p[1] - (-2 + 0.01 - 0.01 * 0.1 * -2)) < 1e-6)
        #expect(abs(p[2] - (0.5 - 0.01 * 0.1 * 0.5)) < 1e-6)
        #expect(abs(m[1] - 0.1 * -4) < 1e-6 && abs(v[1] - 0.05 * 16) < 1e-5)
    }

    @Test("clipping scales the global norm down to the limit and reports the norm before")
    func clipping() {
        var g: [Float] = [3, 4, 0, 0, 0, 0, 0, 0, 12]  // norm 13
        let before = clip_grad_norm(&g, N: g.count, maxNorm: 1)
        #expect(abs(before - 13) < 1e-5)
        #expect(abs(global_norm(g, N: g.count) - 1) < 1e-4)
        var small: [Float] = [0.1, 0.2]
        clip_grad_norm(&small, N: 2, maxNorm: 1)
        #expect(small == [0.1, 0.2])
    }

    @Test("learning-rate schedule: linear warm-up to the peak, then decay to the floor")
    func schedule() {
        let s = LRSchedule(peak: 1e-3, warmup: 10, total: 110, minFraction: 0.1, decay: .cosine)
        #expect(abs(s.lr(0) - 1e-4) < 1e-9)
        #expect(abs(s.lr(9) - 1e-3) < 1e-9)
        #expect(abs(s.lr(60) - 5.5e-4) < 1e-7, "halfway through the cosine: midway between peak and floor")
        #expect(abs(s.lr(110) - 1e-4) < 1e-9)
        for step in 10..<110 { #expect(s.lr(step + 1) <= s.lr(step)) }
        let lin = LRSchedule(peak: 1, warmup: 0, total: 100, minFraction: 0, decay: .linear)
        #expect(abs(lin.lr(50) - 0.5) < 1e-6)
    }

    @Test("RNG: same seed same numbers; uniform, normal and categorical have the right statistics")
    func rng() {
        var a = RNG(seed: 42), b = RNG(seed: 42), c = RNG(seed: 43)
        let xa = (0..<5).map { _ in a.next() }
        #expect(xa == (0..<5).map { _ in b.next() })
        #expect(xa != (0..<5).map { _ in c.next() })
        var r = RNG(seed: 1)
        let n = 20_000
        let u = (0..<n).map { _ in r.uniform() }
        #expect(u.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(abs(u.reduce(0, +) / Float(n) - 0.5) < 0.01)
        let z = (0..<n).map { _ in Double(r.normal()) }
        let mean = z.reduce(0, +) / Double(n)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05)
        var counts = [0, 0, 0]
        for _ in 0..<n { counts[r.categorical([1, 0, 3])] += 1 }
        #expect(counts[1] == 0)
        #expect(abs(Double(counts[2]) / Double(n) - 0.75) < 0.02)
        for _ in 0..<1000 { let k = r.int(below: 7); #expect(k >= 0 && k < 7) }
        var deck = Array(0..<10)
        r.shuffle(&deck)
        #expect(deck.sorted() == Array(0..<10))
    }
}
