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
        /// A sum with no carry (both columns under 10) or a difference with no borrow.
        public var isCarryFree: Bool { Arithmetic.isCarryFree(a, op, b) }
    }

    /// Which problems a tier trains on and measures. The full course takes them all. The
    /// quick tier keeps sums without a carry and differences without a borrow: each answer
    /// digit is then one column fact, which the tiny model learns in its budget, while the
    /// carry rule takes it many times longer (docs/experiments.md, "Quick tier").
    public enum Level: String, Sendable {
        case all
        case carryFree = "carry-free"

        public func admits(_ p: Problem) -> Bool { self == .all || p.isCarryFree }
    }

    /// True for a + b with no column summing to 10 or more, and a - b (a >= b) with no
    /// column needing a borrow.
    public static func isCarryFree(_ a: Int, _ op: Op, _ b: Int) -> Bool {
        var x = a, y = b
        if op == .minus && a < b { return false }
        while x > 0 || y > 0 {
            let (dx, dy) = (x % 10, y % 10)
            if op == .plus ? dx + dy >= 10 : dx < dy { return false }
            x /= 10; y /= 10
        }
        return true
    }

    /// True if every "a + b" and "a - b" written in `line` is carry-free (a line with none is
    /// kept). Reads worked examples and word problems too: "Sam had 93 eggs ... 93 + 15 = 108."
    public static func isCarryFree(line: Substring) -> Bool {
        let words = line.split(separator: " ")
        for i in words.indices.dropFirst().dropLast() {
            guard let op = Op(rawValue: String(words[i])) else { continue }
            func number(_ w: Substring) -> Int? { Int(w.filter { $0.isASCII && $0.isNumber }) }
            guard let a = number(words[i - 1]), let b = number(words[i + 1]) else { continue }
            if !isCarryFree(a, op, b) { return false }
        }
        return true
    }

    /// A document with only the lines `level` admits (nil if none is left).
    public static func keeping(_ level: Level, in document: String) -> String? {
        guard level == .carryFree else { return document }
        let lines = document.split(separator: "\n", omittingEmptySubsequences: false).filter { isCarryFree(line: $0) }
        let kept = lines.joined(separator: "\n")
        return kept.contains { !$0.isWhitespace } ? kept : nil
    }

    /// The operand range: two digits.
    public static let operands = 10...99

    /// The split rule: true if this pair of operands (in either order) is held out.
    public static func isHeldOut(_ a: Int, _ b: Int) -> Bool {
        max(a, b) > 20 && PretrainCorpus.fnv1a("\(min(a, b)),\(max(a, b))") % 10 == 0
    }

    /// Every problem of one split: all ordered additions, all subtractions a - b with a >= b
    /// (those `level` admits).
    public static func problems(heldOut: Bool, level: Level = .all) -> [Problem] {
        var out: [Problem] = []
        for a in operands {
            for b in operands where isHeldOut(a, b) == heldOut {
                out.append(Problem(a, .plus, b))
                if a >= b { out.append(Problem(a, .minus, b)) }
            }
        }
        return out.filter(level.admits)
    }

    /// The fixed evaluation set: `count` held-out problems of `level`, half additions, half
    /// subtractions, the same ones on every run.
    public static func evalProblems(count: Int, level: Level = .all) -> [Problem] {
        var rng = RNG(seed: 2024)
        var pool = problems(heldOut: true, level: level)
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
