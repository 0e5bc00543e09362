/// Reading a model's reply and checking it by code: did it follow the chat format, and is
/// its answer right? No judgement calls: every task here has one correct answer, which is
/// what makes it usable as a reward later (lesson05, RL with verifiable rewards).
public enum Verifier {
    /// A reply, taken apart.
    public struct Reply: Sendable {
        /// The generated text, special tokens written out.
        public let text: String
        /// The trace between <think> and </think>, if the reply had one.
        public let thought: String?
        /// What the reply answers: after </think>, up to <|end|> (or, for a model that does not
        /// stop, up to the first other special token or line break), spaces trimmed.
        public let answer: String
        /// The chat format was followed: a non-empty answer, then <|end|>; at most one
        /// <think>...</think> block, at the start; and no other special token (no invented user turn).
        public let wellFormed: Bool
    }

    /// Splits reply text (as in the data files) into trace and answer:
    /// "<think>...</think>85" -> ("...", "85").
    public static func split(_ content: String) -> (thought: String?, answer: String) {
        let open = Tokenizer.Special.thinkStart.text, close = Tokenizer.Special.thinkEnd.text
        guard content.hasPrefix(open), let end = content.range(of: close) else { return (nil, content) }
        return (String(content[content.index(content.startIndex, offsetBy: open.count)..<end.lowerBound]),
                String(content[end.upperBound...]))
    }

    /// Parses generated token ids (the completion after `<|assistant|>`).
    public static func parse(_ tokens: [Int], tokenizer: Tokenizer = .standard) -> Reply {
        let text = tokenizer.decode(tokens)
        let end = tokenizer.id(.end), open = tokenizer.id(.thinkStart), close = tokenizer.id(.thinkEnd)
        // The reply proper: everything before the first <|end|>.
        let stopped = tokens.firstIndex(of: end)
        let body = Array(tokens[..<(stopped ?? tokens.count)])
        var thought: String?
        var rest = body[...]
        if body.first == open, let c = body.firstIndex(of: close) {
            thought = tokenizer.decode(Array(body[1..<c]))
            rest = body[(c + 1)...]
        }
        // Well-formed: it stopped, and the only specials are one <think> at the start and one
        // </think> after it. Anything else (a second trace, an invented <|user|>) is not.
        let specialCount = body.filter { tokenizer.isSpecial($0) }.count
        var formatOK = stopped != nil && specialCount == (thought == nil ? 0 : 2)
        if body.first == open && thought == nil { rest = [] }  // a trace that never ends answers nothing
        let answerTokens = rest.prefix { !tokenizer.isSpecial($0) && $0 != tokenizer.id(of: "\n") }
        let answer = tokenizer.decode(Array(answerTokens)).trimmingCharacters(in: .whitespaces)
        if answer.isEmpty { formatOK = false }
        return Reply(text: text, thought: thought, answer: answer, wellFormed: formatOK)
    }

    /// Is `answer` the right answer to a question of this task whose correct reply is
    /// `expected`? Numbers are compared as numbers; words must match exactly (facts and
    /// yes/no ignore case) and be followed by nothing but punctuation or spaces, so
    /// "etikk" is not a correct "etik", but "etik." is.
    public static func isCorrect(_ answer: String, expected: String, task: Conversations.Task) -> Bool {
        switch task {
        case .arithmetic, .count, .add3, .twoStep:
            guard let want = Int(expected) else { return false }
            return Arithmetic.parseAnswer(answer) == want && leadingTokenEnds(answer, afterPrefixOf: String(want))
        case .palindrome, .fact:
            return startsWithWord(answer.lowercased(), expected.lowercased())
        case .reverse, .uppercase:
            return startsWithWord(answer, expected)
        case .care:
            // Refuses when it should; otherwise helps, starting with the right action ("Give", "Brush").
            if PreferenceData.isRefusal(expected) { return PreferenceData.isRefusal(answer) }
            let action = String(expected.prefix { $0 != " " })
            return !PreferenceData.isRefusal(answer) && startsWithWord(answer, action)
        }
    }

    // MARK: the reward of lesson05

    /// The reply's final answer as an integer, or nil. Stricter than `isCorrect`, because
    /// a reward is something a policy will search for loopholes in:
    ///
    ///     the reply must be well-formed (it stopped at <|end|>, at most one leading trace,
    ///     no invented turn): a reply that never stops, or whose trace never closes, has no answer;
    ///     everything between the trace (if any) and <|end|> must be one integer in its usual
    ///     spelling: digits with an optional leading minus, no leading zeros, spaces around it
    ///     allowed. "85 86" (two numbers, a hedge), "85 apples", "85." and "085" all give nil.
    ///
    /// Numbers inside the trace do not count: only what the reply answers after it.
    public static func finalInteger(_ reply: Reply) -> Int? {
        let end = Tokenizer.Special.end.text
        guard reply.wellFormed, let cut = reply.text.range(of: end) else { return nil }
        return integer(split(String(reply.text[..<cut.lowerBound])).answer)
    }

    /// `text` as an integer in its usual spelling (digits, an optional leading minus, no
    /// leading zeros, spaces around allowed), or nil: "85 86", "85.", "085" are not integers.
    public static func integer(_ text: String) -> Int? {
        let answer = text.trimmingCharacters(in: .whitespaces)
        let digits = answer.hasPrefix("-") ? answer.dropFirst() : answer[...]
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let n = Int(answer), String(n) == answer else { return nil }
        return n
    }

    /// The verifiable reward: 1 if the reply's final answer (`finalInteger`) is exactly
    /// `expected`, else 0. A malformed reply scores 0, like a wrong one.
    public static func reward(_ reply: Reply, expected: Int) -> Double {
        finalInteger(reply) == expected ? 1 : 0
    }

    /// `text` starts with `word`, and what follows (if anything) is not a letter or digit.
    static func startsWithWord(_ text: String, _ word: String) -> Bool {
        guard !word.isEmpty, text.hasPrefix(word) else { return false }
        guard let next = text.dropFirst(word.count).first else { return true }
        return !(next.isLetter || next.isNumber)
    }

    /// A number answer is not followed directly by letters ("85apples" is not an answer).
    static func leadingTokenEnds(_ text: String, afterPrefixOf number: String) -> Bool {
        let trimmed = text.drop { $0 == " " }
        guard let next = trimmed.dropFirst(number.count).first else { return true }
        return !next.isLetter
    }
}

extension Tokenizer {
    /// The id of a one-character piece (-1 if there is none).
    func id(of piece: String) -> Int { pieces.firstIndex(of: piece) ?? -1 }
}

extension Verifier.Reply {
    /// The reply as the model wrote it, up to its [end]; marked when it never wrote one.
    public var shown: String {
        let end = Tokenizer.Special.end.text
        let head = text.components(separatedBy: end).first ?? text
        return text.contains(end) ? head : head + " (no [end])"
    }
}
