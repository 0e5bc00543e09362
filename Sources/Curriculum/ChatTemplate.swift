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
///
/// Tool calls (lesson08, `Tokenizer.withTools`). An assistant message with a `call` ends in
/// <|call|>, the call's text and <|result|> instead of <|end|>: the model hands over. The
/// runner's result follows as a `tool` message, written as its text and a newline, and the
/// next assistant message continues the same turn, with no <|assistant|> of its own:
///
///     <|assistant|><|call|>calc(347*29)<|result|>10063⏎10063<|end|>
///
/// The call is the model's (trained, so it learns the grammar); the result is the runner's
/// (masked, like a prompt: the model must read it, never learn to invent it).
public enum ChatTemplate {
    /// Who speaks a message. `tool` is the runner answering a call (lesson08).
    public enum Role: String, CaseIterable, Sendable {
        case user, assistant, tool
    }

    /// One turn of a conversation, in the field names post-training libraries use.
    public struct Message: Equatable, Sendable {
        public var role: Role
        public var content: String
        /// An assistant message may end in a tool call (`function_calls` in data files), e.g. "calc(347*29)".
        public var call: String?

        public init(_ role: Role, _ content: String, call: String? = nil) {
            self.role = role
            self.content = content
            self.call = call
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
        case .user, .tool:
            return try tokenizer.encode(message.content)
        case .assistant:
            let ids = try tokenizer.encodeWithSpecials(message.content)
            if let bad = ids.first(where: { tokenizer.isSpecial($0) && !allowedInAssistant.contains($0) }) {
                throw TemplateError("an assistant message may contain only <think> and </think> as special tokens, found \(tokenizer.decode([bad])) in \(message.content.debugDescription)")
            }
            return ids
        }
    }

    /// Checks the order of a conversation's messages: it starts with the user; user and
    /// assistant turns alternate; an assistant message with a call is followed by the tool's
    /// result, and a result by the assistant going on.
    static func validate(_ messages: [Message]) throws {
        guard !messages.isEmpty else { throw TemplateError("a conversation needs at least one message") }
        var expected: Set<Role> = [.user]
        for (i, m) in messages.enumerated() {
            guard expected.contains(m.role) else {
                let want = expected.map(\.rawValue).sorted().joined(separator: " or ")
                throw TemplateError("message \(i + 1) is from the \(m.role.rawValue), but here the \(want) speaks (turns alternate user, assistant, ...; a call is followed by its tool result)")
            }
            if m.call != nil && m.role != .assistant {
                throw TemplateError("message \(i + 1): only the assistant makes tool calls")
            }
            switch m.role {
            case .user: expected = [.assistant]
            case .assistant: expected = m.call == nil ? [.user] : [.tool]
            case .tool: expected = [.assistant]
            }
        }
    }

    /// Renders a whole conversation (user and assistant turns alternating, starting with
    /// the user) as `<|bos|>` followed by `<|role|>content<|end|>` for every message; tool
    /// calls and results as the type's comment shows.
    public static func render(_ messages: [Message], mask: LossMask = .assistant,
                              tokenizer: Tokenizer = .standard) throws -> Rendered {
        try validate(messages)
        let usesTools = messages.contains { $0.role == .tool || $0.call != nil }
        if usesTools && !tokenizer.specials.contains(.call) {
            throw TemplateError("a conversation with tool calls needs the vocabulary with <|call|> and <|result|> (Tokenizer.withTools)")
        }
        var tokens = [tokenizer.id(.bos)]
        var trained = [mask == .everything]
        func add(_ ids: [Int], _ isTrained: Bool) {
            tokens += ids
            trained += Array(repeating: mask == .everything || isTrained, count: ids.count)
        }
        for (i, m) in messages.enumerated() {
            let content = try encodeContent(m, tokenizer: tokenizer)
            switch m.role {
            case .user:
                add([tokenizer.id(.user)] + content + [tokenizer.id(.end)], false)
            case .tool:
                // The runner's text, then a newline that hands the turn back to the model.
                add(content + [try tokenizer.encode("\n")[0]], false)
            case .assistant:
                // After a tool result the assistant's turn goes on: no second <|assistant|>.
                if i == 0 || messages[i - 1].role != .tool { add([tokenizer.id(.assistant)], false) }
                for (k, id) in content.enumerated() {
                    let openingThink = k == 0 && id == tokenizer.id(.thinkStart)
                    add([id], !(mask == .thinkAsPrompt && openingThink))
                }
                if let call = m.call {
                    add([tokenizer.id(.call)] + (try tokenizer.encode(call)) + [tokenizer.id(.result)], true)
                } else {
                    add([tokenizer.id(.end)], true)
                }
            }
        }
        return Rendered(tokens: tokens, trained: trained)
    }

    /// The tokens to generate from: the conversation so far (ending with a user message)
    /// followed by `<|assistant|>`, the cue for the model to take its turn. After a tool's
    /// result the turn is already the model's, so nothing is added.
    public static func prompt(_ messages: [Message], tokenizer: Tokenizer = .standard) throws -> [Int] {
        guard let last = messages.last?.role, last != .assistant else {
            throw TemplateError("a prompt must end with a user message or a tool result")
        }
        let tokens = try render(messages, tokenizer: tokenizer).tokens
        return last == .user ? tokens + [tokenizer.id(.assistant)] : tokens
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
