// lesson00-transformer: from token ids to logits and back, on one sentence.
//
//     swift run lesson00-transformer           # well under a minute
//     swift run lesson00-transformer --quick
import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let nb = Notebook(
    name: "lesson00-transformer",
    title: "The transformer: from token ids to logits and back",
    intro: """
    Before training anything for real, we take the model apart on one short text. Text becomes \
    numbers, numbers flow forward through embeddings, attention and an MLP to become a score for \
    every possible next token, and the backward pass says how to change each weight to make the \
    right token more likely. We check that backward pass against brute force, then use it to make \
    the model memorise our text.
    """,
    next: "swift run lesson01-pretrain")

let tokenizer = Tokenizer.standard
let seed = nb.options.seed
let text = "Mia has a dog called Rex. Rex likes the lake."
let config = GPTConfig.tiny(vocabSize: tokenizer.vocabSize)
let ids: [Int] = (try? tokenizer.encode(text)) ?? []
let T = ids.count - 1  // inputs: all but the last character; targets: all but the first
let inputs = ids.dropLast().map(Int32.init)
let targets = ids.dropFirst().map(Int32.init)

/// The lesson's one model (random weights from the seed), made on first use so `--step N` works alone.
let model = Memo { try GPT(config: config, seed: seed) }

/// Head 0 of layer 0, as rows of the heatmap: query position -> weights on earlier positions.
func attentionMap(_ model: GPT) -> [[Double]] {
    model.forward(inputs, B: 1, T: T)
    let att = model.attention(layer: 0)
    return (0..<T).map { t in (0..<T).map { Double(att[t * T + $0]) } }
}
let labels = Array(text.dropLast()).map { $0 == " " ? "␣" : String($0) }

nb.step("Text becomes token ids", """
    The model only sees integers. Our tokenizer is the simplest one: one token per character, \
    plus a few special tokens used by later lessons. "\(text)" becomes \(ids.count) ids.
    """) {
    let shown = min(12, ids.count)
    nb.table(["char"] + labels.prefix(shown), [["id"] + ids.prefix(shown).map(String.init)])
    nb.say("Vocabulary: \(tokenizer.vocabSize) tokens. Ids 0-6 are special (\(tokenizer.pieces[0..<7].joined(separator: " "))); the rest are characters. Decoding the ids gives back: \"\(tokenizer.decode(ids))\"")
}

nb.step("Embeddings, and how the model knows the order", """
    The first layer is a lookup table: row i of the token embedding wte [V=\(config.vocabSize), \
    C=\(config.channels)] is the vector for token i. At the start it holds small random numbers; \
    training will move them. Attention by itself does not know the order of tokens, so position \
    has to enter somewhere. GPT-2 adds a learned vector per position. This model uses rotary \
    positions (RoPE, Sources/Kernels/Rope.swift): inside attention, each head's query and key are \
    turned by angles that grow with the position. Then the score of a query and a key depends on \
    how far apart the two tokens are, not on where they sit. Below, one query and one key are \
    placed at pairs of positions: three apart, the score is the same wherever the pair is.
    """) {
    let model = try model.get()
    let C = config.channels
    nb.table(["vector", "first 5 of \(C) numbers"], [
        ["wte['M'] (id \(ids[0]))", (0..<5).map { String(format: "%+.3f", model.params[model.layout.wte + ids[0] * C + $0]) }
            .joined(separator: " ") + " ..."],
    ])
    // One head: a qkv row is [q | k | v], each hs numbers; turn copies of it to two positions.
    let hs = config.headSize
    var rng = RNG(seed: 7)
    let row = (0..<(3 * hs)).map { _ in rng.normal() }
    let tables = RopeTables(T: config.blockSize, headSize: hs)
    func score(query t: Int, key s: Int) -> Float {
        var atQ = row, atK = row
        atQ.withUnsafeMutableBufferPointer { rope_forward_row($0.baseAddress!, tables, position: t, C: hs, H: 1) }
        atK.withUnsafeMutableBufferPointer { rope_forward_row($0.baseAddress!, tables, position: s, C: hs, H: 1) }
        return (0..<hs).reduce(Float(0)) { $0 + atQ[$1] * atK[hs + $1] }
    }
    let last = config.blockSize - 1  // the furthest position this model reads
    let pairs = [(3, 0), (20, 17), (last, last - 3), (3, 3), (20, 0)]
    nb.table(["query at", "key at", "distance", "score q·k"], pairs.map { t, s in
        ["\(t)", "\(s)", "\(t - s)", String(format: "%+.4f", score(query: t, key: s))]
    })
    nb.say("The model has \(model.parameterCount) parameters in one allocation, none of them for positions; GUIDE.md lists every tensor's name and shape.")
}

nb.step("One forward pass: logits, probabilities and the loss", """
    The forward pass turns the \(T) input ids into \(T) rows of \(config.vocabSize) logits: a score \
    for every possible next character at every position. Softmax turns scores into probabilities. \
    The loss at a position is -log(probability of the true next character). An untrained model \
    spreads its probability almost evenly, so its loss is close to ln \(config.vocabSize) = \
    \(fmt(log(Double(config.vocabSize)))): it is guessing.
    """) {
    let model = try model.get()
    model.forward(inputs, B: 1, T: T)
    let losses = model.crossEntropy(targets)
    let mean = losses.reduce(0, +) / Float(T)
    let V = config.vocabSize
    let t = 6  // after "Mia has"
    let probs = (0..<V).map { (id: $0, p: model.probs[t * V + $0]) }.sorted { $0.p > $1.p }.prefix(5)
    nb.say("After \"\(String(text.prefix(t + 1)))\", the five most likely next tokens:")
    nb.table(["token", "probability"], probs.map { ["'\(tokenizer.pieces[$0.id])'", String(format: "%.4f", $0.p)] })
    nb.table(["mean loss", "ln V"], [[fmt(Double(mean)), fmt(log(Double(V)))]])
    nb.result("untrained loss", "\(fmt(Double(mean))) (ln \(V) = \(fmt(log(Double(V)))))")
}

nb.step("Attention: which earlier characters each position looks at", """
    In each attention head, every position sends a query, every earlier position offers a key, and \
    the softmax of their dot products says how much of each earlier position's value to take. The \
    mask forbids looking ahead: the upper triangle is always empty. Untrained, the weights are \
    nearly uniform over the past, so each row fades as it gets longer. Rows: the position asking; \
    columns: the positions it reads. Denser characters mean more weight (scale below the map).
    """) {
    let model = try model.get()
    nb.heatmap(title: "layer 0, head 0, untrained", values: attentionMap(model), rowLabels: labels, colLabels: labels, range: 0...1)
}

nb.step("Backward pass, checked by brute force", """
    The backward pass computes, for each of the \(ParameterLayout(config).count) \
    weights, how the loss changes if that weight moves a little: the gradient. It is easy to get \
    wrong, so we check it. For a few weights of every tensor, nudge the weight up and down by \
    h = 0.01, rerun the forward pass, and measure (loss(w+h) - loss(w-h)) / 2h. If the backward \
    pass is right, the two agree to well under 1%. (We use the summed loss and slightly larger \
    random weights here so each gradient stands well above float rounding.)
    """) {
    let check = try GPT(config: config, seed: seed + 1)
    var rng = RNG(seed: seed)
    for i in 0..<check.parameterCount { check.params[i] += 0.1 * rng.normal() }
    let results = check.gradientCheck(tokens: inputs, targets: targets, weights: [Float](repeating: 1, count: T), B: 1, T: T,
                                      samplesPerTensor: 6)
    let shown = results.filter { $0.tensor.hasPrefix("h.0") || !$0.tensor.hasPrefix("h.") }
    nb.table(["tensor", "backward", "finite diff.", "rel. error", "ok"], shown.map { r in
        [r.tensor, String(format: "%+.5f", r.analytic[0]), String(format: "%+.5f", r.numeric[0]),
         String(format: "%.1e", r.relativeError), r.passed ? "yes" : "NO"]
    })
    let worst = results.map(\.relativeError).max() ?? 0
    let allPassed = results.allSatisfy(\.passed)
    nb.say("\(results.count) tensors checked (layer 1 looks the same), worst relative error \(String(format: "%.1e", worst)): \(allPassed ? "the backward pass is right." : "SOMETHING IS WRONG.")")
    nb.result("gradient check", "\(allPassed ? "passed" : "FAILED"), worst relative error \(String(format: "%.1e", worst))")
    if !allPassed { throw StageError(description: "gradient check failed: the backward pass disagrees with finite differences") }
}

nb.step("Overfit one batch", """
    Now use the gradient: repeat forward, backward and a small AdamW step on this one sentence. \
    With nothing else to learn, the model memorises it and the loss heads to zero. This is the \
    standard first test of any training code: if a model cannot overfit one batch, something is \
    broken. (Memorising is not learning; lesson01 trains on real data and measures on text the \
    model has never seen.)
    """) {
    let model = try model.get()
    let steps = nb.options.quick ? 150 : 300
    let optimizer = AdamW(for: model, config: AdamWConfig(weightDecay: 0))
    let batch = Batch(inputs: inputs, targets: targets, B: 1, T: T)
    let bar = nb.progress(total: steps, label: "overfitting")
    var losses: [Double] = []
    for step in 0..<steps {
        let loss = try trainStep(model, optimizer, batch, lr: 3e-3, clipNorm: 1, step: step + 1)
        losses.append(loss)
        bar.update(step + 1, metrics: [("loss", loss)])
    }
    bar.finish()
    nb.chart(title: "loss on the one sentence", series: [("loss", losses)], xLabel: "steps")
    var r = RNG(seed: seed)
    let recalled = try Probes.complete(model, ["Mia"], temperature: 0, maxTokens: ids.count - 3, rng: &r)[0]
    nb.say("Loss \(fmt(losses[0])) -> \(fmt(losses.last ?? 0, 5)). Greedy completion of \"Mia\": \"Mia\(recalled)\"")
    nb.heatmap(title: "layer 0, head 0, after overfitting", values: attentionMap(model), rowLabels: labels, colLabels: labels, range: 0...1)
    nb.say("After training the heads no longer spread evenly: each position picks the few earlier characters that help predict the next one.")
    nb.result("overfit loss", "\(fmt(losses[0])) -> \(fmt(losses.last ?? 0, 5))")
}

nb.run()
