import Foundation
import Kernels

/// The prompts of lesson05 (RL with verifiable rewards), written to data/rl/ as JSON lines:
///
///     {"prompt":"What is 247 + 538?","answer":785,"family":"add3"}
///
/// RL data is only questions and the means to check an answer. There is no reply to
/// imitate: the model writes its own replies, and the verifier (`Verifier.reward`) scores
/// them by comparing the final integer with `answer`.
///
/// Families, asked in the SFT files' phrasings ("What is ...?", "Compute ...", "Add ... and ..."):
///
///     same      a number minus itself, "What is 347 - 347?" (the only family the models of
///               lessons 01-04 sometimes get right: RL's foothold)
///     add2      two-digit + and - (what SFT taught most)
///     add3      three-digit addition (SFT taught it, with a trace, 800 times)
///     sub3      three-digit subtraction, larger first (never in SFT: a notch harder)
///     twoStep   two operations on two-digit numbers, every intermediate in 0...99
///
/// Split rule, the same as the SFT files' so that no held-out item was ever trained on at
/// any stage: an operand pair is held out by `Arithmetic.isHeldOut` (add2) or by
/// `Conversations.isHeldOutAdd3` (add3 and sub3: the unordered pair, so 785 - 247 is held
/// out with 247 + 538); an expression ("23 + 45 - 17") by `Conversations.isHeldOutExpression`;
/// n of "n - n" by `isHeldOutSame`.
/// Held-out prompts are disjoint from the training prompts by construction, and each
/// held-out question is asked once.
public enum RLData {
    public enum Family: String, CaseIterable, Sendable {
        case same, add2, add3, sub3, twoStep

        public var title: String {
            switch self {
            case .same: return "n - n"
            case .add2: return "2-digit + and -"
            case .add3: return "3-digit +"
            case .sub3: return "3-digit -"
            case .twoStep: return "two operations"
            }
        }
    }

    /// One RL prompt: a question and the integer its reply must end with.
    public struct Problem: Equatable, Hashable, Sendable {
        public var prompt: String
        public var answer: Int
        public var family: Family

        public init(prompt: String, answer: Int, family: Family) {
            self.prompt = prompt; self.answer = answer; self.family = family
        }
    }

    public struct Splits: Sendable {
        public var train: [Problem] = []
        public var valid: [Problem] = []

        public init(train: [Problem] = [], valid: [Problem] = []) { self.train = train; self.valid = valid }
    }

    /// Training prompts per family: the RL distribution, chosen by measuring the starting
    /// model (lesson05 step 3, GUIDE.md chapter 05). The dpo model cannot do arithmetic:
    /// pass@8 is 0-3% on every arithmetic family, so there is almost no group with a right
    /// reply for RL to reinforce. The one family with a foothold is `same`, "n - n" (pass@8
    /// about 5-10%), so it is a quarter of the prompts; the arithmetic we want is the rest.
    public static let trainCounts: [Family: Int] = [.same: 600, .add2: 1200, .add3: 200, .sub3: 200, .twoStep: 200]
    /// Held-out prompts per family (every family, so a lesson can measure each one).
    public static let validCount = 32

    /// Generates both splits from the seed.
    public static func generate(seed: UInt64) -> Splits {
        var writer = ConversationWriter(rng: RNG(seed: seed &+ 5), world: .standard)
        var s = Splits()
        for family in Family.allCases {
            for heldOut in [false, true] {
                let want = heldOut ? validCount : trainCounts[family] ?? 0
                var seen = Set<String>()
                var attempts = 0
                while seen.count < want && attempts < 200 * max(want, 1) {
                    attempts += 1
                    let p = problem(family, heldOut: heldOut, writer: &writer)
                    guard seen.insert(p.prompt).inserted else { continue }
                    if heldOut { s.valid.append(p) } else { s.train.append(p) }
                }
            }
        }
        var shuffler = RNG(seed: seed &+ 6)
        shuffler.shuffle(&s.train)
        // Held-out problems in turns, one family after another, so that any prefix (a quick
        // run's, or the periodic measurement's) has every family in equal parts.
        let byFamily = Family.allCases.map { f in s.valid.filter { $0.family == f } }
        s.valid = (0..<validCount).flatMap { i in byFamily.compactMap { i < $0.count ? $0[i] : nil } }
        return s
    }

    /// The split rule of `same`: the number is held out iff FNV-1a of it is divisible by 10.
    public static func isHeldOutSame(_ n: Int) -> Bool { PretrainCorpus.fnv1a("\(n)") % 10 == 0 }

    static func problem(_ family: Family, heldOut: Bool, writer: inout ConversationWriter) -> Problem {
        switch family {
        case .add2:
            let item = writer.arithmetic(heldOut: heldOut)
            return Problem(prompt: item.question, answer: Int(item.answer)!, family: family)
        case .add3:
            let item = writer.add3(heldOut: heldOut)
            return Problem(prompt: item.question, answer: Int(item.answer)!, family: family)
        case .twoStep:
            let item = writer.twoStep(heldOut: heldOut)
            return Problem(prompt: item.question, answer: Int(item.answer)!, family: family)
        case .same:
            var n = 0
            repeat { n = writer.rng.int(in: 10...999) } while isHeldOutSame(n) != heldOut
            let prompt: String
            switch writer.rng.int(below: 3) {
            case 0: prompt = "What is \(n) minus \(n)?"
            case 1: prompt = "Subtract \(n) from \(n)."
            default: prompt = writer.arithmeticQuestion("\(n) - \(n)")
            }
            return Problem(prompt: prompt, answer: 0, family: family)
        case .sub3:
            var a = 0, b = 0
            repeat {
                a = writer.rng.int(in: 100...999); b = writer.rng.int(in: 100...999)
            } while a == b || Conversations.isHeldOutAdd3(a, b) != heldOut
            let (x, y) = (max(a, b), min(a, b))
            return Problem(prompt: writer.arithmeticQuestion("\(x) - \(y)"), answer: x - y, family: family)
        }
    }

    // MARK: JSON lines

    public static func jsonLine(_ p: Problem) -> String {
        "{\"prompt\":\(Conversations.jsonString(p.prompt)),\"answer\":\(p.answer),\"family\":\"\(p.family.rawValue)\"}"
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
            return Problem(prompt: prompt, answer: answer, family: family)
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
