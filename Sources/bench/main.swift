// bench: how fast is the engine on this machine?
//
//     swift run -c release bench --config classroom [--positions rotary|learned] [--json] [--steps N] [--threads N]
//                                [--batch B] [--seq T]
//
// Prints matmul GFLOP/s at the shapes one training step uses, training tokens/s
// with where one step's time goes (matmuls, attention, norms, elementwise, loss,
// optimizer, other), forward tokens/s (B x T tokens per step), batched KV-cache generation
// tokens/s (16 and 64 sequences), one held-out evaluation pass, and peak
// memory. `--batch` and `--seq` time a stage's own shape (SFT trains 8 short
// conversations a step; mid-training 4 rows of 256). Compare with a PyTorch yardstick of the same configs (the same model and
// training step written with torch) run on the same machine just before or after;
// `--positions learned` gives exactly that model (GPT-2 position table).

import Foundation
import Kernels
import Notebook
import TinyGPT

struct BenchError: Error, CustomStringConvertible { let description: String }

let usage = "usage: bench [--config tiny|classroom] [--positions rotary|learned] [--json] [--steps N] [--threads N] [--batch B] [--seq T]"

struct BenchOptions {
    var config = "classroom", json = false, steps = 20
    var positions: GPTConfig.Positions?
    var threads: Int?, batch = 16, seq: Int?
}

func parse() throws -> BenchOptions {
    var o = BenchOptions()
    var flags = FlagReader(Array(CommandLine.arguments.dropFirst()))
    while let a = try flags.next() {
        func value() throws -> String { try flags.value() }
        switch a {
        case "--config": o.config = try value()
        case "--json": try flags.noValue(); o.json = true
        case "--positions":
            let v = try value()
            guard let p = GPTConfig.Positions(rawValue: v) else { throw BenchError(description: "--positions is rotary or learned, not '\(v)'") }
            o.positions = p
        case "--steps":
            guard let n = Int(try value()), n >= 1 else { throw BenchError(description: "--steps needs a positive integer") }
            o.steps = n
        case "--threads":
            guard let n = Int(try value()), n >= 1 else { throw BenchError(description: "--threads needs a positive integer") }
            o.threads = n
        case "--batch":
            guard let n = Int(try value()), n >= 1 else { throw BenchError(description: "--batch needs a positive integer") }
            o.batch = n
        case "--seq":
            guard let n = Int(try value()), n >= 16, n <= 1024 else { throw BenchError(description: "--seq needs an integer from 16 to 1024") }
            o.seq = n
        case "--help", "-h":
            try flags.noValue(); print(usage); exit(0)
        default: throw flags.unknown
        }
    }
    return o
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // Linux reports kilobytes
}

let opts: BenchOptions
do { opts = try parse() } catch {
    FileHandle.standardError.write(Data("error: \(error)\n\(usage)\n".utf8))
    exit(2)
}
guard var cfg = GPTConfig.named(opts.config) else {
    FileHandle.standardError.write(Data("error: unknown config '\(opts.config)' (tiny or classroom)\n".utf8))
    exit(2)
}
if let p = opts.positions { cfg.positions = p }
if let t = opts.threads { Parallel.threads = t }
// A longer --seq is the model with a longer context, as mid-training makes it (rotary positions
// have no table to grow; a learned table gets the extra rows).
if let t = opts.seq, t > cfg.blockSize { cfg.blockSize = t }
let B = opts.batch, T = opts.seq ?? cfg.blockSize, C = cfg.channels, V = cfg.vocabSize
var rng = RNG(seed: 1)

// 1. Matmul at the training step's shapes: M = B*T rows, (K, N) per layer type.
let M = B * T
let shapes = [(C, 3 * C, "qkv"), (C, C, "attn proj"), (C, 4 * C, "mlp fc"), (4 * C, C, "mlp proj"), (C, V, "logits")]
var matmulRows: [(String, Double, Double)] = []
var matmulSeconds: [String: Double] = [:]  // one forward + backward at each shape
var totalFlops = 0.0, totalTime = 0.0
for (K, N, name) in shapes {
    let a = FloatBuffer(count: M * K), w = FloatBuffer(count: N * K), o = FloatBuffer(count: M * N)
    let da = FloatBuffer(count: M * K), dw = FloatBuffer(count: N * K)
    for i in 0..<a.count { a[i] = rng.normal() }
    for i in 0..<w.count { w[i] = rng.normal() }
    let reps = 20
    var tf: [Double] = [], tb: [Double] = []
    for r in 0..<(reps + 3) {
        let t0 = now()
        matmul_forward(o.ptr, a.ptr, w.ptr, nil, M: M, K: K, N: N)
        let t1 = now()
        matmul_backward(da.ptr, dw.ptr, nil, o.ptr, a.ptr, w.ptr, M: M, K: K, N: N)
        let t2 = now()
        if r >= 3 { tf.append(t1 - t0); tb.append(t2 - t1) }
    }
    let flops = 2.0 * Double(M * K * N)
    matmulRows.append(("\(name) \(M)x\(K)x\(N)", flops / median(tf) / 1e9, 2 * flops / median(tb) / 1e9))
    matmulSeconds[name] = median(tf) + median(tb)
    totalFlops += 3 * flops
    totalTime += median(tf) + median(tb)
}
let matmulGflops = totalFlops / totalTime / 1e9

// 2. Training: forward + cross-entropy + backward + AdamW on random tokens.
let model: GPT
do { model = try GPT(config: cfg, seed: 1) } catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
let opt = AdamW(for: model)
var tokens = [Int32](repeating: 0, count: B * T), targets = [Int32](repeating: 0, count: B * T)
let weights = [Float](repeating: 1 / Float(B * T), count: B * T)
var trainTimes: [Double] = []
var firstLoss: Float = 0, lastLoss: Float = 0
let data = (0..<4096).map { _ in Int32(rng.int(below: V)) }
for step in 0..<(opts.steps + 3) {
    for b in 0..<B {
        // A repeating random pattern, so the loss has something to learn.
        let start = rng.int(below: data.count - T - 1)
        for t in 0..<T { tokens[b * T + t] = data[(start + t) % 64]; targets[b * T + t] = data[(start + t + 1) % 64] }
    }
    let t0 = now()
    model.zeroGrad()
    let loss = model.forwardBackward(tokens: tokens, targets: targets, weights: weights, B: B, T: T)
    clip_grad_norm(model.grads.ptr, N: model.parameterCount, maxNorm: 1)
    opt.update(model, lr: 1e-3)
    let dt = now() - t0
    if step == 0 { firstLoss = loss }
    lastLoss = loss
    if step >= 3 { trainTimes.append(dt) }
}
let stepMs = median(trainTimes) * 1000
let trainTokensPerSec = Double(B * T) / median(trainTimes)

// 2b. Where one training step's time goes: each kind of kernel run alone at the step's
//     shapes, as many times as one step calls it (L layers); "other" is the rest of the
//     measured step (buffers, copies, the loss's arrays, starting threads).
let L = cfg.layers, H = cfg.heads
func seconds(_ reps: Int = 7, _ body: () -> Void) -> Double {
    var times: [Double] = []
    for r in 0..<(reps + 2) {
        let t0 = now()
        body()
        if r >= 2 { times.append(now() - t0) }
    }
    return median(times)
}
func filled(_ n: Int) -> FloatBuffer {
    let b = FloatBuffer(count: n)
    for i in 0..<n { b[i] = rng.normal() * 0.1 }
    return b
}
let x = filled(M * C), y = filled(M * C), dx = filled(M * C), w = filled(C), bias = filled(C), dw = filled(C), db = filled(C)
let mean = filled(M), rstd = FloatBuffer(count: M)
for i in 0..<M { rstd[i] = 1 }
let qkvBuf = filled(M * 3 * C), dqkvBuf = filled(M * 3 * C), attBuf = FloatBuffer(count: B * H * T * T)
let fc = filled(M * 4 * C), fcOut = filled(M * 4 * C), dfc = filled(M * 4 * C)
let logitsBuf = filled(M * V), probsBuf = FloatBuffer(count: M * V), lossBuf = FloatBuffer(count: M)
let rope: RopeTables? = cfg.positions == .rotary ? RopeTables(T: T, headSize: C / H) : nil
attention_forward(y.ptr, attBuf.ptr, qkvBuf.ptr, B: B, T: T, C: C, H: H)  // a valid softmax in att for the backward
let breakdown: [(String, Double)] = [
    ("matmuls", Double(L) * ["qkv", "attn proj", "mlp fc", "mlp proj"].reduce(0) { $0 + (matmulSeconds[$1] ?? 0) }
        + (matmulSeconds["logits"] ?? 0)),
    ("attention", seconds {
        for _ in 0..<L {
            if let rope { rope_forward(qkvBuf.ptr, rope, B: B, T: T, C: C, H: H) }
            attention_forward(y.ptr, attBuf.ptr, qkvBuf.ptr, B: B, T: T, C: C, H: H)
            attention_backward(dqkvBuf.ptr, dx.ptr, qkvBuf.ptr, attBuf.ptr, B: B, T: T, C: C, H: H)
            if let rope { rope_backward(dqkvBuf.ptr, rope, B: B, T: T, C: C, H: H) }
        }
    }),
    ("norms", seconds {
        for _ in 0..<(2 * L + 1) {
            layernorm_forward(y.ptr, mean.ptr, rstd.ptr, x.ptr, w.ptr, bias.ptr, N: M, C: C)
            layernorm_backward(dx.ptr, dw.ptr, db.ptr, y.ptr, x.ptr, w.ptr, mean.ptr, rstd.ptr, N: M, C: C)
        }
    }),
    ("elementwise", seconds {
        tokens.withUnsafeBufferPointer { tp in
            embedding_forward(y.ptr, tp.baseAddress!, model.params.ptr, nil, B: B, T: T, C: C)
            embedding_backward(model.grads.ptr, nil, dx.ptr, tp.baseAddress!, B: B, T: T, C: C)
        }
        for _ in 0..<L {
            gelu_forward(fcOut.ptr, fc.ptr, N: M * 4 * C)
            gelu_backward(dfc.ptr, fc.ptr, fcOut.ptr, N: M * 4 * C)
            residual_forward(y.ptr, x.ptr, dx.ptr, N: M * C)
            residual_forward(y.ptr, x.ptr, dx.ptr, N: M * C)
        }
    }),
    ("loss", seconds {
        targets.withUnsafeBufferPointer { tp in
            weights.withUnsafeBufferPointer { wp in
                softmax_crossentropy_forward(lossBuf.ptr, probsBuf.ptr, logitsBuf.ptr, tp.baseAddress!, N: M, V: V)
                crossentropy_backward(logitsBuf.ptr, probsBuf.ptr, tp.baseAddress!, wp.baseAddress!, N: M, V: V)
            }
        }
    }),
    ("optimizer", seconds {
        clip_grad_norm(model.grads.ptr, N: model.parameterCount, maxNorm: 1)
        opt.update(model, lr: 0)
    }),
]
let kernelSeconds = breakdown.reduce(0) { $0 + $1.1 }
let stepBreakdown = breakdown + [("other", max(0, median(trainTimes) - kernelSeconds))]

// 3. Forward only (+ loss), as in evaluation.
var fwdTimes: [Double] = []
for r in 0..<(opts.steps + 3) {
    let t0 = now()
    model.forward(tokens, B: B, T: T)
    model.crossEntropy(targets)
    if r >= 3 { fwdTimes.append(now() - t0) }
}
let forwardTokensPerSec = Double(B * T) / median(fwdTimes)

// 4. Generation: batches of 16 and 64 sequences, KV cache, sampling at temperature 1
//    (evaluations sample 16 to 64 replies at once; GRPO samples whole groups).
let promptLength = 8
let newTokens = T - promptLength
func generateTokensPerSec(batch: Int) -> Double {
    var times: [Double] = []
    for r in 0..<4 {
        let prompts = (0..<batch).map { _ in (0..<promptLength).map { _ in rng.int(below: V) } }
        let t0 = now()
        let out = model.generate(prompts: prompts, options: SamplingOptions(temperature: 1, maxNewTokens: newTokens), rng: &rng)
        let dt = now() - t0
        precondition(out.allSatisfy { $0.tokens.count == newTokens })
        if r >= 1 { times.append(dt) }
    }
    return Double(batch * newTokens) / median(times)
}
let generate16 = generateTokensPerSec(batch: 16)
let generate64 = generateTokensPerSec(batch: 64)

// 5. One held-out evaluation pass as pretraining measures it: 8 batches of 16 windows, forward + loss.
let evalBatches = 8
var evalTimes: [Double] = []
for r in 0..<4 {
    let t0 = now()
    for _ in 0..<evalBatches {
        model.forward(tokens, B: B, T: T)
        model.crossEntropy(targets)
    }
    if r >= 1 { evalTimes.append(now() - t0) }
}
let evalPassSeconds = median(evalTimes)
let rss = peakRSSMegabytes()

#if DEBUG
let build = "debug"
#else
let build = "release"
#endif

if opts.json {
    let object: [String: Any] = [
        "config": opts.config, "positions": cfg.positions.rawValue, "build": build, "threads": Parallel.threads, "params": model.parameterCount,
        "batch": B, "seq": T,
        "train_tokens_per_s": Int(trainTokensPerSec.rounded()),
        "train_step_ms": (stepMs * 100).rounded() / 100,
        "forward_tokens_per_s": Int(forwardTokensPerSec.rounded()),
        "generate_tokens_per_s": Int(generate16.rounded()),
        "generate64_tokens_per_s": Int(generate64.rounded()),
        "eval_pass_s": (evalPassSeconds * 1000).rounded() / 1000,
        "matmul_gflops": (matmulGflops * 10).rounded() / 10,
        "step_breakdown_ms": Dictionary(uniqueKeysWithValues: stepBreakdown.map { ($0.0, ($0.1 * 1e4).rounded() / 10) }),
        "peak_rss_mb": (rss * 10).rounded() / 10,
    ]
    let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
} else {
    print("bench: \(opts.config) (\(cfg)), \(model.parameterCount) parameters, batch \(B) x \(T), \(Parallel.threads) threads, \(build) build")
    print("")
    print("matmul (forward | backward)                 GFLOP/s")
    for (name, f, b) in matmulRows {
        print("  \(name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(String(format: "%7.1f | %7.1f", f, b))")
    }
    print("  all shapes, forward + backward     \(String(format: "%10.1f", matmulGflops))")
    print("")
    print(String(format: "train     %9.0f tokens/s  (%.1f ms/step, loss %.3f -> %.3f); one step's time:", trainTokensPerSec, stepMs, firstLoss, lastLoss))
    for (name, t) in stepBreakdown {
        print("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0)
              + String(format: "%7.1f ms  %3.0f%%", t * 1000, 100 * t / median(trainTimes)))
    }
    print(String(format: "forward   %9.0f tokens/s", forwardTokensPerSec))
    print(String(format: "generate  %9.0f tokens/s  (16 sequences, KV cache)", generate16))
    print(String(format: "generate  %9.0f tokens/s  (64 sequences, KV cache)", generate64))
    print(String(format: "eval pass %9.3f s         (%d batches of %d x %d, forward + loss)", evalPassSeconds, evalBatches, B, T))
    print(String(format: "peak memory %7.1f MB", rss))
}
