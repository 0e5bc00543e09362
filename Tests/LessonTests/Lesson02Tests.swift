import Foundation
import Testing
import Curriculum
import Kernels
import TinyGPT

/// Exercise checker for lesson02: quick mid-training must buy what it is for (the new
/// format and a longer context) without costing what pretraining bought.
@Suite("Lesson02: mid-training")
struct Lesson02Tests {
    @Test("the loss past the old context length falls by a real margin")
    func longContextLossFalls() throws {
        let r = try QuickChain.mid.get()
        #expect(r.after.longLoss < 0.7 * r.before.longLoss,
                "loss at positions T..2T-1 of held-out long documents: before \(r.before.longLoss), after \(r.after.longLoss)")
        #expect(r.model.config.blockSize == 2 * (try QuickChain.base.get()).model.config.blockSize)
    }

    @Test("pretraining loss does not blow up (replay keeps the base model's skills)")
    func pretrainingLossKept() throws {
        let r = try QuickChain.mid.get()
        #expect(r.after.textLoss < 1.15 * r.before.textLoss,
                "held-out pretraining loss: before \(r.before.textLoss), after \(r.after.textLoss)")
    }

    @Test("held-out sums are answered in the Q/A format, with a number, after mid-training")
    func arithmeticFormatLearned() throws {
        let base = try QuickChain.base.get().model.copy()
        let mid = try QuickChain.mid.get().model.copy()
        let problems = Arithmetic.evalProblems(count: Midtrain.evalProblemCount(quick: true), level: Midtrain.recipe(quick: true, seed: 0).level)
        func numberRate(_ model: GPT) throws -> Double {
            let graded = try Arithmetic.accuracy(model, problems).graded
            return Double(graded.filter { answersWithANumber($0.completion) }.count) / Double(graded.count)
        }
        let before = try numberRate(base), after = try numberRate(mid)
        #expect(after > 0.9 && after > before + 0.3, "completions that are a number and a line end: base \(before), mid \(after)")
    }

    @Test("held-out sums of the quick tier (no carry, no borrow) rise by 30 points and 3 standard errors")
    func arithmeticLearned() throws {
        let r = try QuickChain.mid.get()
        let n = Midtrain.evalProblemCount(quick: true)
        #expect(Noise.isRise(from: r.before.arithmetic, to: r.after.arithmetic, n: n, floor: 0.3),
                "held-out carry-free sums and differences right: base \(r.before.arithmetic), mid \(r.after.arithmetic) (n = \(n))")
    }

    @Test("the mid checkpoint is written with twice the context and recorded in report.json")
    func checkpointAndReport() throws {
        let r = try QuickChain.mid.get()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lesson02-\(getpid())").path
        let run = RunDirectory(outDir: out, quick: true)
        try saveStage(.mid, model: r.model, step: r.log.trainLoss.count, metrics: r.metrics, to: run)
        let (loaded, info) = try loadStage(.mid, from: run)
        #expect(loaded.params.array == r.model.params.array)
        #expect(info.stage == "mid" && loaded.config.blockSize == r.model.config.blockSize)
        let report = try Report.load(from: run.path)
        for key in ["arith_acc_before", "arith_acc", "long_loss_before", "long_loss", "text_loss_before", "text_loss"] {
            #expect(report["mid"]?[key] != nil, "report key \(key)")
        }
        for key in ["arith_acc_before", "arith_acc"] {
            #expect((0...1).contains(report["mid"]?[key] ?? -1))
        }
        try? FileManager.default.removeItem(atPath: out)
    }
}

/// " 85\n...": a number, then the end of the line.
private func answersWithANumber(_ completion: String) -> Bool {
    let s = completion.drop { $0 == " " }
    let digits = s.prefix { $0.isASCII && $0.isNumber }
    return !digits.isEmpty && s.dropFirst(digits.count).first == "\n"
}
