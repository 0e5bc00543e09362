import Testing
import Kernels
import TinyGPT

/// Growing a trained model's vocabulary (lesson08's tool tokens): two more rows, nothing else changed.
@Suite("Vocabulary extension")
struct VocabularyExtensionTests {
    /// A small model with weights far from their initial values, so copying mistakes show.
    func trainedLookingModel() throws -> GPT {
        let model = try GPT(config: GPTConfig(vocabSize: 11, blockSize: 8, layers: 2, heads: 2, channels: 16), seed: 3)
        var rng = RNG(seed: 4)
        for i in 0..<model.parameterCount { model.params[i] += 0.3 * rng.normal() }
        return model
    }

    @Test("old tokens' logits are exactly the old model's; the new rows are the mean of the old ones")
    func grow() throws {
        let old = try trainedLookingModel()
        let new = try old.growingVocabulary(to: 13)
        #expect(new.config.vocabSize == 13 && new.parameterCount == old.parameterCount + 2 * 16)
        var rng = RNG(seed: 6)
        let B = 2, T = 8
        let tokens = (0..<(B * T)).map { _ in Int32(rng.int(below: 11)) }
        old.forward(tokens, B: B, T: T)
        let a = Array(UnsafeBufferPointer(start: old.logits, count: B * T * 11))
        new.forward(tokens, B: B, T: T)
        for i in 0..<(B * T) {
            #expect(Array(UnsafeBufferPointer(start: new.logits + i * 13, count: 11)) == Array(a[(i * 11)..<((i + 1) * 11)]))
        }
        // Every tensor but wte is copied as is.
        for t in old.layout.tensors where t.name != "wte" {
            let n = try #require(new.layout.tensor(named: t.name))
            #expect(Array(UnsafeBufferPointer(start: new.params.ptr + n.offset, count: n.count))
                    == Array(UnsafeBufferPointer(start: old.params.ptr + t.offset, count: t.count)), "\(t.name)")
        }
        let C = 16, w = old.params.ptr + old.layout.wte, g = new.params.ptr + new.layout.wte
        for c in 0..<C {
            let mean = (0..<11).map { Double(w[$0 * C + c]) }.reduce(0, +) / 11
            #expect(abs(Double(g[11 * C + c]) - mean) < 1e-6 && g[12 * C + c] == g[11 * C + c])
        }
        // Tokens past the old vocabulary can now be read.
        new.forward([11, 12, 3], B: 1, T: 3)
        #expect(new.logits[2 * 13 + 12].isFinite)
        #expect(throws: ConfigError.self) { try old.growingVocabulary(to: 10) }
    }
}
