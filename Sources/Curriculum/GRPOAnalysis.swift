import Foundation

/// What lesson05 reads off a GRPO run, as values: sharpening or discovery, the change rung
/// by rung, and a shortcut to watch for.
extension GRPO {
    /// Of the held-out problems greedy decoding got wrong before RL and right after: how many
    /// already had a right reply among the samples before (sharpening: "now and then" became
    /// "every time"), and how many had none (discovery).
    public struct Sharpening: Sendable, Equatable {
        public let newlyRight: Int
        /// Newly right with no right sample, nor a right greedy reply, before.
        public let discovered: Int
        public var sharpened: Int { newlyRight - discovered }
        /// Fewer than a quarter of the newly right problems are discoveries.
        public var mostlySharpening: Bool { discovered * 4 < max(newlyRight, 1) }
    }

    /// Compares the same problems measured before and after, in the same order.
    public static func sharpening(before: Measurement, after: Measurement) -> Sharpening {
        let rightAfter = zip(before.graded, after.graded).filter { $0.1.greedyCorrect }
        return Sharpening(newlyRight: rightAfter.filter { !$0.0.greedyCorrect }.count,
                          discovered: rightAfter.filter { !($0.0.correctSamples > 0 || $0.0.greedyCorrect) }.count)
    }

    /// One rung before and after: greedy pass@1, and pass@8 where it was measured (the target rungs).
    public struct RungChange: Sendable, Equatable {
        public let cell: RLData.Cell
        /// A target rung: one with room, where RL's gain is measured.
        public let room: Bool
        public let pass1: (before: Double, after: Double)
        public let pass8: (before: Double, after: Double)?

        public static func == (a: RungChange, b: RungChange) -> Bool {
            a.cell == b.cell && a.room == b.room && a.pass1 == b.pass1 && a.pass8?.before == b.pass8?.before
                && a.pass8?.after == b.pass8?.after
        }
    }

    /// The target rungs (from `before`/`after`), then the others (from the greedy-only
    /// `othersBefore`/`othersAfter`), each rung's change.
    public static func rungChanges(target: [RLData.Cell], others: [RLData.Cell], before: Measurement, after: Measurement,
                                   othersBefore: Measurement, othersAfter: Measurement) -> [RungChange] {
        target.map { c in
            let x = before.cell(c), y = after.cell(c)
            return RungChange(cell: c, room: true, pass1: (x.pass1, y.pass1), pass8: (x.pass(at: 8), y.pass(at: 8)))
        } + others.map { c in
            RungChange(cell: c, room: false, pass1: (othersBefore.cell(c).pass1, othersAfter.cell(c).pass1), pass8: nil)
        }
    }

    /// The rungs without room whose greedy pass@1 fell by `drop` or more: what RL cost elsewhere,
    /// which an average over the other rungs hides.
    public static func fell(_ changes: [RungChange], by drop: Double = 0.1) -> [RungChange] {
        changes.filter { !$0.room && $0.pass1.after <= $0.pass1.before - drop }
    }

    /// Greedy replies whose final answer is 0 where the right answer is not: a rule that is not
    /// arithmetic, which a mix of prompts where 0 is often right can reward.
    public static func wrongZeros(_ m: Measurement) -> Int {
        m.graded.filter { $0.problem.answer != 0 && Verifier.finalInteger($0.greedy.reply) == 0 }.count
    }

    /// lesson05's targets, each a claim and whether the run meets it. The gain must clear the
    /// course's noise rule (`Noise`) with a 15-point floor, on the target rungs' held-out problems.
    public static func targets(start s: Start, end e: End) -> [(claim: String, met: Bool)] {
        let b = s.before, a = e.after, n = b.graded.count
        let need = Noise.margin(b.pass1, a.pass1, n: n, floor: 0.15)
        let pass8Noise = Noise.standardErrors * Noise.standardError(b.pass(at: 8), a.pass(at: 8), n: n)
        return [
            ("pass@1 up by 15 points and 3 standard errors (> +\(fmt(100 * need, 1)) points)", a.pass1 - b.pass1 > need),
            ("pass@8 not lower (beyond \(fmt(100 * pass8Noise, 1)) points of noise)", b.pass(at: 8) - a.pass(at: 8) <= pass8Noise),
            ("KL to the reference bounded (< 1 nat per token)", e.kl < 1),
            ("mean reply length between half and twice the start's", a.meanLength >= 0.5 * b.meanLength && a.meanLength <= 2 * b.meanLength),
            ("the other rungs lose at most 5 points (\(pct(s.others.pass1)) -> \(pct(e.others.pass1)))",
             s.others.pass1 - e.others.pass1 <= 0.05),
        ]
    }
}

/// What lesson05 reads off the difficulty filter.
extension GRPO.Edge {
    /// Prompts probed, and how many of them are at the edge (some samples right, not all).
    public var probedCount: Int { cells.map(\.probed).reduce(0, +) }
    public var edgeCount: Int { cells.map(\.edge).reduce(0, +) }
    /// Rungs where every probed prompt was right in every sample: nothing to add there.
    public var alwaysRight: [RLData.Cell] { cells.filter { $0.always == $0.probed }.map(\.cell) }
    /// Rungs where no probed prompt had a right sample: no right reply to reinforce.
    public var neverRight: [RLData.Cell] { cells.filter { $0.never == $0.probed }.map(\.cell) }

    /// The three kinds of group, by their rewards: only the last teaches anything.
    public enum Kind: String, CaseIterable, Sendable {
        case allRight = "all right", allWrong = "all wrong", atEdge = "at the edge"
    }

    /// The first probed group of a kind, if the probe found one.
    public func example(_ kind: Kind) -> GRPO.Group? {
        groups.first { g in
            switch kind {
            case .allRight: return g.allEqual && g.meanReward > 0
            case .allWrong: return g.allEqual && g.meanReward == 0
            case .atEdge: return !g.allEqual
            }
        }
    }
}
