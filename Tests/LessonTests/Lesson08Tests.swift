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
        let before = try ToolTraining.measure(start, held), after = trained.afterSFT
        #expect(Noise.isRise(from: before.neededCallRate, to: after.neededCallRate, n: needing.count, floor: 0.3),
                "calls where a tool is needed: \(pct(before.neededCallRate)) -> \(pct(after.neededCallRate)) on \(needing.count) questions")
        // The grammar on its own: both models made to open a call on the same questions.
        func valid(_ model: GPT) throws -> Double {
            let calls = try ToolTraining.forcedCalls(model, needing)
            return Double(calls.filter(\.wellFormed).count) / Double(max(calls.count, 1))
        }
        let b = try valid(start), a = try valid(trained.sft.copy())
        #expect(Noise.isRise(from: b, to: a, n: needing.count, floor: 0.3), "valid calls when made to call: \(pct(b)) -> \(pct(a))")
    }

    @Test("tool RL with a cost per call cuts the calls where no tool is needed, and raises the reward it trains on")
    func rlCutsNeedlessCalls() throws {
        let r = try QuickChain.tools.get()
        let held = ToolTraining.evalSet(try ToolTraining.data(), quick: true)
        let nNeedless = held.filter { !$0.kind.needsTool }.count
        let b = r.afterSFT.needlessCallRate, a = r.after.needlessCallRate
        #expect(Noise.isRise(from: a, to: b, n: nNeedless, floor: 0.3), "needless calls: \(pct(b)) -> \(pct(a)) on \(nNeedless) questions")
        // The reward, in its first and last quarter of steps. (The quick model's calls are
        // rarely right either, so it drops needed calls too; the default run keeps them.)
        let q = max(1, r.rlLog.count / 4)
        let first = r.rlLog.prefix(q).map(\.meanReward).reduce(0, +) / Double(q)
        let last = r.rlLog.suffix(q).map(\.meanReward).reduce(0, +) / Double(q)
        #expect(r.rlLog.count == ToolTraining.rlRecipe(quick: true, seed: QuickChain.seed).steps)
        #expect(last > first, "mean reward, first quarter -> last: \(first) -> \(last)")
    }
}
