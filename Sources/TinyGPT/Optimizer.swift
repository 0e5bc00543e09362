import Kernels

/// AdamW state for one model: the running moments m and v, one float each per parameter.
public final class AdamW {
    public var config: AdamWConfig
    public private(set) var step = 0
    let m: FloatBuffer
    let v: FloatBuffer

    public init(for model: GPT, config: AdamWConfig = AdamWConfig()) {
        self.config = config
        m = FloatBuffer(count: model.parameterCount)
        v = FloatBuffer(count: model.parameterCount)
    }

    /// Applies one update from `model.grads` at learning rate lr.
    /// Weight decay only touches the tensors whose layout says they decay (the matrices).
    public func update(_ model: GPT, lr: Float) {
        step += 1
        for t in model.layout.tensors {
            adamw_update(model.params.ptr + t.offset, model.grads.ptr + t.offset, m.ptr + t.offset, v.ptr + t.offset,
                         N: t.count, lr: lr, step: step, decay: t.decays ? config.weightDecay : 0, config: config)
        }
    }
}

/// A non-finite value in the gradients, named by tensor: training must stop, not save garbage.
public struct NonFiniteError: Error, CustomStringConvertible {
    public let tensor: String
    public let step: Int
    public init(tensor: String, step: Int) { self.tensor = tensor; self.step = step }
    public var description: String {
        "training diverged at step \(step): tensor '\(tensor)' has a NaN or infinite gradient"
    }
}

extension GPT {
    /// The name of the first tensor whose gradient is NaN or infinite, if any.
    public func firstNonFiniteGradient() -> String? {
        for t in layout.tensors {
            let g = grads.ptr + t.offset
            for i in 0..<t.count where !g[i].isFinite { return t.name }
        }
        return nil
    }
}
