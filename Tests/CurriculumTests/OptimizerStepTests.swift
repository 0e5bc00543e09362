import Testing
import Curriculum
import TinyGPT

/// `optimizerStep`, the end of every stage's training step: a NaN or infinite loss or
/// gradient stops training with a clear error and the weights as they were.
@Suite("optimizerStep")
struct OptimizerStepTests {
    func model() throws -> GPT {
        let m = try GPT(config: GPTConfig(vocabSize: 16, blockSize: 8, layers: 1, heads: 1, channels: 8), seed: 1)
        m.zeroGrad()
        for i in 0..<m.parameterCount { m.grads.ptr[i] = 0.01 }
        return m
    }

    @Test("a finite loss and gradient: the weights move")
    func finiteStepMoves() throws {
        let m = try model(), before = m.params.array
        try optimizerStep(m, AdamW(for: m), loss: 1.5, lr: 1e-2, clipNorm: 1, step: 1)
        #expect(m.params.array != before)
    }

    @Test("a NaN or infinite loss, or one NaN gradient: NonFiniteError names the step and the tensor, the weights stay")
    func nonFiniteStops() throws {
        for (loss, poison) in [(Double.nan, false), (Double.infinity, false), (1.5, true)] {
            let m = try model(), before = m.params.array
            if poison { m.grads.ptr[m.parameterCount / 2] = .nan }
            #expect(throws: NonFiniteError.self) { try optimizerStep(m, AdamW(for: m), loss: loss, lr: 1e-2, clipNorm: 1, step: 7) }
            do {
                try optimizerStep(m, AdamW(for: m), loss: loss, lr: 1e-2, clipNorm: 1, step: 7)
            } catch let e as NonFiniteError {
                #expect(e.step == 7)
                #expect(poison ? e.tensor != "loss" : e.tensor == "loss", "named \(e.tensor)")
                #expect(e.description.contains("step 7"))
            }
            #expect(m.params.array == before, "the weights must not move")
        }
    }
}
