// GELU, the MLP's non-linearity, in GPT-2's tanh form:
//
//     gelu(x) = ½·x·(1 + tanh(u)),   u = √(2/π)·(x + 0.044715·x³)
//
// A smooth ReLU: it lets small negative values through a little, which keeps
// gradients alive. tanh(u) is computed as 1 - 2/(e^{2u} + 1) with the vector exp.

let geluScale: Float = 0.797_884_56  // √(2/π)

@inline(__always)
func tanh8(_ u: SIMD8<Float>) -> SIMD8<Float> {
    1 - 2 / (exp8(2 * u) + 1)
}

/// Loads count < 8 floats into a vector (the rest 0) through memory, so the
/// compiler keeps the arithmetic around it in SIMD registers.
@inline(__always)
func loadPartial(_ p: ConstFloatPtr, _ count: Int) -> SIMD8<Float> {
    if count == 8 { return load8(p) }
    var v = SIMD8<Float>()
    withUnsafeMutableBytes(of: &v) { $0.baseAddress!.assumingMemoryBound(to: Float.self).update(from: p, count: count) }
    return v
}

@inline(__always)
func storePartial(_ v: SIMD8<Float>, _ p: FloatPtr, _ count: Int) {
    if count == 8 { store8(v, p); return }
    withUnsafeBytes(of: v) { p.update(from: $0.baseAddress!.assumingMemoryBound(to: Float.self), count: count) }
}

@inline(__always)
func gelu8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let u = geluScale * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1 + tanh8(u))
}

@inline(__always)
func geluGrad8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let x2 = x * x
    let t = tanh8(geluScale * (x + 0.044715 * x2 * x))
    let dudx = geluScale * (1 + 3 * 0.044715 * x2)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dudx
}

/// out[N] = gelu(inp[N]), elementwise.
public func gelu_forward(_ out: FloatPtr, _ inp: ConstFloatPtr, N: Int) {
    let threads = Parallel.threads
    let chunks = N / 8
    Parallel.forEach(threads, work: N * 20) { part in
        for ch in Parallel.range(part, of: threads, n: chunks) {
            store8(gelu8(load8(inp + ch * 8)), out + ch * 8)
        }
    }
    let tail = N - chunks * 8
    if tail > 0 { storePartial(gelu8(loadPartial(inp + chunks * 8, tail)), out + chunks * 8, tail) }
}

/// dinp[N] = gelu'(inp) · dout (written, not added: in the model it is dinp's only source).
public func gelu_backward(_ dinp: FloatPtr, _ inp: ConstFloatPtr, _ dout: ConstFloatPtr, N: Int) {
    let threads = Parallel.threads
    let chunks = N / 8
    Parallel.forEach(threads, work: N * 20) { part in
        for ch in Parallel.range(part, of: threads, n: chunks) {
            let i = ch * 8
            store8(geluGrad8(load8(inp + i)) * load8(dout + i), dinp + i)
        }
    }
    let i = chunks * 8, tail = N - i
    if tail > 0 {
        let d = geluGrad8(loadPartial(inp + i, tail)) * loadPartial(dout + i, tail)
        storePartial(d, dinp + i, tail)
    }
}
