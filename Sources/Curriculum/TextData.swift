import Kernels

/// One training or evaluation batch for next-token prediction.
///
/// inputs[b, t] is a token; targets[b, t] is the token that follows it (or -1: no
/// target); weights[b, t] is how much that position's loss counts (GUIDE.md, "Where things are":
/// every stage of the course is a different choice of these weights).
public struct Batch: Sendable {
    public var inputs: [Int32]
    public var targets: [Int32]
    public var weights: [Float]
    public let B: Int
    public let T: Int

    /// Weights 1/(number of real targets): the loss is the mean over real targets.
    public init(inputs: [Int32], targets: [Int32], B: Int, T: Int) {
        self.inputs = inputs
        self.targets = targets
        self.B = B
        self.T = T
        let counted = targets.filter { $0 >= 0 }.count
        let w = counted > 0 ? 1 / Float(counted) : 0
        weights = targets.map { $0 >= 0 ? w : 0 }
    }

    public var targetCount: Int { targets.filter { $0 >= 0 }.count }
}

/// A corpus as one long stream of token ids, each document starting with <|bos|>.
///
/// Pretraining cuts random windows of T+1 tokens out of the stream: the first T are
/// the inputs, the last T (shifted by one) the targets. A window may cross from one
/// document into the next; the <|bos|> token tells the model a new one starts.
public struct TokenStream: Sendable {
    public let tokens: [Int32]
    public let documents: Int

    public init(documents: [String], tokenizer: Tokenizer) throws {
        var ids: [Int32] = []
        let bos = Int32(tokenizer.id(.bos))
        for doc in documents {
            ids.append(bos)
            ids.append(contentsOf: try tokenizer.encode(doc + "\n").map(Int32.init))
        }
        tokens = ids
        self.documents = documents.count
    }

    /// B windows at random offsets.
    public func randomBatch(B: Int, T: Int, rng: inout RNG) -> Batch {
        var inputs = [Int32](repeating: 0, count: B * T), targets = inputs
        for b in 0..<B {
            let start = rng.int(below: tokens.count - T - 1)
            for t in 0..<T {
                inputs[b * T + t] = tokens[start + t]
                targets[b * T + t] = tokens[start + t + 1]
            }
        }
        return Batch(inputs: inputs, targets: targets, B: B, T: T)
    }

    /// Non-overlapping windows from the start of the stream, the same every time:
    /// the fixed yardstick for held-out loss.
    public func evaluationBatches(B: Int, T: Int, maxBatches: Int) -> [Batch] {
        var batches: [Batch] = []
        var start = 0
        while batches.count < maxBatches && start + B * T + 1 <= tokens.count {
            var inputs = [Int32](repeating: 0, count: B * T), targets = inputs
            for b in 0..<B {
                for t in 0..<T {
                    inputs[b * T + t] = tokens[start + b * T + t]
                    targets[b * T + t] = tokens[start + b * T + t + 1]
                }
            }
            batches.append(Batch(inputs: inputs, targets: targets, B: B, T: T))
            start += B * T
        }
        return batches
    }
}
