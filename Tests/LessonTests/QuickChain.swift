import Curriculum
import Kernels
import TinyGPT

/// The quick-mode curriculum, trained once per test run and shared by every lesson suite,
/// so the suite's cost grows with the number of stages, not of tests.
/// Tests take `.copy()` of a model before using it: a forward pass writes the model's
/// activation buffers, and suites run in parallel.
enum QuickChain {
    static let seed: UInt64 = 1337

    /// Stage `base`: quick pretraining from the fixed seed.
    static let base: Result<Pretrain.Result, Error> = Result { try Pretrain.run(quick: true, seed: seed) }

    /// Stage `mid`: quick mid-training from a copy of the quick base model.
    static let mid: Result<Midtrain.Result, Error> = Result {
        try Midtrain.run(base: base.get().model.copy(), quick: true, seed: seed)
    }

    /// Stages `instruct` and `think`: quick SFT, each from its own copy of the quick mid model.
    static let instruct: Result<SFT.Result, Error> = Result { try SFT.run(.instruct, from: mid.get().model.copy(), quick: true, seed: seed) }
    static let think: Result<SFT.Result, Error> = Result { try SFT.run(.think, from: mid.get().model.copy(), quick: true, seed: seed) }

    /// Stage `dpo`: quick preference optimisation from a copy of the quick think model
    /// (another copy is the frozen reference), measured before and after.
    static let dpo: Result<DPO.Result, Error> = Result { try DPO.run(from: think.get().model.copy(), quick: true, seed: seed) }

    /// Stage `rlvr`: quick GRPO from a copy of the quick dpo model (another copy is the
    /// frozen reference), measured before and after.
    static let rlvr: Result<GRPO.Result, Error> = Result { try GRPO.run(from: dpo.get().model.copy(), quick: true, seed: seed) }
}

extension QuickChain {
    /// Stage `tools`: quick tool SFT from a copy of the quick dpo model (two tokens added first).
    static let tools: Result<ToolTraining.Result, Error> = Result {
        try ToolTraining.Stage(quick: true, seed: seed).run(from: dpo.get().model.copy())
    }
}
