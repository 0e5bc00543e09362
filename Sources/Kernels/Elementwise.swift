// The small glue ops of a transformer: token + position embeddings and the residual add.

/// out[B,T,C] = wte[tokens[b,t]] + wpe[t].
/// The token embedding says what the token is; the position embedding says where it is.
/// With rotary positions there is no wpe (nil): positions enter in attention instead.
public func embedding_forward(_ out: FloatPtr, _ tokens: UnsafePointer<Int32>,
                              _ wte: ConstFloatPtr, _ wpe: ConstFloatPtr?, B: Int, T: Int, C: Int) {
    for b in 0..<B {
        for t in 0..<T {
            let o = out + (b * T + t) * C
            let e = wte + Int(tokens[b * T + t]) * C
            if let wpe {
                let p = wpe + t * C
                for c in 0..<C { o[c] = e[c] + p[c] }
            } else {
                o.update(from: e, count: C)
            }
        }
    }
}

/// dwte[tokens[b,t]] += dout[b,t]; dwpe[t] += dout[b,t] (when there is a wpe).
/// One thread, fixed order (deterministic scatter).
public func embedding_backward(_ dwte: FloatPtr, _ dwpe: FloatPtr?, _ dout: ConstFloatPtr,
                               _ tokens: UnsafePointer<Int32>, B: Int, T: Int, C: Int) {
    for b in 0..<B {
        for t in 0..<T {
            let d = dout + (b * T + t) * C
            let e = dwte + Int(tokens[b * T + t]) * C
            for c in 0..<C { e[c] += d[c] }
            if let dwpe {
                let p = dwpe + t * C
                for c in 0..<C { p[c] += d[c] }
            }
        }
    }
}

/// out[N] = a[N] + b[N]: the residual connection, which lets each block add to
/// the stream instead of replacing it (and lets gradients flow straight through).
public func residual_forward(_ out: FloatPtr, _ a: ConstFloatPtr, _ b: ConstFloatPtr, N: Int) {
    for i in 0..<N { out[i] = a[i] + b[i] }
}

/// da[N] += dout, db[N] += dout.
public func residual_backward(_ da: FloatPtr, _ db: FloatPtr, _ dout: ConstFloatPtr, N: Int) {
    for i in 0..<N {
        da[i] += dout[i]
        db[i] += dout[i]
    }
}
