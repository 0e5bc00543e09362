// Rotary position embedding (RoPE): telling attention where each token is by turning
// its query and key.
//
// GPT-2 adds a learned vector per position to each token (wpe). RoPE instead rotates
// each head's query and key by an angle that grows with the position. A head's hs
// channels form hs/2 pairs (i, i + hs/2); at position t, pair i turns by t·θ_i with
// θ_i = 10000^(-2i/hs), so the first pairs turn fast and the last ones slowly:
//
//     q'[i]        = q[i]·cos(t·θ_i) - q[i + hs/2]·sin(t·θ_i)
//     q'[i + hs/2] = q[i]·sin(t·θ_i) + q[i + hs/2]·cos(t·θ_i)        (k the same way)
//
// Rotating both by their own positions makes the score q'_t · k'_s depend on the
// positions only through t - s. So a head that looks "three characters back" works
// the same at every position, instead of being learned again at each one: what
// copying a name or lining up the digits of a sum needs. Values are not rotated.
//
// The rotation happens in place, on the q and k thirds of each qkv row [B,T,3C],
// right after the qkv matmul; attention then reads (and caches) the turned vectors.
// Backward: a rotation's transpose is the rotation by minus the angle, so the
// gradient of the turned q and k is turned back.

import Foundation

/// cos(t·θ_i) and sin(t·θ_i) for every position t < T and pair i < hs/2, computed once
/// per model (in Double, then rounded) so every call uses the same numbers.
public struct RopeTables: Sendable {
    public let T: Int
    public let half: Int
    /// [T, hs/2]
    public let cos: [Float]
    /// [T, hs/2]
    public let sin: [Float]

    /// θ_i: the angle (radians) pair i turns by per position, base^(-2i/hs).
    public static func angleRate(pair i: Int, headSize hs: Int, base: Double = 10000) -> Double {
        Foundation.pow(base, -2 * Double(i) / Double(hs))
    }

    public init(T: Int, headSize hs: Int, base: Double = 10000) {
        self.T = T
        half = hs / 2
        var c = [Float](repeating: 0, count: T * half), s = c
        for t in 0..<T {
            for i in 0..<half {
                let angle = Double(t) * RopeTables.angleRate(pair: i, headSize: hs, base: base)
                c[t * half + i] = Float(Foundation.cos(angle))
                s[t * half + i] = Float(Foundation.sin(angle))
            }
        }
        cos = c
        sin = s
    }
}

/// Turns the q and k parts (the first 2C of each row) of `rows` consecutive qkv rows,
/// row r at position p0 + r, by +angle (`inverse` false) or -angle (`inverse` true).
@inline(__always)
func rope_rotate(_ x: FloatPtr, rows: Int, rowStride: Int, p0: Int, C: Int, H: Int, _ tables: RopeTables, inverse: Bool) {
    let hs = C / H, half = hs / 2
    precondition(p0 >= 0 && p0 + rows <= tables.T, "rope: positions \(p0)..<\(p0 + rows) outside the table (T=\(tables.T))")
    tables.cos.withUnsafeBufferPointer { cosp in
        tables.sin.withUnsafeBufferPointer { sinp in
            let sign: Float = inverse ? -1 : 1
            for r in 0..<rows {
                let cr = cosp.baseAddress! + (p0 + r) * half, sr = sinp.baseAddress! + (p0 + r) * half
                let row = x + r * rowStride
                for h in 0..<(2 * H) {  // H query heads, then H key heads
                    let a = row + h * hs, b = a + half
                    var i = 0
                    while i + 8 <= half {  // eight pairs at a time
                        let c = load8(cr + i), s = load8(sr + i) * sign
                        let x0 = load8(a + i), x1 = load8(b + i)
                        store8(x0 * c - x1 * s, a + i)
                        store8(x0 * s + x1 * c, b + i)
                        i += 8
                    }
                    while i < half {
                        let c = cr[i], s = sign * sr[i]
                        let x0 = a[i], x1 = b[i]
                        a[i] = x0 * c - x1 * s
                        b[i] = x0 * s + x1 * c
                        i += 1
                    }
                }
            }
        }
    }
}

/// Rotates q and k of qkv[B,T,3C] in place, position t = 0..<T in every sequence.
public func rope_forward(_ qkv: FloatPtr, _ tables: RopeTables, B: Int, T: Int, C: Int, H: Int) {
    for b in 0..<B {
        rope_rotate(qkv + b * T * 3 * C, rows: T, rowStride: 3 * C, p0: 0, C: C, H: H, tables, inverse: false)
    }
}

/// The backward of `rope_forward`, in place: dqkv's q and k parts are turned back
/// (the v part is untouched, as in the forward).
public func rope_backward(_ dqkv: FloatPtr, _ tables: RopeTables, B: Int, T: Int, C: Int, H: Int) {
    for b in 0..<B {
        rope_rotate(dqkv + b * T * 3 * C, rows: T, rowStride: 3 * C, p0: 0, C: C, H: H, tables, inverse: true)
    }
}

/// Rotates the q and k of one qkv row [3C] at `position`: generation with a KV cache
/// turns each new token's query and key once, then caches the turned key.
public func rope_forward_row(_ qkvRow: FloatPtr, _ tables: RopeTables, position: Int, C: Int, H: Int) {
    rope_rotate(qkvRow, rows: 1, rowStride: 3 * C, p0: position, C: C, H: H, tables, inverse: false)
}
