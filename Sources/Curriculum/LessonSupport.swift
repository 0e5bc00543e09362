import Foundation
import Notebook
import TinyGPT

/// The glue every lesson shares between the training code and the notebook's output.
extension Notebook {
    /// Where this run keeps checkpoints and report.json (`--out`, plus `quick/` with `--quick`).
    public var run: RunDirectory { RunDirectory(outDir: options.outDir, quick: options.quick) }

    /// Checks the run folders a lesson saves into before its first step (see
    /// `RunDirectory.prepare`), so a bad one stops it before any work is done.
    public func checkRunFolders(_ runs: [RunDirectory]) {
        checks.append { for run in runs { try run.prepare() } }
    }

    /// A progress bar fed by a training loop: loss, held-out loss when measured, tokens/s.
    /// A closure passed down a chain of prerequisites (train base, then mid, ...) sees
    /// several runs; each new run (its step count restarts) gets a bar of its own.
    public func trainingProgress(label: String) -> (TrainProgress) -> Void {
        var bar: ProgressBar?
        var lastStep = 0
        var runs = 0
        var lastEval: Double?
        return { p in
            if bar == nil || p.step <= lastStep || p.steps != bar?.total {
                bar?.finish()
                runs += 1
                lastEval = nil
                bar = self.progress(total: p.steps, label: runs == 1 ? label : "\(label) (\(runs))")
            }
            lastStep = p.step
            if let e = p.evalLoss { lastEval = e }
            var metrics: [(String, Double)] = [("loss", p.loss)]
            if let e = lastEval { metrics.append(("held-out", e)) }
            metrics.append(("tok/s", p.tokensPerSecond.rounded()))
            bar?.update(p.step, metrics: metrics)
            if p.step == p.steps { bar?.finish() }
        }
    }

    /// The training curve (smoothed over ~20 steps so the trend shows through the noise)
    /// next to the held-out curve (drawn at the same x scale: one point per step).
    public func lossChart(_ log: TrainLog, title: String = "loss (nats per token) by training step") {
        let window = max(1, log.trainLoss.count / 30)
        var smooth: [Double] = []
        var acc = 0.0
        for (i, v) in log.trainLoss.enumerated() {
            acc += v
            if i >= window { acc -= log.trainLoss[i - window] }
            smooth.append(acc / Double(min(i + 1, window)))
        }
        // Held-out loss is measured every few steps; hold each value until the next.
        var held: [Double] = []
        var k = 0
        for step in 1...max(1, log.trainLoss.count) {
            while k + 1 < log.evalLoss.count && log.evalLoss[k + 1].step <= step { k += 1 }
            held.append(log.evalLoss.isEmpty ? .nan : log.evalLoss[k].loss)
        }
        chart(title: title, series: [("train (smoothed)", smooth), ("held-out", held)], xLabel: "steps")
    }

    /// A conversation drawn token by token, with the loss mask underneath: `^` under every
    /// token the model is trained to produce, `·` under the rest. Wrapped to the terminal.
    public func tokenStrip(_ r: ChatTemplate.Rendered, tokenizer: Tokenizer = .standard) {
        var top = "", bottom = ""
        for (id, trained) in zip(r.tokens, r.trained) {
            let p = tokenPiece(id, tokenizer: tokenizer)
            if top.count + p.count > width - 6 {
                emit("    " + top)
                emit("    " + bottom)
                top = ""; bottom = ""
            }
            top += p
            bottom += String(repeating: trained ? "^" : "·", count: p.count)
        }
        emit("    " + top)
        emit("    " + bottom)
    }
}

/// A token as token strips draw it: a special as its short name in brackets ("[user]"),
/// one id however many letters its name has; a space as ␣ and a newline as ⏎.
public func tokenPiece(_ id: Int, tokenizer: Tokenizer = .standard) -> String {
    if tokenizer.isSpecial(id), let s = Tokenizer.Special(rawValue: id) {
        switch s {
        case .bos: return "[bos]"
        case .user: return "[user]"
        case .assistant: return "[assistant]"
        case .end: return "[end]"
        case .thinkStart: return "[think]"
        case .thinkEnd: return "[/think]"
        case .pad: return "[pad]"
        case .call: return "[call]"
        case .result: return "[result]"
        }
    }
    let p = tokenizer.decode([id])
    return p == " " ? "␣" : p == "\n" ? "⏎" : p
}

/// Numbers printed the same way in every lesson.
public func fmt(_ x: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", x) }
public func pct(_ x: Double) -> String { String(format: "%.0f%%", 100 * x) }
