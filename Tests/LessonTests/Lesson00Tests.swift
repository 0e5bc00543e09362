import Testing
import Curriculum
import Kernels
import TinyGPT

/// Exercise checker for lesson00: the claims the lesson prints, on the lesson's own model.
@Suite("Lesson00: the transformer")
struct Lesson00Tests {
    let text = "Mia has a dog called Rex. Rex likes the lake."

    @Test("the backward pass agrees with finite differences on every tensor of the tiny model")
    func gradientCheck() throws {
        let ids = try Tokenizer.standard.encode(text).map(Int32.init)
        let T = ids.count - 1
        let model = try GPT(config: .tiny(vocabSize: Tokenizer.standard.vocabSize), seed: 2)
        var rng = RNG(seed: 1)
        for i in 0..<model.parameterCount { model.params[i] += 0.1 * rng.normal() }
        let checks = model.gradientCheck(tokens: Array(ids.dropLast()), targets: Array(ids.dropFirst()),
                                         weights: [Float](repeating: 1, count: T), B: 1, T: T, samplesPerTensor: 6)
        for c in checks {
            #expect(c.passed, "the gradient of \(c.tensor) disagrees with finite differences (relative error \(c.relativeError)): check its backward pass")
        }
    }

    @Test("an untrained model scores about ln V, and one sentence can be memorised to near-zero loss")
    func overfitOneSentence() throws {
        let ids = try Tokenizer.standard.encode(text).map(Int32.init)
        let T = ids.count - 1
        let model = try GPT(config: .tiny(vocabSize: Tokenizer.standard.vocabSize), seed: 1337)
        let batch = Batch(inputs: Array(ids.dropLast()), targets: Array(ids.dropFirst()), B: 1, T: T)
        let initial = evaluateLoss(model, [batch])
        #expect(abs(initial - 4.564) < 0.15, "untrained loss should be close to ln 96 = 4.564, got \(initial)")
        let optimizer = AdamW(for: model, config: AdamWConfig(weightDecay: 0))
        for step in 0..<150 { try trainStep(model, optimizer, batch, lr: 3e-3, clipNorm: 1, step: step + 1) }
        let final = evaluateLoss(model, [batch])
        #expect(final < 0.01, "after 150 steps on one sentence the loss should be near zero, got \(final)")
    }
}
