import Kernels
import TinyGPT

/// Two-digit addition and subtraction: the course's "harder material".
///
/// One format everywhere, so the model learns one pattern and we measure that pattern:
///
///     Q: 47 + 38 = ? A: 85
///     Q: 52 - 27 = ? A: 25
///
/// Operands are 10...99; subtraction is written with the larger number first, so no
/// answer is negative. Mid-training text uses these lines, plain equations and worked
/// examples; later stages (SFT, RL) ask the same problems in a chat.
///
/// Split rule (why no held-out problem is ever trained on): a pair of operands is held
/// out iff the FNV-1a hash of "smaller,larger" is divisible by 10 and the larger one is
/// above 20. The rule looks at the unordered pair, so when 47 + 38 is held out, so are
/// 38 + 47 and 47 - 38: the model cannot get a held-out problem right by remembering a
/// mirrored one. Pretraining's sums only use numbers up to 20, so no held-out problem
/// appears there either. About one pair in ten is held out.
public enum Arithmetic {
    public enum Op: String, CaseIterable, Sendable {
        case plus = "+", minus = "-"
    }

    public struct Problem: Hashable, Sendable {
        public let a: Int
        public let op: Op
        public let b: Int

        public init(_ a: Int, _ op: Op, _ b: Int) {
            self.a = a; self.op = op; self.b = b
        }

        public var answer: Int { op == .plus ? a + b : a - b }
        /// "47 + 38"
        public var expression: String { "\(a) \(op.rawValue) \(b)" }
        /// What the model is asked: "Q: 47 + 38 = ? A:" (the answer follows after a space).
        public var prompt: String { "Q: \(expression) = ? A:" }
        /// The whole training line: "Q: 47 + 38 = ? A: 85".
        public var line: String { "\(prompt) \(answer)" }
    }

    /// The operand range: two digits.
    public static let operands = 10...99

    /// The split rule: true if this pair of operands (in either order) is held out.
    public static func isHeldOut(_ a: Int, _ b: Int) -> Bool {
        max(a, b) > 20 && PretrainCorpus.fnv1a("\(min(a, b)),\(max(a, b))") % 10 == 0
    }

    /// Every problem of one split: all ordered additions, all subtractions a - b with a >= b.
    public static func problems(heldOut: Bool) -> [Problem] {
        var out: [Problem] = []
        for a in operands {
            for b in operands where isHeldOut(a, b) == heldOut {
                out.append(Problem(a, .plus, b))
                if a >= b { out.append(Problem(a, .minus, b)) }
            }
        }
        return out
    }

    /// The fixed evaluation set: `count` held-out problems, half additions, half
    /// subtractions, the same ones on every run.
    public static func evalProblems(count: Int) -> [Problem] {
        var rng = RNG(seed: 2024)
        var pool = problems(heldOut: true)
        rng.shuffle(&pool)
        let adds = pool.filter { $0.op == .plus }.prefix((count + 1) / 2)
        let subs = pool.filter { $0.op == .minus }.prefix(count / 2)
        return Array(adds) + Array(subs)
    }

    /// The number a completion starts with (" 85\nQ: ..." -> 85), or nil.
    public static func parseAnswer(_ completion: String) -> Int? {
        let trimmed = completion.drop { $0 == " " }
        var digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        let negative = digits.isEmpty && trimmed.first == "-"
        if negative { digits = trimmed.dropFirst().prefix { $0.isASCII && $0.isNumber } }
        guard !digits.isEmpty, digits.count <= 6, let n = Int(digits) else { return nil }
        return negative ? -n : n
    }

    /// One graded answer.
    public struct Graded: Sendable {
        public let problem: Problem
        public let completion: String
        public var correct: Bool { Arithmetic.parseAnswer(completion) == problem.answer }
    }

    /// Exact-match accuracy: each prompt starts a fresh document ("<|bos|>Q: 47 + 38 = ? A:"),
    /// the model completes it greedily, and the number it writes must be the answer.
    public static func accuracy(_ model: GPT, _ problems: [Problem]) throws -> (accuracy: Double, graded: [Graded]) {
        var rng = RNG(seed: 0)
        let outs = try Probes.complete(model, problems.map { "<|bos|>" + $0.prompt }, temperature: 0, maxTokens: 5, rng: &rng)
        let graded = zip(problems, outs).map { Graded(problem: $0, completion: $1) }
        let correct = graded.filter(\.correct).count
        return (Double(correct) / Double(max(problems.count, 1)), graded)
    }
}
