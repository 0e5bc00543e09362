import Testing
import TestSupport
import Kernels

/// The plain triple loop, in Double: the definition gemm must agree with.
func naiveGemm(M: Int, N: Int, K: Int, A: [Float], lda: Int, transA: Bool, B: [Float], ldb: Int, transB: Bool) -> [Double] {
    var c = [Double](repeating: 0, count: M * N)
    for m in 0..<M {
        for n in 0..<N {
            var s = 0.0
            for k in 0..<K {
                let a = transA ? A[k * lda + m] : A[m * lda + k]
                let b = transB ? B[n * ldb + k] : B[k * ldb + n]
                s += Double(a) * Double(b)
            }
            c[m * N + n] = s
        }
    }
    return c
}

@Suite("Matmul")
struct MatmulTests {
    @Test("gemm matches the naive triple loop at odd sizes, every transposition, 1 and 2 threads",
          arguments: [(1, 1, 1), (7, 5, 3), (33, 17, 9), (130, 33, 257), (6, 16, 300), (13, 130, 7)])
    func gemmMatchesNaive(size: (Int, Int, Int)) {
        let (M, N, K) = size
        for transA in [false, true] {
            for transB in [false, true] {
                let A = randomArray(M * K, seed: 1)
                let B = randomArray(K * N, seed: 2)
                let lda = transA ? M : K, ldb = transB ? K : N
                let expected = naiveGemm(M: M, N: N, K: K, A: A, lda: lda, transA: transA, B: B, ldb: ldb, transB: transB)
                var results: [[Float]] = []
                for threads in [1, 2] {
                    var C = [Float](repeating: 0, count: M * N)
                    gemm(M: M, N: N, K: K, A: A, lda: lda, transA: transA, B: B, ldb: ldb, transB: transB,
                         C: &C, ldc: N, accumulate: false, threads: threads)
                    var worst = 0.0
                    for i in 0..<(M * N) { worst = max(worst, abs(Double(C[i]) - expected[i])) }
                    #expect(worst < 1e-3 * Double(K).squareRoot(),
                            "gemm \(M)x\(N)x\(K) transA=\(transA) transB=\(transB) threads=\(threads): max error \(worst)")
                    results.append(C)
                }
                #expect(results[0] == results[1], "1 and 2 threads must give bit-identical results")
            }
        }
    }

    @Test("the AVX-512 tile gives the same bits as the portable tile (same sums in the same order)",
          .enabled(if: CPU.hasAVX512, "this CPU has no AVX-512: only the portable tile runs here"),
          arguments: [(1, 1, 1), (7, 5, 3), (33, 17, 9), (130, 33, 257), (6, 32, 300), (61, 96, 600), (128, 100, 32)])
    func avx512MatchesPortable(size: (Int, Int, Int)) {
        let (M, N, K) = size
        defer { CPU.useAVX512 = CPU.hasAVX512 }
        for transA in [false, true] {
            for transB in [false, true] {
                for accumulate in [false, true] {
                    let A = randomArray(M * K, seed: 21), B = randomArray(K * N, seed: 22)
                    let lda = transA ? M : K, ldb = transB ? K : N
                    var results: [[Float]] = []
                    for wide in [true, false] {
                        CPU.useAVX512 = wide
                        var C = randomArray(M * N, seed: 23)
                        gemm(M: M, N: N, K: K, A: A, lda: lda, transA: transA, B: B, ldb: ldb, transB: transB,
                             C: &C, ldc: N, accumulate: accumulate)
                        results.append(C)
                    }
                    #expect(results[0] == results[1],
                            "gemm \(M)x\(N)x\(K) transA=\(transA) transB=\(transB) accumulate=\(accumulate)")
                }
            }
        }
    }

    @Test("a B packed once and read in part gives the bits of packing each product alone (attention's prefixes)",
          arguments: [false, true])
    func packedPrefixMatchesGemm(transB: Bool) {
        // A larger K than one block (KC = 256) and an N that is not a whole number of panels.
        let K = 300, N = 70, M = 9
        let B = randomArray(K * N, seed: 3), A = randomArray(M * K, seed: 4)
        let ldb = transB ? K : N
        let packed = PackedB(K: K, N: N)
        defer { packed.deallocate() }
        B.withUnsafeBufferPointer { packed.pack($0.baseAddress!, ldb: ldb, transB: transB) }
        for (n, k) in [(70, 300), (33, 300), (70, 257), (5, 40), (64, 256)] {
            var alone = [Float](repeating: 0, count: M * n), fromPacked = alone
            gemm(M: M, N: n, K: k, A: A, lda: K, transA: false, B: B, ldb: ldb, transB: transB,
                 C: &alone, ldc: n, accumulate: false, threads: 1)
            A.withUnsafeBufferPointer { a in
                gemm(M: M, N: n, K: k, A: a.baseAddress!, lda: K, transA: false, packed: packed,
                     C: &fromPacked, ldc: n, accumulate: false)
            }
            #expect(alone == fromPacked, "N \(n), K \(k) of a packing of \(N) x \(K)")
        }
    }

    @Test("gemm with accumulate adds to C instead of overwriting it")
    func accumulate() {
        let M = 9, N = 20, K = 11
        let A = randomArray(M * K, seed: 3), B = randomArray(K * N, seed: 4)
        var C = [Float](repeating: 1, count: M * N)
        gemm(M: M, N: N, K: K, A: A, lda: K, transA: false, B: B, ldb: N, transB: false, C: &C, ldc: N, accumulate: true)
        let expected = naiveGemm(M: M, N: N, K: K, A: A, lda: K, transA: false, B: B, ldb: N, transB: false)
        for i in 0..<(M * N) { #expect(abs(Double(C[i]) - (expected[i] + 1)) < 1e-3) }
    }

    @Test("matmul_forward is inp · weightᵀ + bias, for few rows (generation) and many (training)",
          arguments: [1, 3, 5, 16, 17, 40])
    func forwardWithBias(M: Int) {
        let K = 12, N = 7
        let inp = randomArray(M * K, seed: 5), w = randomArray(N * K, seed: 6), b = randomArray(N, seed: 7)
        var out = [Float](repeating: 0, count: M * N)
        matmul_forward(&out, inp, w, b, M: M, K: K, N: N)
        for m in 0..<M {
            for n in 0..<N {
                var s = Double(b[n])
                for k in 0..<K { s += Double(inp[m * K + k]) * Double(w[n * K + k]) }
                #expect(abs(Double(out[m * N + n]) - s) < 1e-4)
            }
        }
    }

    @Test("matmul_backward: dinp, dweight and dbias match finite differences")
    func backwardGradients() {
        let M = 7, K = 9, N = 18
        var inp = randomArray(M * K, seed: 8), w = randomArray(N * K, seed: 9), b = randomArray(N, seed: 10)
        let r = randomArray(M * N, seed: 11)
        func loss(_ inp: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var out = [Float](repeating: 0, count: M * N)
            matmul_forward(&out, inp, w, b, M: M, K: K, N: N)
            return project(out, r)
        }
        var dinp = [Float](repeating: 0, count: M * K), dw = [Float](repeating: 0, count: N * K)
        var db = [Float](repeating: 0, count: N)
        matmul_backward(&dinp, &dw, &db, r, inp, w, M: M, K: K, N: N)
        let (w0, b0, inp0) = (w, b, inp)
        #expect(GradCheck.check(&inp, analytic: dinp) { loss($0, w0, b0) } < GradCheck.tolerance)
        #expect(GradCheck.check(&w, analytic: dw) { loss(inp0, $0, b0) } < GradCheck.tolerance)
        #expect(GradCheck.check(&b, analytic: db) { loss(inp0, w0, $0) } < GradCheck.tolerance)
    }

    @Test("matmul_backward with overwriteInput writes dinp instead of adding to it")
    func overwriteInput() {
        let M = 13, K = 9, N = 20
        let inp = randomArray(M * K, seed: 16), w = randomArray(N * K, seed: 17), dout = randomArray(M * N, seed: 18)
        var fromZero = [Float](repeating: 0, count: M * K)
        matmul_backward(&fromZero, nil, nil, dout, inp, w, M: M, K: K, N: N)
        var garbage = [Float](repeating: 123, count: M * K)
        matmul_backward(&garbage, nil, nil, dout, inp, w, M: M, K: K, N: N, overwriteInput: true)
        #expect(garbage == fromZero)
    }

    @Test("the gradient checker catches a wrong gradient (dweight transposed, or 5% too large)")
    func checkerCatchesMistakes() {
        let M = 6, K = 6, N = 6
        let inp = randomArray(M * K, seed: 12), b = randomArray(N, seed: 13)
        var w = randomArray(N * K, seed: 14)
        let r = randomArray(M * N, seed: 15)
        var dw = [Float](repeating: 0, count: N * K)
        matmul_backward(nil, &dw, nil, r, inp, w, M: M, K: K, N: N)
        var transposed = dw
        for n in 0..<N { for k in 0..<K { transposed[n * K + k] = dw[k * K + n] } }
        let scaled = dw.map { $0 * 1.05 }
        func loss(_ w: [Float]) -> Double {
            var out = [Float](repeating: 0, count: M * N)
            matmul_forward(&out, inp, w, b, M: M, K: K, N: N)
            return project(out, r)
        }
        #expect(GradCheck.check(&w, analytic: dw, loss: loss) < GradCheck.tolerance)
        #expect(GradCheck.check(&w, analytic: transposed, loss: loss) > GradCheck.tolerance)
        #expect(GradCheck.check(&w, analytic: scaled, loss: loss) > GradCheck.tolerance)
    }
}
