import Foundation
import Kernels

/// The mid-training text: the kinds of document pretraining had too little of.
///
///     arithmetic  dense two-digit sums, one per line: "Q: 47 + 38 = ? A: 85", plain
///                 equations, worked examples that carry digit by digit, word problems
///     facts       the toy world's facts as questions and answers:
///                 "Q: Where does Mia live? A: by the lake"
///     long        one person's week, day by day, 300-900 characters: longer than
///                 twice the pretraining context. The name appears in the first and
///                 last sentence only; in between it is "she" and "her dog", so
///                 predicting "Rex" needs the beginning of the document.
///
/// The fourth ingredient of the mix, replay of pretraining text, is not stored here:
/// `Midtrain.data` takes it from data/pretrain/train.txt.
///
/// File format: as for pretraining, documents separated by one blank line.
///
/// Split rules: arithmetic documents use only training operand pairs in train and only
/// held-out pairs in valid (`Arithmetic.isHeldOut`); fact and long documents go to
/// valid iff the FNV-1a hash of their text is divisible by `validModulus`.
public enum MidtrainCorpus {
    public enum Kind: String, CaseIterable, Sendable {
        case arithmetic, facts, long
    }

    /// Bytes of each kind in train (valid gets about a tenth as much).
    public static let trainTargetBytes: [Kind: Int] = [.arithmetic: 700_000, .facts: 120_000, .long: 450_000]
    /// One fact or long document in `validModulus` (by hash) is held out.
    public static let validModulus: UInt64 = 10

    /// One fact as the fact documents write it: "Q: Where does Mia live? A: by the lake".
    public static func factLine(_ fact: Fact) -> String { "Q: \(fact.question) A: \(fact.answer)" }

    /// Which kind a document is, from its first characters: arithmetic documents start
    /// with a number or "Q: <digit>", fact documents with "Q: <letter>", long ones with
    /// a sentence.
    public static func kind(of document: String) -> Kind {
        if document.hasPrefix("Q: ") {
            return document.dropFirst(3).first?.isNumber == true ? .arithmetic : .facts
        }
        return document.first?.isNumber == true ? .arithmetic : .long
    }

    /// The two splits as the text written to data/midtrain/{train,valid}.txt.
    public static func generate(seed: UInt64, world: World = .standard) -> (train: String, valid: String) {
        let docs = generateDocuments(seed: seed, world: world)
        return (PretrainCorpus.join(docs.train), PretrainCorpus.join(docs.valid))
    }

    /// The two splits as lists of documents; the kinds are interleaved at random.
    public static func generateDocuments(seed: UInt64, world: World = .standard) -> (train: [String], valid: [String]) {
        var writer = MidtrainWriter(rng: RNG(seed: seed), world: world)
        var train: [String] = [], valid: [String] = []
        var seen = Set<String>()
        for kind in Kind.allCases {
            let target = trainTargetBytes[kind] ?? 0
            var trainBytes = 0, validBytes = 0, attempts = 0
            while (trainBytes < target || (kind == .arithmetic && validBytes < target / 20)) && attempts < 1_000_000 {
                attempts += 1
                switch kind {
                case .arithmetic:
                    // Alternate: nineteen training documents, then one held-out one.
                    let heldOut = attempts % 20 == 0
                    if !heldOut && trainBytes >= target { continue }
                    if heldOut && validBytes >= target / 20 { continue }
                    let doc = writer.arithmetic(heldOut: heldOut)
                    guard seen.insert(doc).inserted else { continue }
                    if heldOut { valid.append(doc); validBytes += doc.utf8.count } else { train.append(doc); trainBytes += doc.utf8.count }
                case .facts, .long:
                    let doc = kind == .facts ? writer.facts() : writer.week()
                    guard seen.insert(doc).inserted else { continue }
                    if PretrainCorpus.fnv1a(doc) % validModulus == 0 {
                        valid.append(doc)
                    } else {
                        train.append(doc)
                        trainBytes += doc.utf8.count
                    }
                }
            }
        }
        writer.rng.shuffle(&train)
        writer.rng.shuffle(&valid)
        return (train, valid)
    }
}

/// Writes one mid-training document at a time from the seeded RNG.
struct MidtrainWriter {
    var rng: RNG
    let world: World

    mutating func pick<T>(_ items: [T]) -> T { rng.pick(items) }
    mutating func chance(_ p: Double) -> Bool { rng.chance(p) }

    // MARK: arithmetic

    /// A random problem of one split (rejection sampling: nine pairs in ten are training pairs).
    mutating func problem(heldOut: Bool) -> Arithmetic.Problem {
        while true {
            let a = rng.int(in: Arithmetic.operands), b = rng.int(in: Arithmetic.operands)
            guard Arithmetic.isHeldOut(a, b) == heldOut else { continue }
            return chance(0.5) ? Arithmetic.Problem(a, .plus, b) : Arithmetic.Problem(max(a, b), .minus, min(a, b))
        }
    }

    /// 4-9 lines, mostly "Q: a + b = ? A: c"; the first line is always a Q/A line or an equation.
    ///
    /// Why so few worked examples and word problems (one line in 40 each): a direct answer is
    /// learned from Q/A lines only, and each long line costs the bytes of four of them.
    mutating func arithmetic(heldOut: Bool) -> String {
        var lines: [String] = []
        for i in 0..<rng.int(in: 4...9) {
            let p = problem(heldOut: heldOut)
            let r = rng.int(below: 40)
            switch r {
            case 0..<37: lines.append(p.line)
            case 37: lines.append("\(p.expression) = \(p.answer).")
            case 38 where i > 0: lines.append(workedExample(p))
            case 39 where i > 0: lines.append(wordProblem(p))
            default: lines.append(p.line)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Column arithmetic in words, ones first:
    /// "47 + 38: ones 7 + 8 = 15, write 5 carry 1. Tens 4 + 3 + 1 = 8. So 47 + 38 = 85."
    func workedExample(_ p: Arithmetic.Problem) -> String {
        let (a1, a0, b1, b0) = (p.a / 10, p.a % 10, p.b / 10, p.b % 10)
        var s = "\(p.expression): "
        switch p.op {
        case .plus:
            let ones = a0 + b0, carry = ones / 10
            s += ones >= 10 ? "ones \(a0) + \(b0) = \(ones), write \(ones % 10) carry 1. " : "ones \(a0) + \(b0) = \(ones). "
            s += carry > 0 ? "Tens \(a1) + \(b1) + 1 = \(a1 + b1 + 1). " : "Tens \(a1) + \(b1) = \(a1 + b1). "
        case .minus:
            if a0 >= b0 {
                s += "ones \(a0) - \(b0) = \(a0 - b0). Tens \(a1) - \(b1) = \(a1 - b1). "
            } else {
                s += "ones \(a0) is less than \(b0), borrow 10: \(a0 + 10) - \(b0) = \(a0 + 10 - b0). "
                s += "Tens \(a1) - 1 - \(b1) = \(a1 - 1 - b1). "
            }
        }
        return s + "So \(p.expression) = \(p.answer)."
    }

    /// The same sum as a toy-world story line.
    mutating func wordProblem(_ p: Arithmetic.Problem) -> String {
        let person = pick(world.people)
        let n = person.name, pr = person.pronoun
        let thing = pick(StoryWriter.finds.map(\.0) + StoryWriter.food)
        switch p.op {
        case .plus:
            return "\(n) had \(thing.count(p.a, inWords: false)) and found \(p.b) more. \(English.capitalized(pr.subject)) had \(thing.count(p.answer, inWords: false)). \(p.expression) = \(p.answer)."
        case .minus:
            return "\(n) had \(thing.count(p.a, inWords: false)) and gave \(p.b) away. \(English.capitalized(pr.subject)) had \(thing.count(p.answer, inWords: false)) left. \(p.expression) = \(p.answer)."
        }
    }

    // MARK: facts

    /// 4-8 questions and answers; half the time all about one person.
    mutating func facts() -> String {
        let pool = chance(0.5) ? world.facts(about: pick(world.people)) : world.facts
        var chosen = pool
        rng.shuffle(&chosen)
        let count = min(chosen.count, rng.int(in: 4...8))
        return chosen.prefix(count).map(MidtrainCorpus.factLine).joined(separator: "\n")
    }

    // MARK: long documents

    /// One person's week, a paragraph per day. Only the first and last sentences use the
    /// name; the days in between say "she"/"he", so the pet's name, the toy's colour or the
    /// home can only be predicted by remembering whose week it is.
    mutating func week() -> String {
        let p = pick(world.people)
        let n = p.name, pr = p.pronoun
        let she = English.capitalized(pr.subject), her = pr.possessive
        let pet = p.pet, kind = pet.kind.singular, toy = p.toy
        var paragraphs: [String] = [pick(["This is the story of \(n)'s week.", "Here is what \(n) did last week.",
                                          "\(n) kept a diary for a week.", "Let me tell you about \(n)'s week."])]
        var episodes = Array(0..<7)
        rng.shuffle(&episodes)
        let days = rng.int(in: 4...7)
        for (d, episode) in episodes.prefix(days).enumerated() {
            let day = "On \(StoryWriter.days[d]), "
            var s: [String] = []
            switch episode {
            case 0:
                let outing = pick(world.outings)
                s.append(day + "\(pr.subject) took \(her) \(kind) \(pet.name) to \(outing.the).")
                s.append("\(pet.name) \(pick(StoryWriter.petActions[kind] ?? ["ran around"])).")
            case 1:
                s.append(day + "\(pr.subject) played with \(her) \(toy.colour) \(toy.kind.singular) \(p.home.location).")
                s.append("The \(toy.kind.singular) \(StoryWriter.toyActions[toy.kind.singular] ?? "was fun").")
            case 2:
                if let f = p.friend, let friend = world.person(named: f) {
                    s.append(day + "\(pr.subject) went to see \(her) best friend \(f), who lives \(friend.home.location).")
                    s.append("They played with \(f)'s \(friend.toy.colour) \(friend.toy.kind.singular).")
                } else {
                    s.append(day + "\(pr.subject) stayed at home \(p.home.location) and read a book.")
                    s.append("\(pet.name) sat next to \(pr.object).")
                }
            case 3:
                let colour = p.favouriteColour
                s.append(day + "\(pr.subject) painted a picture in \(colour), \(her) favourite colour.")
                s.append("\(English.capitalized(colour)) is the colour of \(World.colourOf[colour] ?? "many things").")
            case 4:
                let food = pick(StoryWriter.food)
                let a = rng.int(in: 3...9), b = rng.int(in: 1...(a - 1))
                s.append(day + "\(pr.subject) had \(food.count(a)) and gave \(English.number(b)) to \(pet.name).")
                s.append("\(she) had \(food.count(a - b)) left.")
            case 5:
                let (thing, place) = pick(StoryWriter.finds)
                s.append(day + "\(pr.subject) found \(thing.count(rng.int(in: 2...9))) \(place).")
                s.append("\(she) showed them to \(her) \(kind) \(pet.name).")
            default:
                s.append(day + "\(pr.subject) stayed \(p.home.location) all day.")
                s.append("\(pet.name) \(pick(StoryWriter.petActions[kind] ?? ["slept"])).")
            }
            paragraphs.append(s.map(English.capitalized).joined(separator: " "))
        }
        paragraphs.append(pick(["At the end of the week, \(n) was tired and happy.", "It was a good week for \(n) and \(pet.name).",
                                "That was \(n)'s week.", "\(n) liked this week very much."]))
        return paragraphs.joined(separator: "\n")
    }
}
