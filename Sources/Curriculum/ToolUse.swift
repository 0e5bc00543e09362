import Notebook
import Kernels
import TinyGPT

/// Generation with tools: the model writes, the runner executes its calls, the model reads
/// the results and goes on.
///
/// A round generates until <|end|> (the reply is over) or <|result|> (a call is complete).
/// At <|result|> the runner reads the call the model wrote since its last <|call|>, runs it
/// (`Tools.run`), appends the result and a newline, and starts the next round from the whole
/// conversation so far. The tokens a reply holds are therefore of two kinds, and `byModel`
/// tells them apart: what the model wrote (a training stage may put weight on these) and
/// what the runner wrote (never: the model did not choose them).
public enum ToolUse {
    /// One call as it happened.
    public struct CallRecord: Equatable, Sendable {
        /// The text between <|call|> and <|result|>, as the model wrote it.
        public var text: String
        public var result: Tools.Result
        /// It named a tool and its arguments were valid (its result is not an error).
        public var wellFormed: Bool { !result.isError }
    }

    /// One reply: every token after the prompt, who wrote each, and the calls made.
    public struct Reply: Sendable {
        public var tokens: [Int] = []
        /// true where the model wrote the token, false where the runner did (a tool's result).
        public var byModel: [Bool] = []
        /// log π of each token under the model, where the model wrote it (0 where the runner did).
        public var logprobs: [Float] = []
        public var calls: [CallRecord] = []
        /// It ended its turn with <|end|> (false: it ran out of room or of calls).
        public var stopped = false
        /// The reply after its last tool result (the whole reply if it made no call), parsed by the verifier.
        public var final: Verifier.Reply

        /// The answer the reply gives: what follows its last tool result.
        public var answer: String { final.answer }
        /// How the reply reads, runner's text included, up to where it ended.
        public func text(_ tokenizer: Tokenizer = .withTools) -> String { tokenizer.decode(tokens) }
    }

    /// Room for one reply, calls and results included: a 2-digit sum's column trace and a
    /// call with its result both fit.
    public static let replyTokens = 96

    /// The most calls one reply may make; a further call gets an error result, and the round
    /// after that is the last.
    public static let defaultBudget = 3

    /// Continues every prompt (chat prompts ending in <|assistant|>) with tools available.
    public static func generate(_ model: GPT, prompts: [[Int]], temperature: Float, maxNewTokens: Int,
                                budget: Int = defaultBudget, rng: inout RNG, world: World = Tools.directory,
                                tokenizer: Tokenizer = .withTools) -> [Reply] {
        generate(prompts: prompts, maxNewTokens: maxNewTokens, blockSize: model.config.blockSize, budget: budget,
                 world: world, tokenizer: tokenizer) { contexts, limit in
            let options = SamplingOptions(temperature: temperature, stopToken: tokenizer.id(.end),
                                          alsoStopAt: [tokenizer.id(.result)], maxNewTokens: limit)
            return PhaseClock.measure(.sample) { model.generate(prompts: contexts, options: options, rng: &rng) }
        }
    }

    /// The runner's loop, with the model as a function: `continueWith(contexts, limit)` returns one
    /// completion per context, of at most `limit` new tokens, each ending at <|end|> or
    /// <|result|> (as `GPT.generate` does). Tests drive it with scripted completions.
    static func generate(prompts: [[Int]], maxNewTokens: Int, blockSize: Int, budget: Int, world: World,
                         tokenizer: Tokenizer, continueWith: (_ contexts: [[Int]], _ limit: Int) -> [Completion]) -> [Reply] {
        let call = tokenizer.id(.call), result = tokenizer.id(.result)
        let newline = (try? tokenizer.encode("\n")) ?? []
        var replies = prompts.map { _ in Reply(final: Verifier.parse([], tokenizer: tokenizer)) }
        var active = Array(prompts.indices)
        // Each round either ends a reply or adds one call to it: `budget` calls run, one more gets
        // "no calls left", and a call in the round after that is not answered at all.
        let rounds = budget + 2
        for round in 0..<rounds where !active.isEmpty {
            // Replies with no room left (for new tokens, or in the context) are over.
            active = active.filter { i in
                replies[i].tokens.count < maxNewTokens && prompts[i].count + replies[i].tokens.count < blockSize
            }
            guard !active.isEmpty else { break }
            let contexts = active.map { prompts[$0] + replies[$0].tokens }
            // `generate` keeps each sequence inside the context; the per-reply budget is cut below.
            let limit = active.map { maxNewTokens - replies[$0].tokens.count }.max() ?? 0
            let outs = continueWith(contexts, limit)
            var next: [Int] = []
            for (i, out) in zip(active, outs) {
                let keep = min(out.tokens.count, maxNewTokens - replies[i].tokens.count)
                replies[i].tokens += out.tokens.prefix(keep)
                replies[i].byModel += Array(repeating: true, count: keep)
                replies[i].logprobs += out.logprobs.prefix(keep)
                guard out.stopped, keep == out.tokens.count, out.tokens.last == result, round < rounds - 1 else {
                    replies[i].stopped = out.stopped && keep == out.tokens.count && out.tokens.last != result
                    continue
                }
                // The call: what the model wrote after its last <|call|> (none: a result token out of place).
                let body = replies[i].tokens.dropLast()
                let text: String
                let outcome: Tools.Result
                if let open = body.lastIndex(of: call), zip(body[open...], replies[i].byModel[open...]).allSatisfy({ $0.1 }) {
                    text = tokenizer.decode(Array(body[(open + 1)...]))
                    outcome = replies[i].calls.count >= budget ? .error("no calls left; answer now") : Tools.run(text, world: world)
                } else {
                    text = ""
                    outcome = .error("a call starts with <|call|>")
                }
                replies[i].calls.append(CallRecord(text: text, result: outcome))
                // A result never overflows the context: what does not fit is cut (the reply is then over).
                let room = max(0, blockSize - prompts[i].count - replies[i].tokens.count)
                let written = Array((encodeLeniently(outcome.text, tokenizer) + newline).prefix(room))
                replies[i].tokens += written
                replies[i].byModel += Array(repeating: false, count: written.count)
                replies[i].logprobs += Array(repeating: 0, count: written.count)
                next.append(i)
            }
            active = next
        }
        for i in replies.indices {
            // The final answer is what the model wrote after the runner's last token.
            let lastRunner = replies[i].byModel.lastIndex(of: false).map { $0 + 1 } ?? 0
            replies[i].final = Verifier.parse(Array(replies[i].tokens[lastRunner...]), tokenizer: tokenizer)
        }
        return replies
    }

    /// Asks questions in the chat with tools available (greedy when temperature is 0).
    public static func reply(_ model: GPT, _ questions: [String], temperature: Float = 0, maxNewTokens: Int = replyTokens,
                             budget: Int = defaultBudget, rng: inout RNG, tokenizer: Tokenizer = .withTools) throws -> [Reply] {
        let prompts = try questions.map { try ChatTemplate.prompt($0, tokenizer: tokenizer) }
        var out: [Reply] = []
        for chunk in Array(prompts.indices).chunks(of: 64) {
            out += generate(model, prompts: chunk.map { prompts[$0] }, temperature: temperature, maxNewTokens: maxNewTokens,
                            budget: budget, rng: &rng, tokenizer: tokenizer)
        }
        return out
    }

    /// A tool's text as tokens, dropping any character the vocabulary lacks (a result is
    /// the runner's text, and must never make generation fail).
    static func encodeLeniently(_ text: String, _ tokenizer: Tokenizer) -> [Int] {
        text.unicodeScalars.compactMap { (try? tokenizer.encode(String($0)))?.first }
    }
}
