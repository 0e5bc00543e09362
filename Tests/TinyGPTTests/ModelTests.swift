import Foundation
import Testing
import TestSupport
import Kernels
import TinyGPT

/// A model small enough to check by finite differences: V=11, T=8, L=2, H=2, C=16.
func smallModel(seed: UInt64 = 1, blockSize: Int = 8, positions: GPTConfig.Positions = .rotary) throws -> GPT {
    try GPT(config: GPTConfig(vocabSize: 11, blockSize: blockSize, layers: 2, heads: 2, channels: 16, positions: positions),
            seed: seed)
}

func randomTokens(_ n: Int, vocab: Int, seed: UInt64) -> [Int32] {
    var rng = RNG(seed: seed)
    return (0..<n).map { _ in Int32(rng.int(below: vocab)) }
}

/// Σ weight·loss for a batch, forward only.
func weightedLoss(_ model: GPT, _ tokens: [Int32], _ targets: [Int32], _ weights: [Float], B: Int, T: Int) -> Double {
    model.forward(tokens, B: B, T: T)
    let losses = model.crossEntropy(targets)
    return zip(losses, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}

@Suite("TinyGPT model")
struct ModelTests {
    @Test("end to end: every parameter tensor's gradient matches finite differences",
          arguments: GPTConfig.Positions.allCases)
    func gradientCheck(positions: GPTConfig.Positions) throws {
        let model = try smallModel(positions: positions)
        // Larger weights than the N(0, 0.02) init, so every gradient is well above rounding noise.
        var rng = RNG(seed: 9)
        for i in 0..<model.parameterCount { model.params[i] += 0.3 * rng.normal() }
        let B = 2, T = 8
        let tokens = randomTokens(B * T, vocab: 11, seed: 2)
        var targets = randomTokens(B * T, vocab: 11, seed: 3)
        targets[5] = -1  // an ignored position, as in SFT's loss mask
        let weights = (0..<(B * T)).map { Float(1 + $0 % 3) / 4 }
        let checks = model.gradientCheck(tokens: tokens, targets: targets, weights: weights, B: B, T: T)
        #expect(checks.count == model.layout.tensors.count)
        var worst: (String, Double) = ("", 0)
        for check in checks {
            if check.relativeError > worst.1 { worst = (check.tensor, check.relativeError) }
            #expect(check.passed, "gradient of \(check.tensor) is wrong: relative error \(check.relativeError)")
            #expect(check.numeric.contains { abs($0) > 1e-3 }, "\(check.tensor): the check must test a non-zero gradient")
        }
        // The check has teeth: a gradient 5% off, or with one sign flipped, fails it.
        let c = checks[checks.count / 2]
        #expect(!TensorGradientCheck(tensor: c.tensor, indices: c.indices, analytic: c.analytic.map { $0 * 1.05 }, numeric: c.numeric).passed)
        #expect(!TensorGradientCheck(tensor: c.tensor, indices: c.indices, analytic: c.analytic.enumerated().map { $0.offset == 0 ? -$0.element : $0.element }, numeric: c.numeric).passed)
        print("end-to-end gradient check (\(positions) positions): worst tensor \(worst.0), relative error \(worst.1)")
    }

    @Test("causality: changing token t+1 leaves the logits at positions 0...t bit-identical",
          arguments: GPTConfig.Positions.allCases)
    func causality(positions: GPTConfig.Positions) throws {
        let model = try smallModel(blockSize: 40, positions: positions)
        let T = 40, V = 11, t = 22
        var tokens = randomTokens(T, vocab: V, seed: 4)
        model.forward(tokens, B: 1, T: T)
        let before = Array(UnsafeBufferPointer(start: model.logits, count: T * V))
        tokens[t + 1] = (tokens[t + 1] + 1) % Int32(V)
        model.forward(tokens, B: 1, T: T)
        let after = Array(UnsafeBufferPointer(start: model.logits, count: T * V))
        #expect(Array(before[0..<((t + 1) * V)]) == Array(after[0..<((t + 1) * V)]))
        #expect(before[((t + 1) * V)...] != after[((t + 1) * V)...], "position t+1 itself must change")
    }

    /// Prompts of mixed lengths; in the second set every prompt has 3 tokens or more, so the
    /// first step reads positions 0-1 of all of them at once.
    static let promptSets = [[[1, 2, 3], [4], [5, 6, 7, 8, 9]], [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10, 1, 2]]]

    @Test("KV-cache generation gives the same log-probabilities as the full forward pass",
          arguments: GPTConfig.Positions.allCases, promptSets)
    func kvCacheMatchesForward(positions: GPTConfig.Positions, prompts: [[Int]]) throws {
        let model = try smallModel(blockSize: 24, positions: positions)
        var rng = RNG(seed: 5)
        let out = model.generate(prompts: prompts, options: SamplingOptions(temperature: 1, maxNewTokens: 10), rng: &rng)
        for (prompt, completion) in zip(prompts, out) {
            #expect(completion.tokens.count == 10)
            let seq = (prompt + completion.tokens).map(Int32.init)
            let T = seq.count
            model.forward(seq, B: 1, T: T)
            let V = 11
            for (j, token) in completion.tokens.enumerated() {
                let pos = prompt.count - 1 + j  // logits at pos predict token at pos+1
                let row = (0..<V).map { Double(model.logits[pos * V + $0]) }
                let m = row.max()!
                let logp = row[token] - m - log(row.map { exp($0 - m) }.reduce(0, +))
                #expect(abs(logp - Double(completion.logprobs[j])) < 1e-4,
                        "position \(pos): cache \(completion.logprobs[j]) vs full forward \(logp)")
            }
        }
    }

    @Test("generation: a prompt gets the same tokens and log-probabilities alone as in a batch (the shared prompt positions read at once)")
    func batchedGenerationMatchesAlone() throws {
        let model = try smallModel(blockSize: 24)
        let greedy = SamplingOptions(temperature: 0, maxNewTokens: 8)
        var rng = RNG(seed: 1)
        let prompts = Self.promptSets[1]
        let batch = model.generate(prompts: prompts, options: greedy, rng: &rng)
        for (prompt, together) in zip(prompts, batch) {
            let alone = model.generate(prompts: [prompt], options: greedy, rng: &rng)[0]
            #expect(alone.tokens == together.tokens)
            #expect(alone.logprobs == together.logprobs, "the same arithmetic row by row, so the same bits")
        }
    }

    @Test("generation: greedy is deterministic, stops at the stop token, and respects the context limit")
    func generationControls() throws {
        let model = try smallModel(blockSize: 12)
        var r1 = RNG(seed: 1), r2 = RNG(seed: 2)
        let greedy = SamplingOptions(temperature: 0, maxNewTokens: 50)
        let a = model.generate(prompts: [[1, 2]], options: greedy, rng: &r1)[0]
        let b = model.generate(prompts: [[1, 2]], options: greedy, rng: &r2)[0]
        #expect(a.tokens == b.tokens)
        #expect(a.tokens.count == 10, "prompt 2 + 10 new tokens fill the 12-token context")
        let stop = a.tokens[3]
        let stopped = model.generate(prompts: [[1, 2]], options: SamplingOptions(temperature: 0, stopToken: stop, maxNewTokens: 50), rng: &r1)[0]
        #expect(stopped.stopped)
        #expect(stopped.tokens.last == stop)
        #expect(stopped.tokens.count == a.tokens.firstIndex(of: stop)! + 1)
        var r3 = RNG(seed: 3)
        let topK1 = model.generate(prompts: [[1, 2]], options: SamplingOptions(temperature: 1, topK: 1, maxNewTokens: 10), rng: &r3)[0]
        #expect(topK1.tokens == a.tokens, "top-k with k = 1 is greedy")
    }

    @Test("training overfits one small batch: the loss goes from ~ln V to near zero")
    func overfitOneBatch() throws {
        let model = try smallModel(blockSize: 16)
        let B = 4, T = 16
        // Random rows that start with different tokens, so no two rows share a prefix and
        // every next token is predictable from what came before: the loss can reach ~0.
        var input = randomTokens(B * T, vocab: 11, seed: 6)
        for b in 0..<B { input[b * T] = Int32(b) }
        var targets = randomTokens(B * T, vocab: 11, seed: 7)
        for b in 0..<B { for t in 0..<(T - 1) { targets[b * T + t] = input[b * T + t + 1] } }
        let weights = [Float](repeating: 1 / Float(B * T), count: B * T)
        let opt = AdamW(for: model, config: AdamWConfig(weightDecay: 0))
        var first: Float = 0, last: Float = 0
        for step in 0..<300 {
            model.zeroGrad()
            let loss = model.forwardBackward(tokens: input, targets: targets, weights: weights, B: B, T: T)
            if step == 0 { first = loss }
            last = loss
            opt.update(model, lr: 1e-2)
        }
        #expect(abs(Double(first) - log(11.0)) < 0.2, "an untrained model guesses uniformly: loss ~ ln 11 = 2.40, got \(first)")
        #expect(last < 0.05, "memorising 64 tokens should drive the loss near zero, got \(last)")
    }

    @Test("determinism: same seed, same parameters after training, with 1 thread or 2")
    func determinism() throws {
        func train(threads: Int) throws -> [Float] {
            let saved = Parallel.threads
            Parallel.threads = threads
            defer { Parallel.threads = saved }
            let model = try GPT(config: .tiny(vocabSize: 20), seed: 42)
            let opt = AdamW(for: model)
            let B = 4, T = 64
            for step in 0..<3 {
                let tokens = randomTokens(B * T + 1, vocab: 20, seed: UInt64(step))
                let weights = [Float](repeating: 1 / Float(B * T), count: B * T)
                model.zeroGrad()
                model.forwardBackward(tokens: Array(tokens[0..<(B * T)]), targets: Array(tokens[1...]), weights: weights, B: B, T: T)
                clip_grad_norm(model.grads.ptr, N: model.parameterCount, maxNorm: 1)
                opt.update(model, lr: 1e-3)
            }
            return model.params.array
        }
        let a = try train(threads: 1), b = try train(threads: 2), c = try train(threads: 2)
        #expect(b == c, "two runs with the same seed must be identical")
        #expect(a == b, "1 thread and 2 threads must be bit-identical")
    }

    @Test("configs: tiny and classroom have the documented sizes; bad configs are refused with a reason")
    func configs() throws {
        // Rotary positions have no parameters; with learned ones add a [T, C] table (the
        // PyTorch yardstick's 822,016 for classroom).
        #expect(try GPT(config: .tiny(), seed: 0).parameterCount == 106_240)
        #expect(try GPT(config: .classroom(), seed: 0).parameterCount == 805_632)
        var learned = GPTConfig.classroom()
        learned.positions = .learned
        #expect(try GPT(config: learned, seed: 0).parameterCount == 822_016)
        // Checkpoints from before rotary positions existed carry no "positions": they are learned.
        let old = #"{"vocabSize":96,"blockSize":128,"layers":4,"heads":4,"channels":128}"#
        #expect(try JSONDecoder().decode(GPTConfig.self, from: Data(old.utf8)).positions == .learned)
        let rotary = try JSONEncoder().encode(GPTConfig.classroom())
        #expect(try JSONDecoder().decode(GPTConfig.self, from: rotary) == .classroom())
        #expect(throws: ConfigError.self) { try GPTConfig(vocabSize: 96, blockSize: 64, layers: 2, heads: 3, channels: 64).validate() }
        #expect(throws: ConfigError.self) { try GPTConfig(vocabSize: 96, blockSize: 0, layers: 2, heads: 2, channels: 64).validate() }
    }
}
