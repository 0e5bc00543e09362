import Foundation
import Testing
import Curriculum
import Kernels
import TinyGPT

/// Exercise checker for lesson01: quick pretraining must really learn the toy world.
@Suite("Lesson01: pretraining")
struct Lesson01Tests {
    @Test("quick pretraining cuts the held-out loss to under half its initial value (~ln 96)")
    func heldOutLossFalls() throws {
        let result = try QuickChain.base.get()
        let before = result.metrics["val_loss_init"] ?? .nan
        let after = result.metrics["val_loss"] ?? .nan
        #expect(abs(before - log(96.0)) < 0.2, "an untrained model should score about ln 96 = 4.56, got \(before)")
        #expect(after < 0.5 * before, "held-out loss should fall below half of \(before), got \(after)")
        // The training curve goes down too, not just the final number.
        let log = result.log
        let firstTenth = log.trainLoss.prefix(log.trainLoss.count / 10).reduce(0, +) / Double(log.trainLoss.count / 10)
        let lastTenth = log.trainLoss.suffix(log.trainLoss.count / 10).reduce(0, +) / Double(log.trainLoss.count / 10)
        #expect(lastTenth < firstTenth - 1, "training loss: first tenth \(firstTenth), last tenth \(lastTenth)")
    }

    @Test("evaluateLoss is the mean over real target tokens, pooled across batches; -1 targets count for nothing")
    func evaluateLossAveragesTargetTokens() throws {
        let model = try GPT(config: .tiny(vocabSize: 96), seed: 5)
        let a = Batch(inputs: [1, 2, 3, 4, 5, 6, 7, 8], targets: [2, 3, -1, -1, 6, -1, 8, 9], B: 2, T: 4)
        let b = Batch(inputs: [10, 11, 12], targets: [11, 12, 13], B: 1, T: 3)
        // By hand: -log softmax(logits)[target] at each real target, from the logits themselves.
        var sum = 0.0, count = 0
        for batch in [a, b] {
            model.forward(batch.inputs, B: batch.B, T: batch.T)
            let V = model.config.vocabSize
            for (i, target) in batch.targets.enumerated() where target >= 0 {
                let row = (0..<V).map { Double(model.logits[i * V + $0]) }
                let top = row.max() ?? 0
                let logZ = top + log(row.map { exp($0 - top) }.reduce(0, +))
                sum += logZ - row[Int(target)]
                count += 1
            }
        }
        #expect(count == 8)
        let got = evaluateLoss(model, [a, b])
        #expect(abs(got - sum / Double(count)) < 1e-4, "expected the mean over 8 real targets, \(sum / Double(count)), got \(got)")
    }

    @Test("samples after training are mostly toy-world words; the untrained model's are not")
    func samplesBecomeWords() throws {
        let trained = try QuickChain.base.get().model.copy()
        let untrained = try GPT(config: trained.config, seed: QuickChain.seed)
        guard let dir = DataFiles.defaultDataDirectory() else { Issue.record("no data/ folder"); return }
        let vocabulary = Set(Probes.words(try DataFiles.loadPretrain(from: dir).train))
        var rng = RNG(seed: 7)
        let prompts = [String](repeating: "<|bos|>", count: 8)
        let after = try Probes.complete(trained, prompts, temperature: 0.5, maxTokens: 60, rng: &rng).joined(separator: " ")
        let before = try Probes.complete(untrained, prompts, temperature: 0.5, maxTokens: 60, rng: &rng).joined(separator: " ")
        let rateAfter = Probes.wordRate(after, vocabulary: vocabulary)
        let rateBefore = Probes.wordRate(before, vocabulary: vocabulary)
        #expect(rateAfter > 0.5, "most words should be real after training, got \(rateAfter): \(after.prefix(120))")
        #expect(rateBefore < 0.2, "the untrained model writes noise, got \(rateBefore)")
        #expect(rateAfter > rateBefore + 0.3)
    }

    @Test("temperature: the colder the sampling, the more of its words are real; at 1.5 the model invents words")
    func temperatureTradesWordsForInvention() throws {
        let model = try QuickChain.base.get().model.copy()
        guard let dir = DataFiles.defaultDataDirectory() else { Issue.record("no data/ folder"); return }
        let vocabulary = Set(Probes.words(try DataFiles.loadPretrain(from: dir).train))
        let prompts = [String](repeating: "<|bos|>", count: 8)
        func sample(_ t: Float) throws -> String {
            var rng = RNG(seed: 7)
            return try Probes.complete(model, prompts, temperature: t, maxTokens: 60, rng: &rng).joined(separator: " ")
        }
        // Dividing the logits by T < 1 sharpens the distribution toward the likeliest
        // characters; T > 1 flattens it, and rare characters make words no story contains.
        let cold = try sample(0.1), hot = try sample(1.5)
        let coldRate = Probes.wordRate(cold, vocabulary: vocabulary), hotRate = Probes.wordRate(hot, vocabulary: vocabulary)
        let n = min(Probes.words(cold).count, Probes.words(hot).count)
        #expect(Noise.isRise(from: hotRate, to: coldRate, n: n, floor: 0.2),
                "real words: T = 0.1 \(coldRate), T = 1.5 \(hotRate) (\(n) words): \(hot.prefix(80))")
    }

    @Test("another seed: other weights and batches, about the same held-out loss (exercise 01.4)")
    func seedChangesTheModelNotItsLoss() throws {
        let a = try QuickChain.base.get()
        let b = try Pretrain.run(quick: true, seed: 7)
        let pa = a.model.params.array, pb = b.model.params.array
        let differ = zip(pa, pb).filter { $0 != $1 }.count
        #expect(differ > pa.count * 9 / 10, "different seeds start from different weights: \(differ) of \(pa.count) differ")
        let la = a.metrics["val_loss"] ?? .nan, lb = b.metrics["val_loss"] ?? .nan
        let learned = (a.metrics["val_loss_init"] ?? .nan) - la
        // What training bought is the same: the seeds differ by a small part of it.
        #expect(abs(la - lb) < 0.1 * learned, "held-out loss \(la) (seed \(QuickChain.seed)) vs \(lb) (seed 7), learned \(learned)")
    }

    @Test("the base checkpoint is written, reloaded bit-exactly, and recorded in report.json")
    func checkpointAndReport() throws {
        let result = try QuickChain.base.get()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lesson01-\(getpid())").path
        let run = RunDirectory(outDir: out, quick: true)
        try saveStage(.base, model: result.model, step: 600, metrics: result.metrics, to: run)
        let (loaded, info) = try loadStage(.base, from: run)
        #expect(loaded.params.array == result.model.params.array)
        #expect(info.stage == "base" && info.vocab == Tokenizer.standard.pieces)
        let report = try Report.load(from: run.path)
        #expect(report["base"]?["val_loss"] == result.metrics["val_loss"])
        #expect(report["base"]?["val_loss_init"] != nil)
        // Loading it as another stage is refused with a clear message.
        #expect(throws: Error.self) { try loadStage(.mid, from: run) }
    }

    @Test("a checkpoint of the other recipe's size is refused with the folder it belongs in")
    func checkpointOfAnotherSize() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lesson01-size-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        // A quick model copied into a full-size folder (the --out folder itself).
        let full = RunDirectory(outDir: out, quick: false), quick = RunDirectory(outDir: out, quick: true)
        let tiny = try GPT(config: Stage.base.modelConfig(quick: true), seed: 1)
        let info = CheckpointInfo(stage: "base", step: 1, vocab: Tokenizer.standard.pieces)
        try Checkpoint.save(tiny, info: info, to: full.checkpoint(.base))
        do {
            _ = try loadStage(.base, from: full)
            Issue.record("a quick model was accepted by a full-size run")
        } catch {
            let text = "\(error)"
            #expect(text.contains(full.checkpoint(.base)) && text.contains("--quick model") && text.contains("rerun lesson01-pretrain"), "\(text)")
        }
        // A classroom-size model in the quick/ folder.
        let big = try GPT(config: Stage.base.modelConfig(quick: false), seed: 1)
        try Checkpoint.save(big, info: info, to: quick.checkpoint(.base))
        do {
            _ = try loadStage(.base, from: quick)
            Issue.record("a full-size model was accepted by a quick run")
        } catch {
            let text = "\(error)"
            #expect(text.contains(quick.checkpoint(.base)) && text.contains("full-size model") && text.contains("--quick"), "\(text)")
        }
        // Later stages expect mid-training's doubled context.
        #expect(Stage.mid.modelConfig(quick: true).blockSize == 2 * Stage.base.modelConfig(quick: true).blockSize)
    }
}
