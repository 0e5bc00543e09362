import Foundation
import Kernels
import TinyGPT

/// Does a chat model still know what its mid model knew?
///
/// Mid-training shows every toy-world fact as a question and its answer ("Q: Where does Mia
/// live? A: by the lake"), so the mid model can answer them in that format. SFT then teaches a
/// chat format on a few hundred fact questions; the held-out ones (one fact in five, by hash)
/// are never asked in chat. A fact is *kept* when the chat model answers its held-out question
/// right, and it counts only if the mid model knew it: forgetting needs something to forget.
public enum FactsKept {
    /// The held-out facts (the SFT files never ask them), each asked once, plainly.
    public static func heldOutFacts(_ world: World = .standard) -> [Fact] {
        world.facts.filter(Conversations.isHeldOut)
    }

    /// The other facts: the ones SFT's fact conversations ask about.
    public static func trainedFacts(_ world: World = .standard) -> [Fact] {
        world.facts.filter { !Conversations.isHeldOut($0) }
    }

    /// Which facts the mid model answers in its own format: greedily from
    /// "<|bos|>Q: <question> A:", its first line compared word for word with the answer.
    public static func knownInMidFormat(_ model: GPT, _ facts: [Fact], tokenizer: Tokenizer = .standard) throws -> [Bool] {
        var rng = RNG(seed: 0)
        var known: [Bool] = []
        for chunk in facts.chunks(of: 64) {
            let outs = try Probes.complete(model, chunk.map { "<|bos|>Q: \($0.question) A:" }, temperature: 0,
                                           maxTokens: 16, rng: &rng, tokenizer: tokenizer)
            for (fact, out) in zip(chunk, outs) {
                let line = out.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
                let answer = line.trimmingCharacters(in: .whitespaces)
                known.append(Verifier.isCorrect(answer, expected: fact.answer, task: .fact))
            }
        }
        return known
    }

    /// Which facts a chat model answers right, asked through the chat template, greedily.
    public static func knownInChat(_ model: GPT, _ facts: [Fact], tokenizer: Tokenizer = .standard) throws -> [Bool] {
        var rng = RNG(seed: 0)
        var known: [Bool] = []
        for chunk in facts.chunks(of: 64) {
            let replies = try SFT.reply(model, chunk.map(\.question), temperature: 0, rng: &rng, tokenizer: tokenizer)
            for (fact, reply) in zip(chunk, replies) {
                known.append(Verifier.isCorrect(reply.answer, expected: fact.answer, task: .fact))
            }
        }
        return known
    }

    /// One chat model's knowledge, against its mid model's.
    public struct Measurement: Sendable, Equatable {
        /// Held-out facts asked.
        public let asked: Int
        /// Facts the mid model answered in its own format.
        public let knownByMid: Int
        /// Of those, the ones the chat model answers right.
        public let kept: Int
        /// Facts the chat model answers right that the mid model did not (luck, or learned since).
        public let gained: Int

        /// The share of what the mid model knew that the chat model still knows (0 if it knew nothing).
        public var keptRate: Double { knownByMid == 0 ? 0 : Double(kept) / Double(knownByMid) }
        /// The share of held-out facts the mid model answers in its own format.
        public var midRate: Double { asked == 0 ? 0 : Double(knownByMid) / Double(asked) }

        public init(mid: [Bool], chat: [Bool]) {
            asked = min(mid.count, chat.count)
            knownByMid = zip(mid, chat).filter { $0.0 }.count
            kept = zip(mid, chat).filter { $0.0 && $0.1 }.count
            gained = zip(mid, chat).filter { !$0.0 && $0.1 }.count
        }
    }

    /// The report keys: `facts_kept` (share of the mid model's held-out facts the chat model
    /// still answers; left out when the mid model knew none, as nothing could be kept) and
    /// `facts_mid` (share of held-out facts the mid model answers).
    public static func metrics(_ m: Measurement) -> [String: Double] {
        m.knownByMid == 0 ? ["facts_mid": m.midRate] : ["facts_kept": m.keptRate, "facts_mid": m.midRate]
    }

    /// `facts_kept` for a later chat stage (dpo, rlvr), against the run's mid model; nothing if
    /// the run has no mid checkpoint (a stage trained from a copied-in checkpoint).
    public static func metrics(chat: GPT, run: RunDirectory) throws -> [String: Double] {
        guard FileManager.default.fileExists(atPath: run.checkpoint(.mid)) else { return [:] }
        return metrics(try measure(chat: chat, mid: try loadStage(.mid, from: run).0))
    }

    /// Measures `chat` against `mid` on the held-out facts.
    public static func measure(chat: GPT, mid: GPT, world: World = .standard) throws -> Measurement {
        let facts = heldOutFacts(world)
        return Measurement(mid: try knownInMidFormat(mid, facts), chat: try knownInChat(chat, facts))
    }
}
