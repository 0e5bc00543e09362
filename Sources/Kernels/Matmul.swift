// Matrix multiplication: the kernel where nearly all of a training step's time goes.
//
// A linear layer follows PyTorch's convention: the weight is stored [N, K]
// (out features x in features) and
//
//     out[M,N] = inp[M,K] · weight[N,K]ᵀ + bias[N]
//
// where M = B*T rows (every token of the batch), K = input channels, N = output channels.
// Its backward needs two more products with the operands transposed:
//
//     dinp[M,K]    += dout[M,N]  · weight[N,K]
//     dweight[N,K] += dout[M,N]ᵀ · inp[M,K]
//     dbias[N]     += Σ_m dout[m,:]
//
// All three go through one routine, `gemm`, that computes C (+)= op(A) · op(B).
// It is fast for the usual reasons (the same ones as BLIS / OpenBLAS):
//   1. packing: copy a block of A and a block of B into small contiguous panels,
//      so the inner loop reads memory in order, whatever the transposition;
//   2. register blocking: a 6x16 tile of C lives in 12 SIMD registers while the
//      inner loop streams through K, so each loaded number is used many times;
//   3. two cores: each thread owns its own rows of C, so no thread's sums depend
//      on another's and the result is the same for any thread count.
// On a CPU with AVX-512 the tile is 6x32 (KernelsAVX512): same sums in the same
// order, so the same bits, in half the instructions.

import KernelsAVX512

/// Rows of C computed together by the micro-kernel.
let MR = 6
/// Columns of C computed together by the portable tile (two SIMD8 registers).
let NR = 16
/// Columns of C computed together by the AVX-512 tile (two SIMD16 registers).
let NR512 = 32
/// Inner-dimension block: a packed B panel (KC x NR floats, 16 KB) stays in L1 cache.
let KC = 256
/// A panels packed together per group: MCP x MR x KC floats (96 KB) stay in L2 cache.
let MCP = 16

public typealias FloatPtr = UnsafeMutablePointer<Float>
public typealias ConstFloatPtr = UnsafePointer<Float>

/// out[M,N] = inp[M,K] · weight[N,K]ᵀ (+ bias[N]).
public func matmul_forward(_ out: FloatPtr, _ inp: ConstFloatPtr, _ weight: ConstFloatPtr, _ bias: ConstFloatPtr?,
                           M: Int, K: Int, N: Int) {
    // B[k][n] = weight[n*K + k]: weight read transposed.
    gemm(M: M, N: N, K: K, A: inp, lda: K, transA: false, B: weight, ldb: K, transB: true,
         C: out, ldc: N, accumulate: false)
    if let bias { add_bias(out, bias, M: M, N: N) }
}

/// `matmul_forward` by a weight packed once (`PackedB.weight`): generation multiplies by the
/// same weights at every step, so it packs them once per call instead of once per step.
public func matmul_forward(_ out: FloatPtr, _ inp: ConstFloatPtr, _ weight: PackedB, _ bias: ConstFloatPtr?, M: Int) {
    let K = weight.K, N = weight.N
    gemm(M: M, N: N, K: K, A: inp, lda: K, transA: false, packed: weight, C: out, ldc: N, accumulate: false,
         threads: Parallel.threads)
    if let bias { add_bias(out, bias, M: M, N: N) }
}

/// out[m, :] += bias for every row m of out[M,N].
@inline(__always)
func add_bias(_ out: FloatPtr, _ bias: ConstFloatPtr, M: Int, N: Int) {
    for m in 0..<M {
        let row = out + m * N
        for n in 0..<N { row[n] += bias[n] }
    }
}

/// Accumulates the gradients of `matmul_forward`:
/// dinp[M,K] += dout · weight, dweight[N,K] += doutᵀ · inp, dbias[N] += column sums of dout.
/// Pass nil for a gradient you do not need (e.g. dinp of the first layer).
/// With `overwriteInput`, dinp is written instead of added to (saves zeroing it first).
public func matmul_backward(_ dinp: FloatPtr?, _ dweight: FloatPtr?, _ dbias: FloatPtr?,
                            _ dout: ConstFloatPtr, _ inp: ConstFloatPtr, _ weight: ConstFloatPtr,
                            M: Int, K: Int, N: Int, overwriteInput: Bool = false) {
    if let dinp = dinp {
        gemm(M: M, N: K, K: N, A: dout, lda: N, transA: false, B: weight, ldb: K, transB: false,
             C: dinp, ldc: K, accumulate: !overwriteInput)
    }
    if let dweight = dweight {
        // A[n][m] = dout[m*N + n]: dout read transposed.
        gemm(M: N, N: K, K: M, A: dout, lda: N, transA: true, B: inp, ldb: K, transB: false,
             C: dweight, ldc: K, accumulate: true)
    }
    if let dbias = dbias {
        // Column sums. Threads split the columns (8 at a time); each column adds its rows
        // in order, so the result does not depend on the thread count.
        let chunks = (N + 7) / 8
        let threads = min(Parallel.threads, chunks)
        Parallel.forEach(threads, work: M * N * 4) { part in
            for ch in Parallel.range(part, of: threads, n: chunks) {
                let n0 = ch * 8, n = min(8, N - n0)
                var acc = SIMD8<Float>()
                for m in 0..<M { acc += loadPartial(dout + m * N + n0, n) }
                storePartial(acc + loadPartial(dbias + n0, n), dbias + n0, n)
            }
        }
    }
}

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}
@inline(__always) func load8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}
@inline(__always) func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// C[M,N] (+)= op(A)[M,K] · op(B)[K,N], all row-major.
///
/// op(A)[m][k] is A[m*lda + k], or A[k*lda + m] when `transA`;
/// op(B)[k][n] is B[k*ldb + n], or B[n*ldb + k] when `transB`.
/// With `accumulate` false C is overwritten, otherwise added to.
/// `threads` caps the cores used (1 when the caller is already running in parallel).
public func gemm(M: Int, N: Int, K: Int,
                 A: ConstFloatPtr, lda: Int, transA: Bool,
                 B: ConstFloatPtr, ldb: Int, transB: Bool,
                 C: FloatPtr, ldc: Int, accumulate: Bool, threads maxThreads: Int = Int.max) {
    if M == 0 || N == 0 { return }
    let threads = min(Parallel.threads, (M + MR - 1) / MR, maxThreads)
    // Phase 1: pack all of op(B). Phase 2: multiply.
    let packed = PackedB(K: K, N: N)
    defer { packed.deallocate() }
    packed.pack(B, ldb: ldb, transB: transB, threads: threads, work: M * N * K)
    gemm(M: M, N: N, K: K, A: A, lda: lda, transA: transA, packed: packed, C: C, ldc: ldc, accumulate: accumulate,
         threads: threads)
}

/// op(B)[K,N] packed the way `gemm` reads it: block by block of KC rows, each block
/// [panels][kc][W], block b starting at b*KC*panels*W. Packing once and multiplying many
/// times pays when several products share a B: attention's blocks of query rows all read
/// (a prefix of) the same head's keys and values.
public struct PackedB {
    /// The width of a B panel: the micro-kernel's number of columns.
    let W: Int
    let K: Int, N: Int, panels: Int
    let ptr: FloatPtr

    public init(K: Int, N: Int) {
        W = CPU.useAVX512 && CPU.hasAVX512 ? NR512 : NR
        self.K = K; self.N = N
        panels = (N + W - 1) / W
        ptr = FloatPtr.allocate(capacity: max(1, K * panels * W))
    }

    public func deallocate() { ptr.deallocate() }

    /// A linear layer's weight [N,K] packed as `matmul_forward` reads it (transposed).
    public static func weight(_ w: ConstFloatPtr, N: Int, K: Int) -> PackedB {
        let packed = PackedB(K: K, N: N)
        packed.pack(w, ldb: K, transB: true, threads: Parallel.threads, work: N * K * 16)
        return packed
    }

    /// Packs op(B) (B[k*ldb + n], or B[n*ldb + k] when `transB`), the threads sharing the panels.
    public func pack(_ B: ConstFloatPtr, ldb: Int, transB: Bool, threads: Int = 1, work: Int = 0) {
        let kBlocks = (K + KC - 1) / KC
        let jobs = kBlocks * panels
        Parallel.forEach(threads, work: work) { t in
            for job in Parallel.range(t, of: threads, n: jobs) {
                let kb = job / panels, jp = job % panels
                let pc = kb * KC, kc = min(KC, K - pc)
                packBPanel(ptr + pc * panels * W + jp * W * kc, B, ldb: ldb, transB: transB,
                           k0: pc, kc: kc, n0: jp * W, N: N, width: W)
            }
        }
    }
}

/// C[M,N] (+)= op(A)[M,K] · B[K,N] with B already packed. `packed` may be larger than the
/// product: its first K rows and N columns are used (a causal block of queries needs only the
/// keys up to its last one). Same sums in the same order as packing for this product alone.
public func gemm(M: Int, N: Int, K: Int, A: ConstFloatPtr, lda: Int, transA: Bool, packed: PackedB,
                 C: FloatPtr, ldc: Int, accumulate: Bool, threads: Int = 1) {
    precondition(N <= packed.N && K <= packed.K, "gemm: the packed B is smaller than the product")
    if M == 0 || N == 0 { return }
    if K == 0 {
        if !accumulate { for m in 0..<M { (C + m * ldc).update(repeating: 0, count: N) } }
        return
    }
    let W = packed.W
    let nPanels = (N + W - 1) / W
    let mPanels = (M + MR - 1) / MR
    let kBlocks = (K + KC - 1) / KC
    let threads = min(threads, mPanels)
    let bPacked = packed.ptr
    // Phase 2: each thread owns a contiguous range of 6-row panels of C and walks
    // the K blocks in order, so every C element sums its products in the same order
    // whatever the thread count. Within a K block, a group of up to MCP A panels is
    // packed (it stays in L2), then each W-column B panel is swept across the whole
    // group while it sits in L1: B is the bigger stream per step, so it is the one kept close.
    Parallel.forEach(threads, work: M * N * K) { t in
        let panels = Parallel.range(t, of: threads, n: mPanels)
        if panels.isEmpty { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: MCP * MR * KC + MR * NR512) { scratch in
            let aBlock = scratch.baseAddress!, tmp = aBlock + MCP * MR * KC
            for kb in 0..<kBlocks {
                let pc = kb * KC, kc = min(KC, K - pc)
                // A panel of the packed block holds its block's rows: all of them, kcPacked.
                let kcPacked = min(KC, packed.K - pc)
                let first = (pc == 0) && !accumulate
                let bBlock = bPacked + pc * packed.panels * W
                var g0 = panels.lowerBound
                while g0 < panels.upperBound {
                    let g1 = min(g0 + MCP, panels.upperBound)
                    for ip in g0..<g1 {
                        let m0 = ip * MR
                        packA(aBlock + (ip - g0) * MR * kc, A, lda: lda, transA: transA, m0: m0, mr: min(MR, M - m0), k0: pc, kc: kc)
                    }
                    for jp in 0..<nPanels {
                        let n0 = jp * W
                        let nr = min(W, N - n0)
                        let b = bBlock + jp * W * kcPacked
                        for ip in g0..<g1 {
                            let m0 = ip * MR
                            let mr = min(MR, M - m0)
                            let a = aBlock + (ip - g0) * MR * kc
                            if mr == MR && nr == W {
                                tile(kc: kc, a: a, b: b, c: C + m0 * ldc + n0, ldc: ldc, overwrite: first, width: W)
                            } else {
                                // Edge tile: compute a full tile into scratch, copy the valid part.
                                tile(kc: kc, a: a, b: b, c: tmp, ldc: W, overwrite: true, width: W)
                                for i in 0..<mr {
                                    let crow = C + (m0 + i) * ldc + n0
                                    for j in 0..<nr {
                                        crow[j] = first ? tmp[i * W + j] : crow[j] + tmp[i * W + j]
                                    }
                                }
                            }
                        }
                    }
                    g0 = g1
                }
            }
        }
    }
}

/// The register tile for a panel of `width` columns: 6x32 with AVX-512, else 6x16.
@inline(__always)
func tile(kc: Int, a: ConstFloatPtr, b: ConstFloatPtr, c: FloatPtr, ldc: Int, overwrite: Bool, width: Int) {
    if width == NR512 {
        microkernel_6x32(kc: kc, a: a, b: b, c: c, ldc: ldc, overwrite: overwrite)
    } else {
        microkernel(kc: kc, a: a, b: b, c: c, ldc: ldc, overwrite: overwrite)
    }
}

/// Packs rows k0..<k0+kc, columns n0..<n0+width of op(B) as [kc][width] contiguous floats,
/// zero-padded past column N. `width` is a multiple of 8 (16 or 32).
@inline(__always)
func packBPanel(_ panel: FloatPtr, _ B: ConstFloatPtr, ldb: Int, transB: Bool, k0: Int, kc: Int, n0: Int, N: Int,
                width NR: Int) {
    let nr = min(NR, N - n0)
    if !transB {
        for p in 0..<kc {
            let src = B + (k0 + p) * ldb + n0
            let row = panel + p * NR
            if nr == NR {
                var j = 0
                while j < NR { store8(load8(src + j), row + j); j += 8 }
            } else {
                for j in 0..<nr { row[j] = src[j] }
                for j in nr..<NR { row[j] = 0 }
            }
        }
    } else {
        for j in 0..<NR {
            if j < nr {
                let src = B + (n0 + j) * ldb + k0
                for p in 0..<kc { panel[p * NR + j] = src[p] }
            } else {
                for p in 0..<kc { panel[p * NR + j] = 0 }
            }
        }
    }
}

/// Packs rows m0..<m0+mr, columns k0..<k0+kc of op(A) as [kc][MR], zero-padded past row mr.
@inline(__always)
func packA(_ dst: FloatPtr, _ A: ConstFloatPtr, lda: Int, transA: Bool, m0: Int, mr: Int, k0: Int, kc: Int) {
    if !transA {
        if mr == MR {
            // Six row streams in, one sequential stream out.
            let r0 = A + m0 * lda + k0, r1 = r0 + lda, r2 = r1 + lda, r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda
            var d = dst
            for p in 0..<kc {
                d[0] = r0[p]; d[1] = r1[p]; d[2] = r2[p]; d[3] = r3[p]; d[4] = r4[p]; d[5] = r5[p]
                d += MR
            }
            return
        }
        for i in 0..<MR {
            if i < mr {
                let src = A + (m0 + i) * lda + k0
                for p in 0..<kc { dst[p * MR + i] = src[p] }
            } else {
                for p in 0..<kc { dst[p * MR + i] = 0 }
            }
        }
    } else {
        for p in 0..<kc {
            let src = A + (k0 + p) * lda + m0
            let row = dst + p * MR
            for i in 0..<mr { row[i] = src[i] }
            for i in mr..<MR { row[i] = 0 }
        }
    }
}

/// The 6x16 register tile: C[0..<6, 0..<16] (+)= a[kc][6] · b[kc][16] (both packed panels).
/// Twelve SIMD8 accumulators stay in registers for the whole K loop; each step
/// broadcasts 6 numbers of A and loads 16 of B, then does 12 fused multiply-adds.
@inline(__always)
func microkernel(kc: Int, a: ConstFloatPtr, b: ConstFloatPtr, c: FloatPtr, ldc: Int, overwrite: Bool) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    var ap = a, bp = b
    for _ in 0..<kc {
        let b0 = load8(bp), b1 = load8(bp + 8)
        var s = SIMD8<Float>(repeating: ap[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = SIMD8<Float>(repeating: ap[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        s = SIMD8<Float>(repeating: ap[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
        s = SIMD8<Float>(repeating: ap[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
        s = SIMD8<Float>(repeating: ap[4]); c40.addProduct(s, b0); c41.addProduct(s, b1)
        s = SIMD8<Float>(repeating: ap[5]); c50.addProduct(s, b0); c51.addProduct(s, b1)
        ap += MR
        bp += NR
    }
    @inline(__always) func put(_ row: Int, _ v0: SIMD8<Float>, _ v1: SIMD8<Float>) {
        let p = c + row * ldc
        if overwrite {
            store8(v0, p); store8(v1, p + 8)
        } else {
            store8(load8(p) + v0, p); store8(load8(p + 8) + v1, p + 8)
        }
    }
    put(0, c00, c01); put(1, c10, c11); put(2, c20, c21)
    put(3, c30, c31); put(4, c40, c41); put(5, c50, c51)
}
