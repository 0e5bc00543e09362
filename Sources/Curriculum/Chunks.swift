extension Array {
    /// The array cut into consecutive pieces of `size` elements (the last may be shorter):
    /// how the stages feed a model a few rows or prompts at a time.
    public func chunks(of size: Int) -> [[Element]] {
        precondition(size > 0, "chunks(of:) needs a positive size")
        return stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
