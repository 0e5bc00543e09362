import Kernels

/// One tensor's gradient check: the backward pass's numbers next to finite differences.
public struct TensorGradientCheck: Sendable {
    public let tensor: String
    public let indices: [Int]
    public let analytic: [Double]
    public let numeric: [Double]
    public var relativeError: Double { GradientCheck.relativeError(analytic, numeric) }
    public var passed: Bool { relativeError < GradientCheck.tolerance }

    public init(tensor: String, indices: [Int], analytic: [Double], numeric: [Double]) {
        self.tensor = tensor; self.indices = indices; self.analytic = analytic; self.numeric = numeric
    }
}

extension GPT {
    /// Checks the whole model's backward pass against finite differences.
    ///
    /// Runs forward + weighted cross-entropy + backward once to get every gradient,
    /// then, for a few entries of every tensor, nudges the weight by ±h and measures
    /// how the loss Σ weight·loss changes. Leaves the parameters as they were and
    /// `grads` holding the analytic gradient.
    public func gradientCheck(tokens: [Int32], targets: [Int32], weights: [Float], B: Int, T: Int,
                              samplesPerTensor: Int = 12, h: Float = 1e-2) -> [TensorGradientCheck] {
        func loss() -> Double {
            forward(tokens, B: B, T: T)
            let losses = crossEntropy(targets)
            var s = 0.0
            for i in 0..<(B * T) { s += Double(weights[i]) * Double(losses[i]) }
            return s
        }
        zeroGrad()
        forwardBackward(tokens: tokens, targets: targets, weights: weights, B: B, T: T)
        let C = config.channels
        return layout.tensors.map { t in
            var idx = GradientCheck.sample(t.count, count: samplesPerTensor, seed: UInt64(t.offset + 1))
            // Rows of the position table past T are never used: their gradient is 0 either way.
            if t.name == "wpe" { idx = idx.map { $0 % (T * C) } }
            let numeric = idx.map { i -> Double in
                let p = params.ptr + t.offset + i
                let saved = p.pointee
                p.pointee = saved + h
                let plus = loss()
                p.pointee = saved - h
                let minus = loss()
                p.pointee = saved
                return (plus - minus) / (2 * Double(h))
            }
            let analytic = idx.map { Double(grads[t.offset + $0]) }
            return TensorGradientCheck(tensor: t.name, indices: idx, analytic: analytic, numeric: numeric)
        }
    }
}

extension GPT {
    /// Checks any training objective's gradient: `grads` must hold what its backward computed,
    /// and `objective` evaluates it, forward only, at the current parameters. Returns the
    /// relative error over sampled parameters (`GradientCheck.check`) and leaves the
    /// parameters as they were.
    public func objectiveGradientError(h: Float = 1e-2, _ objective: () -> Double) -> Double {
        let analytic = grads.array
        let saved = params.array
        var x = saved
        let n = x.count
        let err = GradientCheck.check(&x, analytic: analytic, h: h) { p in
            p.withUnsafeBufferPointer { params.ptr.update(from: $0.baseAddress!, count: n) }
            return objective()
        }
        saved.withUnsafeBufferPointer { params.ptr.update(from: $0.baseAddress!, count: n) }
        return err
    }
}
