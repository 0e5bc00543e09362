import Testing
import Kernels
import TinyGPT

/// Growing a trained model's context (lesson02): more room, nothing else changed.
@Suite("Context extension")
struct ContextExtensionTests {
    /// A small model with weights far from their initial values, so copying mistakes show.
    func trainedLookingModel(_ positions: GPTConfig.Positions = .learned) throws -> GPT {
        let model = try GPT(config: GPTConfig(vocabSize: 11, blockSize: 8, layers: 2, heads: 2, channels: 16,
                                              positions: positions), seed: 3)
        var rng = RNG(seed: 4)
        for i in 0..<model.parameterCount { model.params[i] += 0.3 * rng.normal() }
        return model
    }

    func logits(_ model: GPT, _ tokens: [Int32], B: Int, T: Int) -> [Float] {
        model.forward(tokens, B: B, T: T)
        return Array(UnsafeBufferPointer(start: model.logits, count: B * T * model.config.vocabSize))
    }

    @Test("right after extension, logits at positions < old T are exactly the old model's",
          arguments: [(GPTConfig.Positions.learned, PositionInit.periodic), (.learned, .random), (.rotary, .periodic)])
    func oldPositionsUnchanged(positions: GPTConfig.Positions, fill: PositionInit) throws {
        let old = try trainedLookingModel(positions)
        let new = try old.extendingContext(to: 16, fill: fill, seed: 5)
        #expect(new.config.blockSize == 16)
        var rng = RNG(seed: 6)
        let B = 2, T = 8
        let tokens = (0..<(B * T)).map { _ in Int32(rng.int(below: 11)) }
        #expect(logits(new, tokens, B: B, T: T) == logits(old, tokens, B: B, T: T))
        // And a 16-token sequence's first 8 positions agree too: the new positions never leak backwards.
        let long = (0..<16).map { _ in Int32(rng.int(below: 11)) }
        let newLogits = logits(new, long, B: 1, T: 16)
        let oldLogits = logits(old, Array(long.prefix(8)), B: 1, T: 8)
        #expect(Array(newLogits.prefix(8 * 11)) == oldLogits)
    }

    @Test("every tensor but wpe is copied; wpe keeps its rows and fills the new ones as asked")
    func weightsAndNewRows() throws {
        let old = try trainedLookingModel()
        let C = old.config.channels, T = old.config.blockSize
        func wpe(_ m: GPT, _ t: Int) -> [Float] { Array(UnsafeBufferPointer(start: m.params.ptr + m.layout.wpe! + t * C, count: C)) }
        func tensor(_ m: GPT, _ name: String) -> [Float] {
            guard let info = m.layout.tensor(named: name) else { return [] }
            return Array(UnsafeBufferPointer(start: m.params.ptr + info.offset, count: info.count))
        }
        for fill in PositionInit.allCases {
            let new = try old.extendingContext(to: 2 * T, fill: fill)
            #expect(new.parameterCount == old.parameterCount + T * C)
            for t in old.layout.tensors where t.name != "wpe" {
                #expect(tensor(new, t.name) == tensor(old, t.name), "\(fill): \(t.name) copied")
            }
            switch fill {
            case .periodic:
                for t in 0..<(2 * T) { #expect(wpe(new, t) == wpe(old, t % T)) }
            case .random:
                for t in 0..<T { #expect(wpe(new, t) == wpe(old, t)) }
                let fresh = (T..<(2 * T)).flatMap { wpe(new, $0) }
                let rms = (fresh.map { $0 * $0 }.reduce(0, +) / Float(fresh.count)).squareRoot()
                #expect(abs(rms - 0.02) < 0.005, "new rows look like a fresh init, rms \(rms)")
            case .interpolated:
                // The ends of the table stay where they were; the middle is resampled.
                #expect(wpe(new, 0) == wpe(old, 0))
                for (a, b) in zip(wpe(new, 2 * T - 1), wpe(old, T - 1)) { #expect(abs(a - b) < 1e-5) }
            }
        }
    }

    @Test("rotary positions have no table: extension copies every tensor and adds no parameter")
    func rotaryCopiesEverything() throws {
        let old = try trainedLookingModel(.rotary)
        let new = try old.extendingContext(to: 32, fill: .interpolated)
        #expect(old.layout.wpe == nil && new.layout.wpe == nil)
        #expect(new.config.blockSize == 32 && new.parameterCount == old.parameterCount)
        #expect(new.params.array == old.params.array)
    }

    @Test("a shorter context is refused with a message")
    func shorterIsAnError() throws {
        let old = try trainedLookingModel()
        #expect(throws: ConfigError.self) { try old.extendingContext(to: 4) }
    }
}
