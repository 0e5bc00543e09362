import Foundation
import Testing
import Curriculum
import Kernels
import TinyGPT

/// Exercise checker for lesson08: what quick tool SFT must achieve over the quick dpo model.
/// (The tools, the template's tool turns and the runner are checked without training, in
/// CurriculumTests/ToolTests.)
@Suite("Lesson08: tool use")
struct Lesson08Tests {
    @Test("tool SFT teaches the grammar: made to open a call, the grown dpo model writes no valid one; after SFT it calls where a tool is needed, and its calls are valid")
    func sftTeachesTheGrammar() throws {
        let start = try ToolTraining.Stage(quick: true, seed: QuickChain.seed).grown(try QuickChain.dpo.get().model.copy())
        let trained = try QuickChain.tools.get()
        let held = ToolTraining.evalSet(try ToolTraining.data(), quick: true)
        let needing = held.filter { $0.kind.needsTool }
        let before = try ToolTraining.measure(start, held), after = trained.after
        #expect(Noise.isRise(from: before.neededCallRate, to: after.neededCallRate, n: needing.count, floor: 0.3),
                "calls where a tool is needed: \(pct(before.neededCallRate)) -> \(pct(after.neededCallRate)) on \(needing.count) questions")
        // The grammar on its own: both models made to open a call on the same questions.
        func valid(_ model: GPT) throws -> Double {
            let calls = try ToolTraining.forcedCalls(model, needing)
            return Double(calls.filter(\.wellFormed).count) / Double(max(calls.count, 1))
        }
        let b = try valid(start), a = try valid(trained.model.copy())
        #expect(Noise.isRise(from: b, to: a, n: needing.count, floor: 0.3), "valid calls when made to call: \(pct(b)) -> \(pct(a))")
    }
}
