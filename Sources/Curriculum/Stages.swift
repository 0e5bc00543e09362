import Foundation
import Kernels
import TinyGPT

/// The stages of the curriculum, in order, and where each keeps its checkpoint.
public enum Stage: String, CaseIterable, Sendable {
    case base, mid, instruct, think, dpo, rlvr

    /// The checkpoint file name, numbered by the lesson that writes it.
    public var checkpointFile: String {
        switch self {
        case .base: return "01-base.safetensors"
        case .mid: return "02-mid.safetensors"
        case .instruct: return "03-instruct.safetensors"
        case .think: return "03-think.safetensors"
        case .dpo: return "04-dpo.safetensors"
        case .rlvr: return "05-rlvr.safetensors"
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
        }
    }
}

/// Where a run's checkpoints and report live. Quick runs (`--quick`, the tests) use a
/// `quick/` subfolder, so a tiny quick model never stands in for a full one.
public struct RunDirectory: Sendable {
    public let path: String
    public init(outDir: String, quick: Bool) {
        path = quick ? URL(fileURLWithPath: outDir).appendingPathComponent("quick").path : outDir
    }
    private init(path: String) { self.path = path }

    /// Where a lesson's `--variant NAME` run keeps its checkpoint and report: `variants/NAME`
    /// inside this run, so trying a variant never replaces the model the next lesson builds on.
    public func variant(_ name: String) -> RunDirectory {
        RunDirectory(path: URL(fileURLWithPath: path).appendingPathComponent("variants").appendingPathComponent(name).path)
    }
    public func checkpoint(_ stage: Stage) -> String {
        URL(fileURLWithPath: path).appendingPathComponent(stage.checkpointFile).path
    }
}

/// A checkpoint that exists but does not fit: another vocabulary, or the wrong stage.
public struct StageError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Loads a stage's checkpoint and checks it is what the caller expects.
public func loadStage(_ stage: Stage, from run: RunDirectory, tokenizer: Tokenizer = .standard) throws -> (GPT, CheckpointInfo) {
    let path = run.checkpoint(stage)
    let (model, info) = try Checkpoint.load(path)
    guard info.vocab == tokenizer.pieces else {
        throw StageError(description: "checkpoint \(path): its vocabulary differs from this code's tokenizer; it was written by another version. Move it away and rerun \(stage.lesson).")
    }
    guard info.stage == stage.rawValue else {
        throw StageError(description: "checkpoint \(path): holds stage '\(info.stage)', expected '\(stage.rawValue)'.")
    }
    return (model, info)
}

/// Saves a stage's checkpoint and records its metrics in the report, and its training
/// curves when it was trained in this run (`curves` nil keeps the ones already recorded).
public func saveStage(_ stage: Stage, model: GPT, step: Int, metrics: [String: Double], to run: RunDirectory,
                      curves: Curves? = nil, tokenizer: Tokenizer = .standard) throws {
    let info = CheckpointInfo(stage: stage.rawValue, step: step, vocab: tokenizer.pieces, metrics: metrics)
    try Checkpoint.save(model, info: info, to: run.checkpoint(stage))
    try Report.record(stage: stage.rawValue, metrics: metrics, in: run.path)
    try curves?.save(stage, in: run)
}
