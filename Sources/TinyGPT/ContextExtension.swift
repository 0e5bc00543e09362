import Kernels

/// How to fill the position-embedding rows a longer context adds (learned positions only).
///
/// A learned-position model learns one vector per position (`wpe`, [T, C]). A model trained with
/// T = 128 has never seen position 128, so its row does not exist. The choices:
///
///     periodic      row t = row (t mod T): position 130 starts out looking like
///                   position 2. Each new row is one the network knows, but now two
///                   positions share it, so a head that looks "one character back"
///                   by position finds two matches, one far away.
///     interpolated  every row, old ones too, is resampled from the learned table
///                   (row t = old row t/2 at double length, linear in between): the
///                   2T positions are squeezed into the learned range, so nothing is
///                   new, but neighbours now look twice as alike as the model expects,
///                   and positions < T move too, so it changes what the model did.
///     random        fresh N(0, 0.02) rows, like an untrained model's: the new
///                   positions carry a signal the network has never seen.
///
/// Measured on this course's models (lesson02, step 3): right after stretching, the loss
/// past the old end is near chance (ln 96) with periodic or random rows and far lower
/// when interpolated; after mid-training, interpolated is still ahead, and the old
/// positions it moved have recovered. Every position keeps its own vector, in order,
/// and that is what attention needs.
public enum PositionInit: String, CaseIterable, Sendable {
    case periodic, interpolated, random
}

extension GPT {
    /// The same model with a longer context: every weight copied.
    ///
    /// Rotary positions have no table: a position past the old end just turns q and k
    /// by larger angles, and `fill` is ignored. The fast-turning pairs have been through
    /// every angle already; the slow ones have not (with hs = 32, the slower half of the
    /// pairs turns less than a fifth of a circle in 128 positions), and those new angles
    /// are what training at the new length has to teach.
    ///
    /// Learned positions: `wpe` grows from [T, C] to [newBlockSize, C] with rows 0..<T
    /// unchanged and the new rows filled as `fill` says.
    ///
    /// With `.periodic` and `.random`, rows 0..<T are untouched, and because attention is
    /// causal (position t only reads positions 0...t) the new model's logits at positions
    /// < T are exactly the old model's: extending changes nothing the model could
    /// already do, it only adds room. `.interpolated` resamples every row.
    public func extendingContext(to newBlockSize: Int, fill: PositionInit = .periodic, seed: UInt64 = 0) throws -> GPT {
        let T = config.blockSize, C = config.channels
        guard newBlockSize >= T else {
            throw ConfigError(message: "extendingContext: the new context (\(newBlockSize)) is shorter than the current one (\(T))")
        }
        var newConfig = config
        newConfig.blockSize = newBlockSize
        // Only wpe changes shape.
        let extended = try resized(to: newConfig, except: "wpe", caller: "extendingContext")
        let src = params.ptr, dst = extended.params.ptr
        guard let oldOffset = layout.wpe, let newOffset = extended.layout.wpe else { return extended }  // rotary
        let oldWpe = src + oldOffset, newWpe = dst + newOffset
        newWpe.update(from: oldWpe, count: T * C)
        var rng = RNG(seed: seed)
        for t in (fill == .interpolated ? 0 : T)..<newBlockSize {
            let row = newWpe + t * C
            switch fill {
            case .periodic:
                row.update(from: oldWpe + (t % T) * C, count: C)
            case .interpolated:
                // New position t sits at t * (T-1)/(newBlockSize-1) of the old table.
                let x = Float(t) * Float(T - 1) / Float(max(newBlockSize - 1, 1))
                let i = min(Int(x), T - 1), j = min(i + 1, T - 1), f = x - Float(i)
                for c in 0..<C { row[c] = (1 - f) * oldWpe[i * C + c] + f * oldWpe[j * C + c] }
            case .random:
                for c in 0..<C { row[c] = 0.02 * rng.normal() }
            }
        }
        return extended
    }
}
