import Foundation
import Kernels
import TinyGPT

/// The same prompts to every stage (lesson06): what each stage does with a piece of text, a
/// question, a harmful request, a simple task and a multi-step sum; and what each stage cost,
/// measured as its loss on the held-out pretraining text.
public enum Compare {
    /// How a stage is asked. Base and mid never saw the chat template: they get the prompt
    /// as the start of a document and continue it. The chat stages get it as a user turn.
    public enum Prompting: String, Sendable {
        /// A document to continue (base, mid); the chat template (the chat stages); the chat
        /// template with the tools running (lesson08's model).
        case text, chat, tools
    }

    /// The five kinds of prompt, each with a right answer that code can check.
    public enum Kind: String, CaseIterable, Sendable {
        case text, question, unsafe, task, multistep

        public var title: String {
            switch self {
            case .text: return "plain text to continue"
            case .question: return "a question about the toy world"
            case .unsafe: return "a (toy) harmful request"
            case .task: return "a simple task"
            case .multistep: return "a multi-step sum"
            }
        }
    }

    public struct Prompt: Sendable {
        public let kind: Kind
        public let text: String
        /// What a right reply says (for `unsafe`: a refusal, which starts "I won't").
        public let expected: String
        /// The task the verifier grades it as (nil: checked by `kind`'s own rule).
        let task: Conversations.Task?

        /// Is `answer` (a reply's answer, or a continuation's first line) right?
        public func isRight(_ answer: String) -> Bool {
            switch kind {
            case .text: return answer.trimmingCharacters(in: .whitespaces).hasPrefix(expected)
            case .unsafe: return PreferenceData.isRefusal(answer)
            case .question, .task, .multistep: return task.map { Verifier.isCorrect(answer, expected: expected, task: $0) } ?? false
            }
        }
    }

    /// One prompt of each kind, none of them a training prompt: the first held-out story cut
    /// before the last word of its first sentence; the first held-out fact question,
    /// palindrome question and two-operation sum of the SFT files; the first held-out harmful
    /// request of the DPO files. (The world they are about, its people, pets and facts, is in
    /// the pretraining text: that knowledge is what the later stages should bring out.)
    public static func prompts() throws -> [Prompt] {
        guard let dir = DataFiles.defaultDataDirectory() else {
            throw DataFiles.DataError("cannot find the package's data/ folder (run from inside the package, or run `swift run make-data`)")
        }
        let story = PretrainCorpus.documents(in: try DataFiles.loadPretrain(from: dir).valid).first ?? ""
        let sentence = story.prefix { $0 != "." }
        guard let cut = sentence.lastIndex(of: " ") else { throw DataFiles.DataError("data/pretrain/valid.txt: the first story has no sentence to cut") }
        let sft = try DataFiles.loadSFT(from: dir).instructValid
        let harmful = try DataFiles.loadDPO(from: dir).valid.first { $0.family == .caution }
        func first(_ task: Conversations.Task) throws -> Conversations.Conversation {
            guard let c = sft.first(where: { $0.task == task }) else {
                throw DataFiles.DataError("data/sft/instruct_valid.jsonl has no \(task.rawValue) question; run `swift run make-data`")
            }
            return c
        }
        guard let harmful else { throw DataFiles.DataError("data/dpo/valid.jsonl has no caution pair; run `swift run make-data`") }
        let fact = try first(.fact), palindrome = try first(.palindrome), sum = try first(.twoStep)
        return [
            Prompt(kind: .text, text: String(sentence[..<cut]), expected: String(sentence[sentence.index(after: cut)...]), task: nil),
            Prompt(kind: .question, text: fact.question, expected: fact.expected, task: .fact),
            Prompt(kind: .unsafe, text: harmful.prompt, expected: PreferenceData.refusalOpening + " ...", task: nil),
            Prompt(kind: .task, text: palindrome.question, expected: palindrome.expected, task: .palindrome),
            Prompt(kind: .multistep, text: sum.question, expected: sum.expected, task: .twoStep),
        ]
    }

    /// What one stage wrote for one prompt.
    public struct Answer: Sendable {
        /// The text as written: a continuation, or a reply up to its <|end|>.
        public let text: String
        /// A chat reply that never wrote <|end|> (it ran out of room); false for continuations.
        public let unfinished: Bool
        public let right: Bool
    }

    /// Every prompt to one model, greedily, the way its stage is asked. A continuation is
    /// graded on its first line (the lenient rule lesson03 uses for the mid model).
    public static func answers(_ model: GPT, prompting: Prompting, _ prompts: [Prompt]) throws -> [Answer] {
        var rng = RNG(seed: 0)
        switch prompting {
        case .text:
            let outs = try Probes.complete(model, prompts.map { "<|bos|>" + $0.text }, temperature: 0, maxTokens: 60, rng: &rng)
            return zip(prompts, outs).map { p, out in
                let line = out.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
                return Answer(text: out, unfinished: false, right: p.isRight(line.trimmingCharacters(in: .whitespaces)))
            }
        case .chat:
            let end = Tokenizer.Special.end.text
            return try zip(prompts, SFT.reply(model, prompts.map(\.text), temperature: 0, rng: &rng)).map { p, r in
                let stopped = r.text.range(of: end)
                return Answer(text: stopped.map { String(r.text[..<$0.lowerBound]) } ?? r.text, unfinished: stopped == nil,
                              right: p.isRight(r.answer))
            }
        case .tools:
            let tokenizer = Tokenizer.withTools
            return try zip(prompts, ToolUse.reply(model, prompts.map(\.text), rng: &rng, tokenizer: tokenizer)).map { p, r in
                var text = r.text(tokenizer)
                if r.stopped, text.hasSuffix(Tokenizer.Special.end.text) { text.removeLast(Tokenizer.Special.end.text.count) }
                return Answer(text: text, unfinished: !r.stopped, right: p.isRight(r.answer))
            }
        }
    }

    /// The held-out pretraining text every stage is measured on (`evaluateLoss`, nats per
    /// character): lesson01's own yardstick, the same batches as its `val_loss` and lesson02's
    /// `text_loss`, at the pretraining context. Every stage after base trained on something
    /// else; how far this loss rises is what the stage forgot.
    public static func textBatches(quick: Bool) throws -> [Batch] {
        let T = Pretrain.recipe(quick: quick, seed: 0).model.blockSize
        return Pretrain.evalBatches(try Pretrain.data(quick: quick).valid, seqLen: T, quick: quick)
    }

    /// The share of positions in `batches` where the model's most likely next token is a special
    /// token (<|end|>, <think>, ...). On story text that is almost never right (a story has a
    /// <|bos|> only where a new one starts), so a rise shows what a chat stage's forgetting
    /// looks like: it expects its turn to end.
    public static func specialGuessRate(_ model: GPT, _ batches: [Batch], tokenizer: Tokenizer = .standard) -> Double {
        let V = model.config.vocabSize
        var hits = 0, count = 0
        for batch in batches {
            model.forward(batch.inputs, B: batch.B, T: batch.T)
            let logits = model.logits
            for i in 0..<(batch.B * batch.T) where batch.targets[i] >= 0 {
                var best = 0
                for v in 1..<V where logits[i * V + v] > logits[i * V + best] { best = v }
                if tokenizer.isSpecial(best) { hits += 1 }
                count += 1
            }
        }
        return count > 0 ? Double(hits) / Double(count) : .nan
    }
}
