import Foundation

extension GRPO {
    /// How a problem is put to the model, and how its reply is read and checked.
    ///
    /// RL can only reinforce what a model already writes, so the question must come in a form
    /// the model knows. The chat models (lessons 03-05) know the chat template; the mid model
    /// knows only mid-training's text, one problem to a line and several to a document:
    ///
    ///     <|bos|>Q: 58 - 27 = ? A: 31
    ///     Q: 40 + 12 = ? A: 52
    ///
    /// lesson07 asks the mid model in that form (DeepSeek's R1-Zero also ran RL on a base
    /// model with a plain prompt template of its own kind).
    public enum Format: String, Sendable, CaseIterable {
        /// The chat template: the question as a user turn; the reply ends at <|end|>.
        case chat
        /// Mid-training's text: "Q: 58 - 27 = ? A:" after <|bos|>. The answer is the rest of
        /// that line; the reply ends where the model ends the document (its next <|bos|>).
        case plain

        /// The prompt's tokens.
        public func prompt(_ p: RLData.Problem, tokenizer: Tokenizer = .standard) throws -> [Int] {
            switch self {
            case .chat:
                return try ChatTemplate.prompt(p.prompt, tokenizer: tokenizer)
            case .plain:
                guard let e = p.expression else {
                    throw DataFiles.DataError("the RL prompt \"\(p.prompt)\" is not a sum or difference mid-training's text can write")
                }
                return try Format.plainPrompt(e, tokenizer: tokenizer)
            }
        }

        /// Mid-training's text for one problem: <|bos|>, then "Q: 58 - 27 = ? A:".
        static func plainPrompt(_ expression: String, tokenizer: Tokenizer) throws -> [Int] {
            [tokenizer.id(.bos)] + (try tokenizer.encode("Q: \(expression) = ? A:"))
        }

        /// A readable reply in mid-training's text, as a training row: the prompt (no loss),
        /// then " 31", the line break and the end of the text (the loss). What a cold start
        /// shows the mid model: the answer line it already writes, and where to stop.
        public static func plainExample(_ expression: String, answer: Int, tokenizer: Tokenizer = .standard) throws -> ChatTemplate.Rendered {
            let prompt = try plainPrompt(expression, tokenizer: tokenizer)
            let reply = try tokenizer.encode(" \(answer)\n") + [tokenizer.id(.bos)]
            return ChatTemplate.Rendered(tokens: prompt + reply, trained: Array(repeating: false, count: prompt.count) + Array(repeating: true, count: reply.count))
        }

        /// The token that ends a reply.
        public func stopToken(_ tokenizer: Tokenizer = .standard) -> Int {
            tokenizer.id(self == .chat ? .end : .bos)
        }

        /// The reply taken apart. Chat: `Verifier.parse`. Plain: the answer is the first line,
        /// and the reply counts as well-formed (readable) only if that line is all it wrote
        /// before ending the document: no invented follow-up questions, no other text.
        public func parse(_ tokens: [Int], tokenizer: Tokenizer = .standard) -> Verifier.Reply {
            guard self == .plain else { return Verifier.parse(tokens, tokenizer: tokenizer) }
            let newline = tokenizer.id(of: "\n")
            let stopped = tokens.firstIndex(of: stopToken(tokenizer))
            let body = Array(tokens[..<(stopped ?? tokens.count)])
            let line = body.prefix { $0 != newline && !tokenizer.isSpecial($0) }
            let answer = tokenizer.decode(Array(line)).trimmingCharacters(in: .whitespaces)
            let oneLine = body.count == line.count + 1 && body.last == newline
            return Verifier.Reply(text: tokenizer.decode(tokens), thought: nil, answer: answer,
                                  wellFormed: stopped != nil && oneLine && !answer.isEmpty)
        }

        /// The reply as the model wrote it, up to where it ended; marked when it never ended.
        public func shown(_ reply: Verifier.Reply) -> String {
            guard self == .plain else { return reply.shown }
            let bos = Tokenizer.Special.bos.text
            let head = reply.text.components(separatedBy: bos).first ?? reply.text
            return reply.text.contains(bos) ? head + "[end of text]" : head + " (no end)"
        }

        /// The verifier in this format: 1 if the answer is exactly the right integer. Chat:
        /// `Verifier.reward` (the reply stopped at <|end|>, then one integer). Plain: the first
        /// line is one integer in its usual spelling; what comes after that line is not read,
        /// so the reward does not ask the model to stop.
        public func reward(_ reply: Verifier.Reply, expected: Int) -> Double {
            switch self {
            case .chat: return Verifier.reward(reply, expected: expected)
            case .plain: return Verifier.integer(reply.answer) == expected ? 1 : 0
            }
        }

        /// The training reward that is the verifier in this format.
        public var verified: Reward {
            switch self {
            case .chat: return .verified
            case .plain: return Reward(name: "verified first line") { reply, p in Format.plain.reward(reply, expected: p.answer) }
            }
        }
    }
}
