// The matmul micro-kernel for CPUs with AVX-512 (16 floats per register).
//
// This module is compiled for the AVX-512 instruction set, so nothing in it may
// run on a CPU without one: Kernels calls it only after `CPU.hasAVX512` said yes.
// It holds a single function, the 6x32 register tile of Kernels/Matmul.swift's
// gemm, twice as wide as the portable 6x16 tile. Each C element still sums its
// products one fused multiply-add at a time, in k order, exactly like the portable
// tile, so the two give bit-identical results (a test checks it): a machine with
// AVX-512 trains the same model as one without, only faster.

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}
@inline(__always) func load16(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}
@inline(__always) func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// C[0..<6, 0..<32] (+)= a[kc][6] · b[kc][32], both packed panels.
/// Twelve 16-float accumulators stay in registers for the whole K loop; each step
/// broadcasts 6 numbers of A, loads 32 of B and does 12 fused multiply-adds.
public func microkernel_6x32(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             c: UnsafeMutablePointer<Float>, ldc: Int, overwrite: Bool) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
    var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
    var ap = a, bp = b
    for _ in 0..<kc {
        let b0 = load16(bp), b1 = load16(bp + 16)
        var s = SIMD16<Float>(repeating: ap[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = SIMD16<Float>(repeating: ap[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        s = SIMD16<Float>(repeating: ap[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
        s = SIMD16<Float>(repeating: ap[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
        s = SIMD16<Float>(repeating: ap[4]); c40.addProduct(s, b0); c41.addProduct(s, b1)
        s = SIMD16<Float>(repeating: ap[5]); c50.addProduct(s, b0); c51.addProduct(s, b1)
        ap += 6
        bp += 32
    }
    @inline(__always) func put(_ row: Int, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>) {
        let p = c + row * ldc
        if overwrite {
            store16(v0, p); store16(v1, p + 16)
        } else {
            store16(load16(p) + v0, p); store16(load16(p + 16) + v1, p + 16)
        }
    }
    put(0, c00, c01); put(1, c10, c11); put(2, c20, c21)
    put(3, c30, c31); put(4, c40, c41); put(5, c50, c51)
}
