import Foundation
import Testing
import TestSupport
import Kernels

@Suite("Rotary positions (RoPE)")
struct RopeTests {
    let B = 2, T = 9, C = 16, H = 2

    func rotated(_ qkv: [Float], _ tables: RopeTables) -> [Float] {
        var x = qkv
        rope_forward(&x, tables, B: B, T: T, C: C, H: H)
        return x
    }

    @Test("position 0 is not turned, v is never turned, and each pair keeps its length")
    func whatTurns() {
        let tables = RopeTables(T: T, headSize: C / H)
        let qkv = randomArray(B * T * 3 * C, seed: 1)
        let out = rotated(qkv, tables)
        let hs = C / H, half = hs / 2
        for b in 0..<B {
            let row0 = (b * T) * 3 * C
            #expect(Array(out[row0..<(row0 + 3 * C)]) == Array(qkv[row0..<(row0 + 3 * C)]), "position 0: angle 0")
            for t in 0..<T {
                let row = (b * T + t) * 3 * C
                #expect(Array(out[(row + 2 * C)..<(row + 3 * C)]) == Array(qkv[(row + 2 * C)..<(row + 3 * C)]), "v untouched")
                for head in 0..<(2 * H) {
                    for i in 0..<half {
                        let a = row + head * hs + i, c = a + half
                        let before = qkv[a] * qkv[a] + qkv[c] * qkv[c], after = out[a] * out[a] + out[c] * out[c]
                        #expect(abs(before - after) < 1e-4 * max(1, before))
                    }
                }
            }
        }
    }

    @Test("the score q·k depends only on the distance between the positions")
    func relative() {
        let hs = 16
        let tables = RopeTables(T: 64, headSize: hs)
        let row = randomArray(3 * hs, seed: 2)
        func score(_ t: Int, _ s: Int) -> Double {
            var q = row, k = row
            rope_forward_row(&q, tables, position: t, C: hs, H: 1)
            rope_forward_row(&k, tables, position: s, C: hs, H: 1)
            return (0..<hs).reduce(0.0) { $0 + Double(q[$1]) * Double(k[hs + $1]) }
        }
        for d in [0, 1, 5, 17] {
            let reference = score(d, 0)
            for s in [3, 20, 40] { #expect(abs(score(s + d, s) - reference) < 1e-4, "distance \(d) from \(s)") }
        }
        #expect(abs(score(5, 0) - score(0, 0)) > 1e-2, "different distances give different scores")
    }

    @Test("rope_forward_row turns a row exactly as rope_forward does at that position")
    func rowMatchesBatch() {
        let tables = RopeTables(T: T, headSize: C / H)
        let qkv = randomArray(B * T * 3 * C, seed: 3)
        let out = rotated(qkv, tables)
        for t in [0, 4, T - 1] {
            var row = Array(qkv[(T + t) * 3 * C..<(T + t + 1) * 3 * C])
            rope_forward_row(&row, tables, position: t, C: C, H: H)
            #expect(row == Array(out[(T + t) * 3 * C..<(T + t + 1) * 3 * C]))
        }
    }

    @Test("rope_backward matches finite differences; turning the wrong way fails the check")
    func backward() {
        let tables = RopeTables(T: T, headSize: C / H)
        var qkv = randomArray(B * T * 3 * C, seed: 4)
        let r = randomArray(B * T * 3 * C, seed: 5)
        var grad = r
        rope_backward(&grad, tables, B: B, T: T, C: C, H: H)
        let loss: ([Float]) -> Double = { project(self.rotated($0, tables), r) }
        #expect(GradCheck.check(&qkv, analytic: grad, loss: loss) < GradCheck.tolerance)
        // The forward rotation is not its own backward: a student who reuses it fails.
        var wrong = r
        rope_forward(&wrong, tables, B: B, T: T, C: C, H: H)
        #expect(GradCheck.check(&qkv, analytic: wrong, loss: loss) > GradCheck.tolerance)
    }
}
