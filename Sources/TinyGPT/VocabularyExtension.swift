import Kernels

extension GPT {
    /// The same model with a larger vocabulary: every weight copied, `wte` grown from [V, C]
    /// to [newVocabSize, C].
    ///
    /// This is how a trained model learns new special tokens (lesson08's <|call|> and
    /// <|result|>): the embedding table gains rows and fine-tuning teaches them. A new row
    /// starts at the mean of the old rows, so the new token looks like an average token
    /// rather than a random direction the network has never seen. Because the output layer
    /// is `wte` itself (weight tying), the new rows are also the new tokens' output vectors:
    /// each starts with the logit an average token would get, and the old tokens' logits are
    /// exactly what they were (only the softmax now shares probability with two more ids).
    public func growingVocabulary(to newVocabSize: Int) throws -> GPT {
        let V = config.vocabSize, C = config.channels
        guard newVocabSize >= V else {
            throw ConfigError(message: "growingVocabulary: the new vocabulary (\(newVocabSize)) is smaller than the current one (\(V))")
        }
        var newConfig = config
        newConfig.vocabSize = newVocabSize
        // Only wte changes shape.
        let grown = try resized(to: newConfig, except: "wte", caller: "growingVocabulary")
        let src = params.ptr, dst = grown.params.ptr
        let oldWte = src + layout.wte, newWte = dst + grown.layout.wte
        newWte.update(from: oldWte, count: V * C)
        // The mean row, summed in Double so the result does not depend on V's order of magnitude.
        var mean = [Double](repeating: 0, count: C)
        for v in 0..<V { for c in 0..<C { mean[c] += Double(oldWte[v * C + c]) } }
        for v in V..<newVocabSize { for c in 0..<C { newWte[v * C + c] = Float(mean[c] / Double(V)) } }
        return grown
    }
}
