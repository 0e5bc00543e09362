import Foundation
import Kernels
import TinyGPT

/// Where RL can learn: the difficulty filter that probes the starting model on every rung
/// of the RL ladders before training, and the plan it implies (what to train on, what to
/// measure). A prompt the model always or never solves gives a group of equal rewards,
/// advantage 0 for every reply: it costs sampling and teaches nothing.
extension GRPO {
    /// What the difficulty filter found on one rung: of its probed prompts, how many the
    /// starting model got right in all G samples, in none, and in some (the edge).
    public struct CellEdge: Sendable {
        public let cell: RLData.Cell
        public var always = 0
        public var never = 0
        public var edge = 0
        /// Of the edge prompts, those whose greedy reply is wrong: a sample shows RL a right
        /// reply to reinforce, and greedy pass@1 can rise there.
        public var room = 0
        /// Right samples, out of probed × G.
        public var rightSamples = 0
        public var probed: Int { always + never + edge }
        public var roomShare: Double { probed == 0 ? 0 : Double(room) / Double(probed) }

        public init(cell: RLData.Cell) { self.cell = cell }
    }

    /// The difficulty filter's result: every rung's counts, the rungs whose pass@1 RL aims
    /// to raise, and the training prompts (every edge prompt).
    public struct Edge: Sendable {
        /// Every probed rung, in ladder order.
        public let cells: [CellEdge]
        /// The rungs with room: RL's gain is measured on their held-out problems.
        public let target: [RLData.Cell]
        /// The training prompts: every probed prompt with some but not all samples right. Those
        /// of the other rungs keep RL from trading what the model does for what it learns.
        public let prompts: [RLData.Problem]
        /// The probe's groups, every one (for showing examples).
        public let groups: [Group]
        /// For each group: was the starting model's greedy reply right?
        public let greedyRight: [Bool]
        public let groupSize: Int
        /// What the probe cost: replies and reply tokens sampled, and seconds.
        public let replies: Int
        public let tokens: Int
        public let seconds: Double

        public init(cells: [CellEdge], target: [RLData.Cell], prompts: [RLData.Problem], groups: [Group], greedyRight: [Bool],
                    groupSize: Int, replies: Int, tokens: Int, seconds: Double) {
            self.cells = cells; self.target = target; self.prompts = prompts; self.groups = groups; self.greedyRight = greedyRight
            self.groupSize = groupSize; self.replies = replies; self.tokens = tokens; self.seconds = seconds
        }

        /// The other rungs: RL must not lose what the model does there.
        public var others: [RLData.Cell] { cells.map(\.cell).filter { !target.contains($0) } }
        /// The edge prompts with room (greedy wrong, some sample right), from every rung: where
        /// pass@1 can rise. The rest of the edge prompts, greedy right, anchor what the model
        /// already does.
        public var targetPrompts: [RLData.Problem] { zip(groups, greedyRight).filter { !$0.0.allEqual && !$0.1 }.map(\.0.problem) }
        public var anchorPrompts: [RLData.Problem] { zip(groups, greedyRight).filter { !$0.0.allEqual && $0.1 }.map(\.0.problem) }
    }

    /// Which rungs RL can learn on: G samples (the training temperature) for each of the
    /// first `probePerCell` training prompts of every rung, from the starting model. A prompt
    /// whose samples are all right or all wrong gives every reply A = 0: it costs sampling and
    /// teaches nothing, so only the prompts in between are kept, from every rung. The greedy
    /// reply of each is decoded too: an edge prompt whose greedy reply is wrong has room, the
    /// gap between pass@1 and pass@G. A rung is a target if at least `minRoomShare` of its
    /// prompts have room (if none has, the rungs with at least half the best rung's share): a
    /// rung answered right nearly every time has edge prompts too, but little pass@1 to gain;
    /// its edge prompts are trained on so that RL does not lose it.
    /// The held-out prompts of the target rungs are then measured whole, never filtered
    /// one by one on the model's answers: that would show a gain by regression to the mean.
    public static func findEdge(_ model: GPT, _ prompts: [RLData.Problem], settings: Settings,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> Edge {
        let start = Date()
        let pool = RLData.Cell.all.flatMap { c in prompts.filter { $0.cell == c }.prefix(settings.probePerCell) }
        var rng = RNG(seed: settings.seed &+ 11)
        let sampling = settings.sampling
        var groups: [Group] = [], greedyRight: [Bool] = []
        for chunk in pool.chunks(of: 16) {
            groups += try sampleGroups(model, chunk, sampling: sampling, rng: &rng)
            greedyRight += try sampleGroups(model, chunk, sampling: sampling.greedy, rng: &rng).map { $0.samples[0].reward > 0 }
            progress(groups.count, pool.count)
        }
        var counts = Dictionary(uniqueKeysWithValues: RLData.Cell.all.map { ($0, CellEdge(cell: $0)) })
        for (g, greedyOK) in zip(groups, greedyRight) {
            // "Right" is the training reward's say (the verifier's, unless a run changes it).
            let right = g.samples.filter { $0.reward > 0 }.count
            if !g.allEqual { counts[g.problem.cell]?.edge += 1 }
            else if right > 0 { counts[g.problem.cell]?.always += 1 }
            else { counts[g.problem.cell]?.never += 1 }
            if !g.allEqual && !greedyOK { counts[g.problem.cell]?.room += 1 }
            counts[g.problem.cell]?.rightSamples += right
        }
        let cells = RLData.Cell.all.compactMap { counts[$0] }.filter { $0.probed > 0 }
        // If no rung reaches the share, the densest ones: at least half the best rung's share.
        let best = cells.map(\.roomShare).max() ?? 0
        let share = best >= settings.minRoomShare ? settings.minRoomShare : best / 2
        let target = cells.filter { $0.room > 0 && $0.roomShare >= share }.map(\.cell)
        let kept = groups.filter { !$0.allEqual }.map(\.problem)
        let samples = groups.flatMap(\.samples)
        return Edge(cells: cells, target: target, prompts: kept, groups: groups, greedyRight: greedyRight, groupSize: settings.groupSize,
                    replies: samples.count, tokens: samples.map(\.length).reduce(0, +), seconds: Date().timeIntervalSince(start))
    }

    // MARK: the plan

    /// What RL will train and be measured on, chosen from the starting model: the filter's
    /// result, and the held-out problems of the target rungs and of the others.
    public struct Plan: Sendable {
        public let edge: Edge
        public let heldOut: [RLData.Problem]
        public let others: [RLData.Problem]
    }
}
