// lesson01-pretrain: next-token prediction on the toy world (stage `base`).
//
//     swift run lesson01-pretrain            # a few minutes (each lesson's time on a named machine: docs/results.md)
//     swift run lesson01-pretrain --quick    # seconds, tiny model
import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let nb = Notebook(
    name: "lesson01-pretrain",
    title: "Pretraining: a model learns a toy world by predicting the next character",
    intro: """
    A language model starts as random numbers. Pretraining shows it a lot of text and, at every \
    position, asks one question: what comes next? Getting better at that single question forces \
    it to pick up spelling, grammar and the facts of the world the text describes. This lesson \
    pretrains our tiny transformer on stories about a small toy world and measures what it learned.
    """,
    next: "swift run lesson02-midtrain")

let tokenizer = Tokenizer.standard
let quick = nb.options.quick
let seed = nb.options.seed
let stage = Pretrain.Stage(quick: quick, seed: seed)
let (modelConfig, trainConfig) = stage.recipe

// What the steps share, each made on first use, so `--step N` works alone.
let corpus = Memo { try Pretrain.data(quick: quick) }
/// This run's training, when step 2 ran.
var training: Pretrain.Result?
/// The trained base model: this run's, or the checkpoint, or trained now.
let model = Memo { () throws -> GPT in
    if let t = training { return t.model }
    return try Pretrain.loadOrTrain(run: nb.run, quick: quick, seed: seed, say: nb.say, progress: nb.trainingProgress(label: "pretraining"))
}
/// The report keys the steps measure, gathered as they run.
var metrics: [String: Double] = [:]
func heldOutLoss(_ model: GPT) throws -> Double { stage.heldOutLoss(model, valid: try corpus.get().valid) }
nb.checkRunFolders([nb.run])
let corpusWords: Set<String> = {
    guard let dir = DataFiles.defaultDataDirectory(), let text = try? DataFiles.loadPretrain(from: dir).train else { return [] }
    return Set(Probes.words(text))
}()

nb.step("The toy world, as text", """
    Our training data is about 1.5 MB of simple stories, written by a seeded generator (swift run \
    make-data) into data/pretrain/. A cast of twelve people, each with a pet, a favourite colour, a \
    home and a toy, plus counting and small sums. A separate held-out file contains stories the \
    model never trains on: we measure on those, so a low loss means it learned the world, not the file.

    The model reads characters, not words: each character is one token, and a few special tokens \
    are reserved for later lessons (chat turns, thinking). 96 tokens in all.
    """) {
    let (train, valid) = try corpus.get()
    nb.table(["split", "documents", "tokens"], [
        ["train", "\(train.documents)", "\(train.tokens.count)"],
        ["held-out", "\(valid.documents)", "\(valid.tokens.count)"],
    ])
    let docEnd = valid.tokens.dropFirst().firstIndex(of: Int32(tokenizer.id(.bos))) ?? 120
    nb.say("A held-out document:")
    nb.emit("    " + tokenizer.decode(valid.tokens[1..<docEnd].map(Int.init)).trimmingCharacters(in: .newlines))
    let sentence = "Mia has a red kite."
    let ids = try tokenizer.encode(sentence)
    nb.say("\"\(sentence)\" becomes \(ids.count) token ids, one per character:")
    nb.table(Array(sentence).map { String($0) == " " ? "␣" : String($0) }, [ids.map(String.init)])
}

nb.step("An untrained model", """
    A fresh model has random weights, so its guess for the next character is close to uniform: \
    each of the 96 tokens gets a probability of about 1/96. The loss we train on is the negative \
    log-probability of the true next token, so a uniform guess scores ln 96 = 4.56 nats per token. \
    That is our starting line. Its samples are noise.
    """) {
    let model = try stage.untrained()
    let loss = try heldOutLoss(model)
    metrics["val_loss_init"] = loss
    nb.table(["model", "config", "parameters", "held-out loss", "ln 96"],
             [["untrained", "\(modelConfig)", "\(model.parameterCount)", fmt(loss), fmt(log(96.0))]])
    var rng = RNG(seed: seed)
    let samples = try Probes.complete(model, ["<|bos|>", "<|bos|>Mia"], temperature: 1, maxTokens: 60, rng: &rng)
    for (prompt, s) in zip(["", "Mia"], samples) {
        nb.emit("    \(prompt)\(s.replacingOccurrences(of: "\n", with: "⏎"))")
    }
    nb.result("untrained held-out loss", "\(fmt(loss)) nats/token")
}

nb.step("Train: predict the next character", """
    Each step takes \(trainConfig.batchSize) random windows of \(trainConfig.seqLen) characters from \
    the training text. At every position the model predicts the next character; the loss is the \
    average surprise, and backpropagation nudges all the weights to \
    make the true characters a little more likely. The learning rate warms up, then decays along a \
    cosine: big steps early, fine adjustments at the end. Every \(trainConfig.evalEvery) steps we \
    measure the held-out loss.
    """) {
    let result = try stage.run(progress: nb.trainingProgress(label: "pretraining"))
    training = result
    metrics.merge(result.metrics) { _, new in new }
    try stage.save(result.model, metrics: metrics, log: result.log, to: nb.run)
    nb.lossChart(result.log)
    nb.say("\(result.log.tokensSeen) tokens seen in \(fmt(result.log.seconds, 1)) s (\(Int(Double(result.log.tokensSeen) / result.log.seconds)) tokens/s).")
    nb.produced(nb.run.checkpoint(.base))
}

nb.step("Held-out loss: before and after", """
    The loss fell from the uniform guess to well below it. Another way to read a loss: e^loss is \
    the number of characters the model is effectively choosing between at each position \
    (the perplexity). 96 at the start; a handful after training, because in this world most \
    characters are predictable from what came before.
    """) {
    let model = try model.get()
    let before = try metrics["val_loss_init"] ?? heldOutLoss(try stage.untrained())
    let after = try heldOutLoss(model)
    metrics["val_loss_init"] = before
    metrics["val_loss"] = after
    nb.table(["model", "held-out loss", "perplexity"], [
        ["untrained", fmt(before), fmt(exp(before), 1)],
        ["pretrained", fmt(after), fmt(exp(after), 1)],
    ])
    nb.result("held-out loss", "\(fmt(before)) -> \(fmt(after)) nats/token")
}

nb.step("Samples and temperature", """
    To write, the model samples one character at a time from its predicted distribution and feeds \
    it back in. Temperature rescales the distribution first: below 1 it sharpens it (safer, more \
    repetitive), above 1 it flattens it (more varied, more mistakes). The word rate is the share \
    of generated words that are real words of the toy world (two letters or more).
    """) {
    let model = try model.get()
    var rng = RNG(seed: seed)
    var rows: [[String]] = []
    for temperature: Float in [0.5, 1.0] {
        let outs = try Probes.complete(model, ["<|bos|>", "<|bos|>One day, Tom"], temperature: temperature, maxTokens: 110, rng: &rng)
        let joined = outs.joined(separator: " ")
        let rate = Probes.wordRate(joined, vocabulary: corpusWords)
        if temperature == 1.0 { metrics["word_rate"] = rate }
        for (prompt, out) in zip(["", "One day, Tom"], outs) {
            nb.emit("  T=\(temperature)  \(prompt)\(out.replacingOccurrences(of: "\n", with: "⏎"))")
        }
        rows.append(["\(temperature)", pct(rate)])
    }
    let untrainedText = try Probes.complete(try stage.untrained(), ["<|bos|>"], temperature: 1, maxTokens: 110, rng: &rng)[0]
    rows.insert(["1.0 (untrained)", pct(Probes.wordRate(untrainedText, vocabulary: corpusWords))], at: 0)
    nb.table(["temperature", "real words"], rows)
    nb.result("word rate at T=1", pct(metrics["word_rate"] ?? 0))
}

nb.step("What the model knows", """
    The stories state facts about the world again and again: who owns which pet, where everyone \
    lives. Prediction is easiest if the model stores those facts, so it does. We start each fact \
    sentence and let the model finish it greedily (always the most likely character).
    """) {
    let model = try model.get()
    let (rate, examples) = try Probes.factRecall(model)
    metrics["fact_recall"] = rate
    let shown = examples.filter { $0.2 }.prefix(3) + examples.filter { !$0.2 }.prefix(3)
    nb.table(["prompt", "model's continuation", "right?"], shown.map { ex in
        [ex.0, String(ex.1.prefix(28)).replacingOccurrences(of: "\n", with: "⏎"), ex.2 ? "yes" : "no"]
    })
    nb.say("Completed correctly: \(pct(rate)) of \(examples.count) facts.")
    nb.result("fact recall", pct(rate))
}

nb.step("What it does not do", """
    Ask the base model a question and it does not answer: it has only ever seen stories, so it \
    continues the text as if the question were part of one. Knowing things and following \
    instructions are different skills. Mid-training and supervised fine-tuning (lessons 02 and 03) \
    teach the second one.
    """) {
    let model = try model.get()
    var rng = RNG(seed: seed)
    let question = "What colour is Mia's kite? Answer:"
    let out = try Probes.complete(model, ["<|bos|>" + question], temperature: 0, maxTokens: 70, rng: &rng)[0]
    nb.emit("  prompt:  \(question)")
    nb.emit("  model:   \(out.replacingOccurrences(of: "\n", with: "⏎"))")
}

nb.step("Save the results", """
    The base model is written as a safetensors checkpoint (GUIDE.md explains the format, down to \
    loading it with numpy). Its numbers go into report.json, which every later lesson extends.
    """) {
    let model = try model.get()
    if metrics["val_loss"] == nil { metrics["val_loss"] = try heldOutLoss(model) }
    if metrics["val_loss_init"] == nil { metrics["val_loss_init"] = try heldOutLoss(try stage.untrained()) }
    let written = try stage.save(model, metrics: metrics, log: training?.log, to: nb.run)
    nb.table(["metric", "value"], written.sorted { $0.key < $1.key }.map { [$0.key, fmt($0.value)] })
    nb.produced(nb.run.checkpoint(.base))
    nb.produced(URL(fileURLWithPath: nb.run.path).appendingPathComponent(Report.fileName).path)
}

nb.run()
