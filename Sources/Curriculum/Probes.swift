import Kernels
import Notebook
import TinyGPT

/// Small measurements of what a model does with text: sampling, fact recall, word rate.
public enum Probes {
    /// Continues `prompt` (special tokens allowed, e.g. "<|bos|>Mia") and returns only the new text.
    public static func complete(_ model: GPT, _ prompts: [String], temperature: Float, maxTokens: Int,
                                stopAt: Tokenizer.Special? = nil, rng: inout RNG,
                                tokenizer: Tokenizer = .standard) throws -> [String] {
        // A prompt longer than the context keeps only its end (the model cannot see more).
        let keep = model.config.blockSize - 1
        let ids = try prompts.map { p -> [Int] in
            let all = try tokenizer.encodeWithSpecials(p)
            return all.isEmpty ? [tokenizer.id(.bos)] : Array(all.suffix(keep))
        }
        let room = model.config.blockSize - (ids.map(\.count).max() ?? 0)
        let options = SamplingOptions(temperature: temperature, stopToken: stopAt.map { tokenizer.id($0) },
                                      maxNewTokens: max(1, min(maxTokens, room)))
        return PhaseClock.measure(.sample) { model.generate(prompts: ids, options: options, rng: &rng) }.map { tokenizer.decode($0.tokens) }
    }

    /// A fact statement cut before its object, e.g. ("Mia lives", "by the lake").
    public static func factPrompts(_ world: World = .standard) -> [(prompt: String, answer: String)] {
        world.facts.compactMap { fact in
            let statement = fact.statement
            let tail = " " + fact.object + "."
            guard statement.hasSuffix(tail) else { return nil }
            return (String(statement.dropLast(tail.count)), fact.object)
        }
    }

    /// The fraction of toy-world facts the model completes correctly, greedily,
    /// from a fresh document: "<|bos|>Mia lives" -> " by the lake".
    public static func factRecall(_ model: GPT, world: World = .standard) throws -> (rate: Double, examples: [(String, String, Bool)]) {
        let facts = factPrompts(world)
        var rng = RNG(seed: 0)
        let outs = try complete(model, facts.map { "<|bos|>" + $0.prompt }, temperature: 0, maxTokens: 24, rng: &rng)
        var examples: [(String, String, Bool)] = []
        var correct = 0
        for (fact, out) in zip(facts, outs) {
            let ok = out.hasPrefix(" " + fact.answer)
            if ok { correct += 1 }
            examples.append((fact.prompt, out, ok))
        }
        return (Double(correct) / Double(max(facts.count, 1)), examples)
    }

    /// Lower-case words (runs of letters) in a text.
    public static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter }.map(String.init)
    }

    /// The fraction of words in `text` that are real words of the corpus. Single letters
    /// are left out: random characters make plenty of "a"s and "i"s by chance.
    public static func wordRate(_ text: String, vocabulary: Set<String>) -> Double {
        let ws = words(text).filter { $0.count >= 2 }
        if ws.isEmpty { return 0 }
        return Double(ws.filter { vocabulary.contains($0) }.count) / Double(ws.count)
    }
}
