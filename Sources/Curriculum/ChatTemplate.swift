/// The chat template: how a conversation becomes one sequence of token ids, and which
/// of those tokens the model is trained to produce.
///
/// A chat model is still a next-token predictor. What makes it a chat model is a fixed
/// way of writing conversations down, with special tokens (single ids that plain text
/// can never produce) marking who speaks:
///
///     <|bos|><|user|>What is 47 + 38?<|end|><|assistant|>85<|end|>
///     <|bos|><|user|>What is 247 + 538?<|end|><|assistant|><think>ones 7+8=15, ...</think>785<|end|>
///
/// To chat, we write the conversation so far, end it with `<|assistant|>`, and let the
/// model continue until it produces `<|end|>`: its turn is over, and we stop sampling.
///
/// The loss mask. In SFT the model is trained only on the assistant's tokens: the text
/// of its reply, the `<think>` and `</think>` around a trace, and the `<|end|>` that
/// closes its turn. Everything up to and including `<|assistant|>` is given at
/// inference time, so learning to predict it would spend capacity on imitating users
/// (and on guessing questions) instead of answering them. GUIDE.md, "Where things are": the mask is
/// the per-token weight of the SFT objective, 1 on assistant tokens, 0 elsewhere.
public enum ChatTemplate {
    /// Who speaks a message.
    public enum Role: String, CaseIterable, Sendable {
        case user, assistant

        /// The special token that opens this role's turn.
        public var token: Tokenizer.Special { self == .user ? .user : .assistant }
    }

    /// One turn of a conversation, in the field names post-training libraries use.
    public struct Message: Equatable, Sendable {
        public var role: Role
        public var content: String

        public init(_ role: Role, _ content: String) {
            self.role = role
            self.content = content
        }
    }

    /// Which target tokens carry loss.
    public enum LossMask: String, CaseIterable, Sendable {
        /// The right way: every token of the assistant's turns, `<think>` and the closing `<|end|>` included.
        case assistant
        /// No mask: train on every token, prompts too (an ablation; lesson03's first exercise).
        case everything
        /// The classic mistake: treat the opening `<think>` as part of the prompt, as if the
        /// template always added it. The model is then never taught to open a trace itself.
        case thinkAsPrompt
    }

    /// A conversation as tokens, with a flag per token: true if the model is trained to produce it.
    public struct Rendered: Equatable, Sendable {
        public var tokens: [Int]
        public var trained: [Bool]

        /// Tokens that carry loss.
        public var trainedCount: Int { trained.filter { $0 }.count }
    }

    /// Why a conversation cannot be rendered.
    public struct TemplateError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The special tokens an assistant's content may contain (written "<think>" and "</think>"
    /// in data files). Any other special in a message is refused: a message that could
    /// write "<|user|>" could forge a whole turn.
    static let allowedInAssistant: Set<Int> = [Tokenizer.Special.thinkStart.rawValue, Tokenizer.Special.thinkEnd.rawValue]

    /// Encodes one message's content. User text is plain text: "<|end|>" typed by a user is
    /// eight characters, not the end of the turn. Assistant text may contain the think tokens.
    static func encodeContent(_ message: Message, tokenizer: Tokenizer) throws -> [Int] {
        switch message.role {
        case .user:
            return try tokenizer.encode(message.content)
        case .assistant:
            let ids = try tokenizer.encodeWithSpecials(message.content)
            if let bad = ids.first(where: { $0 < Tokenizer.Special.allCases.count && !allowedInAssistant.contains($0) }) {
                throw TemplateError("an assistant message may contain only <think> and </think> as special tokens, found \(tokenizer.decode([bad])) in \(message.content.debugDescription)")
            }
            return ids
        }
    }

    /// Renders a whole conversation (user and assistant turns alternating, starting with
    /// the user) as `<|bos|>` followed by `<|role|>content<|end|>` for every message.
    public static func render(_ messages: [Message], mask: LossMask = .assistant,
                              tokenizer: Tokenizer = .standard) throws -> Rendered {
        guard !messages.isEmpty else { throw TemplateError("a conversation needs at least one message") }
        for (i, m) in messages.enumerated() where m.role != (i % 2 == 0 ? .user : .assistant) {
            throw TemplateError("message \(i + 1) is from the \(m.role.rawValue), but turns must alternate user, assistant, user, ...")
        }
        var tokens = [tokenizer.id(.bos)]
        var trained = [mask == .everything]
        for m in messages {
            let content = try encodeContent(m, tokenizer: tokenizer)
            let isReply = m.role == .assistant
            tokens.append(tokenizer.id(m.role.token))
            trained.append(mask == .everything)
            for (k, id) in content.enumerated() {
                tokens.append(id)
                let openingThink = k == 0 && id == tokenizer.id(.thinkStart)
                trained.append(mask == .everything || (isReply && !(mask == .thinkAsPrompt && openingThink)))
            }
            tokens.append(tokenizer.id(.end))
            trained.append(mask == .everything || isReply)
        }
        return Rendered(tokens: tokens, trained: trained)
    }

    /// The tokens to generate from: the conversation so far (ending with a user message)
    /// followed by `<|assistant|>`, the cue for the model to take its turn.
    public static func prompt(_ messages: [Message], tokenizer: Tokenizer = .standard) throws -> [Int] {
        guard messages.last?.role == .user else { throw TemplateError("a prompt must end with a user message") }
        return try render(messages, tokenizer: tokenizer).tokens + [tokenizer.id(.assistant)]
    }

    /// The prompt for a single question.
    public static func prompt(_ question: String, tokenizer: Tokenizer = .standard) throws -> [Int] {
        try prompt([Message(.user, question)], tokenizer: tokenizer)
    }

    /// Rendered conversations as one training batch: row b holds conversation b, inputs
    /// are its tokens, targets the next token where that token is trained, -1 elsewhere.
    /// Shorter rows are padded with `<|pad|>` and target -1, so padding costs compute
    /// but never counts in the loss. T is the longest conversation minus one, unless given.
    public static func batch(_ rows: [Rendered], T fixedT: Int? = nil, tokenizer: Tokenizer = .standard) -> Batch {
        let T = fixedT ?? max(1, (rows.map(\.tokens.count).max() ?? 2) - 1)
        let pad = Int32(tokenizer.id(.pad))
        var inputs = [Int32](repeating: pad, count: rows.count * T)
        var targets = [Int32](repeating: -1, count: rows.count * T)
        for (b, row) in rows.enumerated() {
            for t in 0..<min(T, row.tokens.count - 1) {
                inputs[b * T + t] = Int32(row.tokens[t])
                if row.trained[t + 1] { targets[b * T + t] = Int32(row.tokens[t + 1]) }
            }
        }
        return Batch(inputs: inputs, targets: targets, B: rows.count, T: T)
    }
}
