import Foundation
import Kernels
import Notebook
import TinyGPT

/// The stages of the curriculum, in order, and where each keeps its checkpoint.
public enum Stage: String, CaseIterable, Sendable {
    case base, mid, instruct, think, dpo, rlvr, tools

    /// The checkpoint file name, numbered by the lesson that writes it.
    public var checkpointFile: String {
        switch self {
        case .base: return "01-base.safetensors"
        case .mid: return "02-mid.safetensors"
        case .instruct: return "03-instruct.safetensors"
        case .think: return "03-think.safetensors"
        case .dpo: return "04-dpo.safetensors"
        case .rlvr: return "05-rlvr.safetensors"
        case .tools: return "08-tools.safetensors"
        }
    }

    /// The lesson that produces this stage.
    public var lesson: String {
        switch self {
        case .base: return "lesson01-pretrain"
        case .mid: return "lesson02-midtrain"
        case .instruct, .think: return "lesson03-sft"
        case .dpo: return "lesson04-dpo"
        case .rlvr: return "lesson05-rlvr"
        case .tools: return "lesson08-tools"
        }
    }

    /// The vocabulary the stage's model reads and writes: the standard 96 pieces, and for
    /// `tools` the two tool specials as well.
    public var tokenizer: Tokenizer { self == .tools ? .withTools : .standard }

    /// The model shape the course's recipe gives this stage: the pretraining config, with
    /// the context mid-training doubles for every stage from `mid` on.
    public func modelConfig(quick: Bool) -> GPTConfig {
        var config = Pretrain.recipe(quick: quick, seed: 0).model
        if self != .base { config.blockSize = Midtrain.recipe(quick: quick, seed: 0).contextLength }
        config.vocabSize = tokenizer.vocabSize
        return config
    }
}

/// Where a run's checkpoints and report live. Quick runs (`--quick`, the tests) use a
/// `quick/` subfolder, so a tiny quick model never stands in for a full one.
public struct RunDirectory: Sendable {
    public let path: String
    /// Whether the checkpoints here follow the quick recipe (the tiny model) or the full one.
    public let quick: Bool
    public init(outDir: String, quick: Bool) {
        path = quick ? URL(fileURLWithPath: outDir).appendingPathComponent("quick").path : outDir
        self.quick = quick
    }
    private init(path: String, quick: Bool) { self.path = path; self.quick = quick }

    /// Where a lesson's `--variant NAME` run keeps its checkpoint and report: `variants/NAME`
    /// inside this run, so trying a variant never replaces the model the next lesson builds on.
    public func variant(_ name: String) -> RunDirectory {
        RunDirectory(path: URL(fileURLWithPath: path).appendingPathComponent("variants").appendingPathComponent(name).path, quick: quick)
    }
    public func checkpoint(_ stage: Stage) -> String {
        URL(fileURLWithPath: path).appendingPathComponent(stage.checkpointFile).path
    }
}

extension RunDirectory {
    /// What a lesson checks of its run folder before it computes anything, and again before
    /// it saves: the folder can be written (it is not a file, not read-only), its report.json
    /// can be read (it is updated at the end), and no other program is writing here. Then
    /// this program holds the folder, and leftovers of interrupted saves are removed. A folder
    /// that does not exist yet is left uncreated until the first save (`saving`), so a lesson
    /// stopped by bad data writes nothing.
    public func prepare(saving: Bool = false) throws {
        try checkWritableFolder(path)
        _ = try Report.load(from: path)
        guard saving || FileManager.default.fileExists(atPath: path) else { return }
        try FileLock.holdUntilExit(URL(fileURLWithPath: path).appendingPathComponent(".lock").path, purpose: "run folder \(path)")
        Checkpoint.removeInterruptedSaves(in: path)
    }
}

/// A checkpoint that exists but does not fit: another vocabulary, the wrong stage, or
/// another recipe's model size.
public struct StageError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Loads a stage's checkpoint and checks it is what the caller expects: this code's
/// vocabulary, the stage asked for, and the model shape of the run's recipe (a quick model
/// copied into a full-size folder would otherwise be fed windows longer than its context).
public func loadStage(_ stage: Stage, from run: RunDirectory) throws -> (GPT, CheckpointInfo) {
    let path = run.checkpoint(stage), tokenizer = stage.tokenizer
    let (model, info) = try Checkpoint.load(path)
    let rerun = "rerun \(stage.lesson)\(run.quick ? " --quick" : "")"
    guard info.vocab == tokenizer.pieces else {
        throw StageError(description: "checkpoint \(path): its vocabulary differs from this code's tokenizer; it was written by another version. Move it away and \(rerun).")
    }
    guard info.stage == stage.rawValue else {
        throw StageError(description: "checkpoint \(path): holds stage '\(info.stage)', expected '\(stage.rawValue)'. Move it away and \(rerun).")
    }
    let expected = stage.modelConfig(quick: run.quick)
    guard model.config == expected else {
        let origin = model.config != stage.modelConfig(quick: !run.quick) ? "it was written by another recipe or version"
            : run.quick ? "it is a full-size model, whose place is the --out folder itself, not its quick/ subfolder"
            : "it is a --quick model, whose place is the quick/ subfolder of the --out folder (run with --quick)"
        throw StageError(description: "checkpoint \(path): holds a model with \(model.config), but this \(run.quick ? "--quick" : "full-size") run's \(stage.rawValue) model is \(expected); \(origin). Use another --out folder, or move the file away and \(rerun).")
    }
    return (model, info)
}

/// Saves a stage's checkpoint and records its metrics in the report, and its training
/// curves when it was trained in this run (`curves` nil keeps the ones already recorded).
public func saveStage(_ stage: Stage, model: GPT, step: Int, metrics: [String: Double], to run: RunDirectory,
                      curves: Curves? = nil) throws {
    let info = CheckpointInfo(stage: stage.rawValue, step: step, vocab: stage.tokenizer.pieces, metrics: metrics)
    try run.prepare(saving: true)
    try Checkpoint.save(model, info: info, to: run.checkpoint(stage))
    try Report.record(stage: stage.rawValue, metrics: metrics, in: run.path)
    try curves?.save(stage, in: run)
}
