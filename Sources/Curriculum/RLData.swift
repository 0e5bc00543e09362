import Foundation
import Kernels

/// The prompts of lesson05 (RL with verifiable rewards), written to data/rl/ as JSON lines:
///
///     {"prompt":"What is 247 + 538?","answer":785,"family":"add","rung":2}
///
/// RL data is only questions and the means to check an answer. There is no reply to
/// imitate: the model writes its own replies, and the verifier (`Verifier.reward`) scores
/// them by comparing the final integer with `answer`.
///
/// Each family is a ladder of rungs, easiest first, so that whatever model RL starts from
/// some rung sits at its edge (right sometimes, not always), which is where RL can learn:
///
///     same    n - n                 1: n of two digits   2: three digits    3: four digits
///     add     a + b                 1: one digit         2: two digits      3: three   4: four
///     sub     a - b, larger first   1: one digit         2: two digits
///                                   3: three digits, no borrow   4: three digits, a borrow   5: four
///     chain   several operations    1: two operations    2: three operations
///                                   (two-digit numbers, every intermediate in 0...99)
///
/// SFT taught two-digit sums and differences, three-digit sums and two operations, each with
/// a column trace; the other rungs were never taught. Which rungs RL trains on is not chosen
/// here: lesson05 measures the starting model on them first (`GRPO.findEdge`).
///
/// Split rule, the same as the SFT files' so that no held-out item was ever trained on at
/// any stage: a pair of two-digit operands is held out by `Arithmetic.isHeldOut`, a larger
/// pair by `Conversations.isHeldOutAdd3` (the unordered pair, so 785 - 247 is held out with
/// 247 + 538), an expression ("23 + 45 - 17") by `Conversations.isHeldOutExpression`, and
/// n of "n - n" by `isHeldOutSame`. Held-out prompts are disjoint from the training prompts
/// by construction, and each held-out question is asked once.
public enum RLData {
    public enum Family: String, CaseIterable, Sendable {
        case same, add, sub, chain

        public var title: String {
            switch self {
            case .same: return "n - n"
            case .add: return "a + b"
            case .sub: return "a - b"
            case .chain: return "several operations"
            }
        }

        /// How many rungs the family's ladder has.
        public var rungs: Int {
            switch self {
            case .same: return 3
            case .add: return 4
            case .sub: return 5
            case .chain: return 2
            }
        }
    }

    /// One rung of one family's ladder: the unit the difficulty filter keeps or drops.
    public struct Cell: Hashable, Comparable, Sendable, CustomStringConvertible {
        public let family: Family
        public let rung: Int

        public init(_ family: Family, _ rung: Int) { self.family = family; self.rung = rung }

        /// Every cell, family by family, easiest rung first.
        public static let all: [Cell] = Family.allCases.flatMap { f in (1...f.rungs).map { Cell(f, $0) } }

        public var title: String {
            switch (family, rung) {
            case (.same, _): return "n - n of \(digits) digits"
            case (.add, _): return "\(digits)-digit +"
            case (.sub, 3): return "3-digit - without a borrow"
            case (.sub, 4): return "3-digit - with a borrow"
            case (.sub, _): return "\(digits)-digit -"
            case (.chain, _): return "\(rung + 1) operations"
            }
        }

        /// Digits of each number in the question (chains: two).
        public var digits: Int {
            switch family {
            case .same: return rung + 1
            case .add: return rung
            case .sub: return [1, 2, 3, 3, 4][min(max(rung, 1), 5) - 1]
            case .chain: return 2
            }
        }
        public var description: String { title }

        public static func < (a: Cell, b: Cell) -> Bool {
            let order = Family.allCases
            return (order.firstIndex(of: a.family) ?? 0, a.rung) < (order.firstIndex(of: b.family) ?? 0, b.rung)
        }
    }

    /// One RL prompt: a question and the integer its reply must end with.
    public struct Problem: Equatable, Hashable, Sendable {
        public var prompt: String
        public var answer: Int
        public var family: Family
        /// The rung of the family's ladder, 1 = easiest.
        public var rung: Int

        public var cell: Cell { Cell(family, rung) }

        public init(prompt: String, answer: Int, family: Family, rung: Int = 1) {
            self.prompt = prompt; self.answer = answer; self.family = family; self.rung = rung
        }

        /// The problem written as mid-training's text writes sums ("58 - 27"), read back from
        /// the prompt's phrasing: "What is 58 minus 27?", "Subtract 27 from 58.", "Add 5 and 3."
        /// or an expression ("Compute 99 - 89 + 32."). Nil for a prompt in none of these forms.
        public var expression: String? {
            let words = prompt.split(whereSeparator: { $0 == " " || $0 == "?" || $0 == "." }).map(String.init)
            let numbers = words.compactMap { Int($0) }
            guard numbers.count >= 2, numbers.allSatisfy({ $0 >= 0 }) else { return nil }
            if numbers.count == 2 {
                let (x, y) = (numbers[0], numbers[1])
                if words.contains("plus") || words.first == "Add" { return "\(x) + \(y)" }
                if words.contains("minus") { return "\(x) - \(y)" }
                if words.first == "Subtract" { return "\(y) - \(x)" }
            }
            // Written out: numbers and operators alternate, the first thing a number.
            let symbols = words.filter { Int($0) != nil || $0 == "+" || $0 == "-" }
            guard let first = symbols.firstIndex(where: { Int($0) != nil }) else { return nil }
            let run = Array(symbols[first...].prefix(2 * numbers.count - 1))
            let alternates = run.indices.allSatisfy { ($0 % 2 == 0) == (Int(run[$0]) != nil) }
            return alternates && run.count == 2 * numbers.count - 1 ? run.joined(separator: " ") : nil
        }
    }

    public struct Splits: Sendable {
        public var train: [Problem] = []
        public var valid: [Problem] = []

        public init(train: [Problem] = [], valid: [Problem] = []) { self.train = train; self.valid = valid }
    }

    /// Training prompts per cell: more than a run samples, so a run's filter has a pool to
    /// choose from on every rung.
    public static let trainPerCell = 128
    /// Held-out prompts per cell (every cell, so a lesson can measure each one).
    public static let validCount = 64

    /// Generates both splits from the seed (the SFT files' seed: their training questions are
    /// kept out of the held-out prompts).
    public static func generate(seed: UInt64) -> Splits {
        let sft = Conversations.generate(seed: seed)
        let sftQuestions = Set((sft.instructTrain + sft.thinkTrain).map(\.question))
        var writer = ConversationWriter(rng: RNG(seed: seed &+ 5), world: .standard)
        var s = Splits()
        for cell in Cell.all {
            for heldOut in [false, true] {
                let want = heldOut ? validCount : trainPerCell
                var seen = Set<String>()
                var attempts = 0
                while seen.count < want && attempts < 200 * max(want, 1) {
                    attempts += 1
                    let p = problem(cell, heldOut: heldOut, writer: &writer)
                    guard !(heldOut && sftQuestions.contains(p.prompt)), seen.insert(p.prompt).inserted else { continue }
                    if heldOut { s.valid.append(p) } else { s.train.append(p) }
                }
            }
        }
        var shuffler = RNG(seed: seed &+ 6)
        shuffler.shuffle(&s.train)
        // Held-out problems in turns, one cell after another, so that any prefix (a quick
        // run's, or the periodic measurement's) has every cell in equal parts.
        let byCell = Cell.all.map { c in s.valid.filter { $0.cell == c } }
        s.valid = (0..<validCount).flatMap { i in byCell.compactMap { i < $0.count ? $0[i] : nil } }
        return s
    }

    /// The split rule of `same`: n is held out iff FNV-1a of it is divisible by 5. SFT's rule for
    /// two-digit differences holds out no pair (n, n), and SFT asks a few two-digit n - n, so
    /// `generate` also keeps every SFT training question out of the held-out prompts.
    public static func isHeldOutSame(_ n: Int) -> Bool { PretrainCorpus.fnv1a("\(n)") % 5 == 0 }

    /// The split rule of a pair of operands: the SFT files' rule for their size. One-digit
    /// pairs, which no file before this one asks, hold out one unordered pair in three (there
    /// are only 45), so the held-out rung has enough problems.
    public static func isHeldOutPair(_ a: Int, _ b: Int) -> Bool {
        if max(a, b) <= 9 { return PretrainCorpus.fnv1a("\(min(a, b)),\(max(a, b))") % 3 == 0 }
        return max(a, b) <= 99 ? Arithmetic.isHeldOut(a, b) : Conversations.isHeldOutAdd3(a, b)
    }

    /// The operand range of `digits` digits: 1...9, 10...99, 100...999, ...
    static func range(digits: Int) -> ClosedRange<Int> {
        let low = Int(pow(10, Double(digits - 1)))
        return low...(10 * low - 1)
    }

    /// Does a - b (a >= b) borrow in some column?
    static func borrows(_ a: Int, _ b: Int) -> Bool {
        var x = a, y = b
        while y > 0 {
            if x % 10 < y % 10 { return true }
            x /= 10; y /= 10
        }
        return false
    }

    static func problem(_ cell: Cell, heldOut: Bool, writer: inout ConversationWriter) -> Problem {
        switch cell.family {
        case .same:
            var n = 0
            repeat { n = writer.rng.int(in: range(digits: cell.digits)) } while isHeldOutSame(n) != heldOut
            let prompt: String
            switch writer.rng.int(below: 3) {
            case 0: prompt = "What is \(n) minus \(n)?"
            case 1: prompt = "Subtract \(n) from \(n)."
            default: prompt = writer.arithmeticQuestion("\(n) - \(n)")
            }
            return Problem(prompt: prompt, answer: 0, family: .same, rung: cell.rung)
        case .add, .sub:
            let op: Arithmetic.Op = cell.family == .add ? .plus : .minus
            var a = 0, b = 0
            while true {
                a = writer.rng.int(in: range(digits: cell.digits)); b = writer.rng.int(in: range(digits: cell.digits))
                if op == .minus { (a, b) = (max(a, b), min(a, b)) }
                guard a != b || op == .plus, isHeldOutPair(a, b) == heldOut else { continue }
                if cell == Cell(.sub, 3) && borrows(a, b) { continue }
                if cell == Cell(.sub, 4) && !borrows(a, b) { continue }
                break
            }
            let question: String
            switch writer.rng.int(below: 3) {
            case 0: question = "What is \(a) \(op == .plus ? "plus" : "minus") \(b)?"
            case 1: question = op == .plus ? "Add \(a) and \(b)." : "Subtract \(b) from \(a)."
            default: question = writer.arithmeticQuestion("\(a) \(op.rawValue) \(b)")
            }
            return Problem(prompt: question, answer: op == .plus ? a + b : a - b, family: cell.family, rung: cell.rung)
        case .chain:
            while true {
                let terms = (0...(cell.rung + 1)).map { _ in writer.rng.int(in: 10...99) }
                var value = terms[0], expression = "\(terms[0])", inRange = true
                for t in terms.dropFirst() {
                    let op: Arithmetic.Op = writer.rng.chance(0.5) ? .plus : .minus
                    value = op == .plus ? value + t : value - t
                    expression += " \(op.rawValue) \(t)"
                    inRange = inRange && (0...99).contains(value)
                }
                guard inRange, Conversations.isHeldOutExpression(expression) == heldOut else { continue }
                return Problem(prompt: writer.arithmeticQuestion(expression), answer: value, family: .chain, rung: cell.rung)
            }
        }
    }

    // MARK: JSON lines

    public static func jsonLine(_ p: Problem) -> String {
        "{\"prompt\":\(Conversations.jsonString(p.prompt)),\"answer\":\(p.answer),\"family\":\"\(p.family.rawValue)\",\"rung\":\(p.rung)}"
    }

    public static func jsonl(_ list: [Problem]) -> String {
        list.map(jsonLine).joined(separator: "\n") + (list.isEmpty ? "" : "\n")
    }

    /// Parses a JSONL file's text; a bad line is an error naming the file and the line.
    public static func parse(_ text: String, file: String) throws -> [Problem] {
        try DataFiles.jsonLines(text, file: file).map { line in
            let object = line.object, bad = line.error
            guard let prompt = object["prompt"] as? String, !prompt.isEmpty else {
                throw bad("expected a non-empty string field \"prompt\"")
            }
            // JSONSerialization gives NSNumber; accept only whole numbers.
            guard let number = object["answer"] as? NSNumber, !(object["answer"] is String),
                  let answer = Int(exactly: number.doubleValue) else {
                throw bad("expected an integer field \"answer\"")
            }
            guard let name = object["family"] as? String, let family = Family(rawValue: name) else {
                throw bad("expected a \"family\" field, one of: \(Family.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let r = object["rung"] as? NSNumber, !(object["rung"] is String), let rung = Int(exactly: r.doubleValue),
                  (1...family.rungs).contains(rung) else {
                throw bad("expected an integer field \"rung\" from 1 to \(family.rungs) for family \(family.rawValue)")
            }
            return Problem(prompt: prompt, answer: answer, family: family, rung: rung)
        }
    }

    /// The RL files from data/rl.
    public static func load() throws -> Splits {
        guard let dir = DataFiles.defaultDataDirectory() else {
            throw DataFiles.DataError("cannot find the package's data/ folder (run from inside the package, or run `swift run make-data`)")
        }
        return try DataFiles.loadRL(from: dir)
    }
}
