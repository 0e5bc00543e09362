import Foundation
import Kernels

/// The pretraining text: thousands of short documents (3-8 sentences) about
/// the toy world: who lives where, pets, toys, colours, outings, counting,
/// and small sums in words and digits ("3 + 4 = 7.").
///
/// Every fact a story states comes from `World.standard`, so "Mia's pet" is
/// the same dog in every document and the model can learn it. Sums stay small
/// (operands up to 20) so they teach the *format* of arithmetic without
/// giving away the multi-digit problems later stages hold out.
///
/// File format: documents separated by one blank line ("\n\n"), ASCII only,
/// ending with a newline. A document never contains a blank line.
///
/// Split rule (why train and valid share no document): documents come from
/// one seeded stream, exact duplicates are dropped, and each remaining
/// document goes to valid iff the FNV-1a 64-bit hash of its text is divisible
/// by `validModulus` (about 1 in 18), otherwise to train. The rule looks only
/// at the text, so a given document can only ever land in one split.
public enum PretrainCorpus {
    /// Between documents.
    public static let separator = "\n\n"
    /// Generation stops once train holds this many bytes (~1.5 MB).
    public static let trainTargetBytes = 1_500_000
    /// One document in `validModulus` (by hash) is held out for validation.
    public static let validModulus: UInt64 = 18

    /// The two splits as the text written to data/pretrain/{train,valid}.txt.
    public static func generate(seed: UInt64, world: World = .standard) -> (train: String, valid: String) {
        let docs = generateDocuments(seed: seed, world: world)
        return (join(docs.train), join(docs.valid))
    }

    /// The two splits as lists of documents, in generation order.
    public static func generateDocuments(seed: UInt64, world: World = .standard) -> (train: [String], valid: [String]) {
        var writer = StoryWriter(rng: RNG(seed: seed), world: world)
        var seen = Set<String>()
        var train: [String] = [], valid: [String] = []
        var trainBytes = 0
        var attempts = 0
        // The attempt cap only guards against a generator bug looping forever.
        while trainBytes < trainTargetBytes && attempts < 1_000_000 {
            attempts += 1
            let doc = writer.document()
            guard seen.insert(doc).inserted else { continue }
            if isValidation(doc) {
                valid.append(doc)
            } else {
                train.append(doc)
                trainBytes += doc.utf8.count + separator.utf8.count
            }
        }
        return (train, valid)
    }

    /// The split rule: true if this document belongs to the validation split.
    public static func isValidation(_ document: String) -> Bool {
        fnv1a(document) % validModulus == 0
    }

    /// Documents joined into file text.
    public static func join(_ documents: [String]) -> String {
        documents.isEmpty ? "" : documents.joined(separator: separator) + "\n"
    }

    /// Splits file text back into documents (the inverse of `join`).
    public static func documents(in text: String) -> [String] {
        text.replacingOccurrences(of: "\r\n", with: "\n")
            .components(separatedBy: separator)
            .map { $0.trimmingCharacters(in: .newlines) }
            .filter { !$0.isEmpty }
    }

    /// FNV-1a, 64-bit. Swift's own `Hasher` is seeded per process, so it
    /// cannot decide a split that must be the same on every run.
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }
}

/// Writes one document at a time. Each `story` method picks a person (or
/// two) from the world and strings together sentences from small templates,
/// drawing every choice from the seeded RNG.
struct StoryWriter {
    var rng: RNG
    let world: World

    // MARK: word lists (fixed, like the world)

    static let food = [Noun("apple"), Noun("pear"), Noun("plum"), Noun("cookie"), Noun("egg"),
                       Noun("cherry", plural: "cherries"), Noun("berry", plural: "berries"),
                       Noun("apricot"), Noun("cake"), Noun("carrot")]
    /// Things you find and keep, with where you find them.
    static let finds: [(Noun, String)] = [
        (Noun("shell"), "on the beach"), (Noun("stone"), "by the river"), (Noun("acorn"), "in the forest"),
        (Noun("leaf", plural: "leaves"), "in the park"), (Noun("feather"), "on the farm"),
        (Noun("flower"), "in the garden"), (Noun("button"), "at school"), (Noun("marble"), "at school"),
        (Noun("sticker"), "at the market"), (Noun("pine cone"), "on the hill"),
    ]
    /// Animals you see outdoors (nobody's pet), with how they leave.
    static let wild: [(Noun, String)] = [
        (Noun("bird"), "flew away"), (Noun("butterfly", plural: "butterflies"), "flew away"),
        (Noun("bee"), "flew away"), (Noun("ladybird"), "flew away"), (Noun("sheep", plural: "sheep"), "walked away"),
        (Noun("cow"), "walked away"), (Noun("squirrel"), "ran away"), (Noun("deer", plural: "deer"), "ran away"),
    ]
    static let petActions: [String: [String]] = [
        "dog": ["barked at a bird", "wagged its tail", "ran after a stick", "dug a hole"],
        "cat": ["purred", "slept in the sun", "chased a leaf", "climbed a tree"],
        "rabbit": ["hopped in the grass", "ate a carrot", "twitched its nose"],
        "horse": ["ran across the field", "ate some hay", "shook its mane"],
        "duck": ["swam in the water", "quacked loudly", "flapped its wings"],
        "goat": ["jumped on a rock", "ate some grass", "climbed a little hill"],
        "frog": ["jumped into the pond", "sat on a big leaf", "croaked"],
        "owl": ["hooted", "flew to a branch", "blinked its big eyes"],
        "hen": ["laid an egg", "pecked at some seeds", "clucked"],
        "pig": ["rolled in the mud", "ate an apple", "grunted happily"],
        "parrot": ["said hello", "sang a song", "flapped its wings"],
        "turtle": ["walked very slowly", "hid in its shell", "ate a leaf"],
    ]
    static let petFood: [String: String] = [
        "dog": "bones", "cat": "fish", "rabbit": "carrots", "horse": "hay", "duck": "bread", "goat": "grass",
        "frog": "flies", "owl": "mice", "hen": "seeds", "pig": "apples", "parrot": "nuts", "turtle": "leaves",
    ]
    static let toyActions: [String: String] = [
        "kite": "flew high in the sky", "ball": "bounced on the grass", "drum": "went boom, boom, boom",
        "boat": "floated on the water", "bike": "went fast down the path", "robot": "beeped and walked",
        "train": "went round and round", "doll": "sat on a little chair", "puzzle": "had many small pieces",
        "whistle": "made a loud sound", "aeroplane": "zoomed through the air", "teddy": "was soft and warm",
    ]
    static let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    static let times = ["One morning", "One day", "In the afternoon", "After school", "One sunny day", "Last week"]

    // MARK: helpers

    mutating func pick<T>(_ items: [T]) -> T { rng.pick(items) }
    mutating func chance(_ p: Double) -> Bool { rng.chance(p) }
    mutating func person() -> Person { pick(world.people) }
    mutating func other(than p: Person) -> Person {
        let others = world.people.filter { $0.name != p.name }
        return pick(others)
    }
    /// The friend if there is one, else someone else; and whether it is the friend.
    mutating func companion(of p: Person) -> (Person, Bool) {
        if let f = p.friend, let friend = world.person(named: f), chance(0.7) { return (friend, true) }
        return (other(than: p), false)
    }
    /// n in words or digits.
    func num(_ n: Int, words: Bool) -> String { words ? English.number(n) : String(n) }

    /// Sentences become one paragraph; each starts with a capital letter.
    func paragraph(_ sentences: [String]) -> String {
        sentences.map(English.capitalized).joined(separator: " ")
    }

    // MARK: documents

    mutating func document() -> String {
        switch rng.int(below: 21) {
        case 0..<3: return profile()
        case 3..<7: return petStory()
        case 7..<11: return countingStory()
        case 11..<13: return sums()
        case 13..<16: return visit()
        case 16..<19: return toyStory()
        default: return outdoors()
        }
    }

    /// A few facts about one person, in varied order and wording.
    mutating func profile() -> String {
        let p = person()
        let n = p.name, pr = p.pronoun, pet = p.pet, toy = p.toy
        var out: [String] = []
        if chance(0.7) { out.append(pick(["This is \(n).", "Meet \(n).", "Let me tell you about \(n).", "Here is \(n)."])) }
        var parts: [(Bool) -> [String]] = []  // argument: may use a pronoun
        parts.append { short in
            short ? ["\(pr.subject) lives \(p.home.location).", "\(pr.possessive) home is \(p.home.location)."]
                  : ["\(n) lives \(p.home.location).", "\(n)'s house is \(p.home.location)."]
        }
        parts.append { short in
            short ? ["\(pr.subject) has \(pet.kind.withArticle) called \(pet.name).",
                     "\(pr.possessive) pet is \(pet.kind.withArticle) named \(pet.name).",
                     "\(pr.possessive) \(pet.kind.singular) is called \(pet.name)."]
                  : ["\(n)'s pet is \(pet.kind.withArticle).", "\(n) has \(pet.kind.withArticle) called \(pet.name).",
                     "\(n)'s \(pet.kind.singular) is called \(pet.name).", "\(pet.name) is \(n)'s \(pet.kind.singular).",
                     "\(n)'s pet is \(pet.kind.withArticle). The \(pet.kind.singular) is called \(pet.name)."]
        }
        parts.append { short in
            short ? ["\(pr.possessive) favourite colour is \(p.favouriteColour).", "\(pr.subject) likes \(p.favouriteColour) best."]
                  : ["\(n)'s favourite colour is \(p.favouriteColour).", "\(n) likes \(p.favouriteColour) best."]
        }
        parts.append { short in
            short ? ["\(pr.subject) has \(toy.description).", "\(pr.possessive) \(toy.kind.singular) is \(toy.colour)."]
                  : ["\(n) has \(toy.description).", "\(n)'s toy is \(toy.kind.withArticle).",
                     "\(n)'s \(toy.kind.singular) is \(toy.colour).",
                     "\(n)'s toy is \(toy.kind.withArticle). It is \(toy.colour)."]
        }
        if let f = p.friend {
            parts.append { short in
                short ? ["\(pr.possessive) best friend is \(f).", "\(pr.subject) and \(f) are best friends."]
                      : ["\(n)'s best friend is \(f).", "\(n) and \(f) are best friends."]
            }
        }
        rng.shuffle(&parts)
        let count = rng.int(in: 3...min(5, parts.count))  // at most 8 sentences with the intro
        for (i, part) in parts.prefix(count).enumerated() {
            let short = (i > 0 || !out.isEmpty) && chance(0.5)
            out.append(pick(part(short)))
        }
        return paragraph(out)
    }

    /// A person goes somewhere with their pet; the pet does what that animal does.
    mutating func petStory() -> String {
        let p = person()
        let n = p.name, pr = p.pronoun, pet = p.pet, kind = pet.kind.singular
        let outing = pick(world.outings)
        var out: [String] = []
        if chance(0.5) {
            out.append(pick(["\(n) has \(pet.kind.withArticle) called \(pet.name).", "\(pet.name) is \(n)'s \(kind).",
                             "\(n)'s pet is \(pet.kind.withArticle).", "\(n)'s \(kind) is called \(pet.name)."]))
        }
        out.append(pick([
            "\(pick(Self.times)), \(n) took \(pr.possessive) \(kind) \(pet.name) to \(outing.the).",
            "\(n) and \(pr.possessive) \(kind) \(pet.name) went to \(outing.the).",
            "On \(pick(Self.days)), \(n) walked to \(outing.the) with \(pet.name).",
            "\(pick(Self.times)), \(n) and \(pet.name) played \(p.home.location).",
        ]))
        var actions = Self.petActions[kind] ?? ["ran around"]
        rng.shuffle(&actions)
        for action in actions.prefix(rng.int(in: 1...2)) { out.append("\(pet.name) \(action).") }
        switch rng.int(below: 4) {
        case 0: out.append("\(pr.subject) gave \(pet.name) some \(Self.petFood[kind] ?? "food").")
        case 1: out.append("\(pet.name) likes \(Self.petFood[kind] ?? "food").")
        case 2:
            let (animal, _) = pick(Self.wild)
            out.append("They saw \(animal.count(rng.int(in: 2...9), inWords: chance(0.7))).")
        default: out.append(pick(["\(n) laughed.", "\(n) smiled.", "\(pet.name) was very happy."]))
        }
        out.append(pick([
            "Then they went back to their house \(p.home.location).",
            "In the evening, \(n) and \(pet.name) went home.",
            "\(pet.name) was tired but happy.",
            "It was a good day.",
            "At night, \(pet.name) slept \(p.home.location).",
        ]))
        return paragraph(out)
    }

    /// Counting and small sums inside a story, in words or digits.
    mutating func countingStory() -> String {
        let p = person()
        let n = p.name, pr = p.pronoun
        let words = chance(0.6)
        var out: [String] = []
        let other = self.other(than: p)
        var a: Int, b: Int, c: Int, adding: Bool
        switch rng.int(below: 5) {
        case 0:  // got more
            let thing = pick(Self.food)
            a = rng.int(in: 1...9); b = rng.int(in: 1...9); c = a + b; adding = true
            out.append("\(n) had \(thing.count(a, inWords: words)) and got \(num(b, words: words)) more, so \(pr.subject) had \(thing.count(c, inWords: words)).")
        case 1:  // given more by someone
            let thing = pick(Self.food)
            a = rng.int(in: 1...9); b = rng.int(in: 1...9); c = a + b; adding = true
            out.append("\(n) had \(thing.count(a, inWords: words)).")
            out.append("\(other.name) gave \(pr.object) \(num(b, words: words)) more.")
            out.append("Then \(n) had \(thing.count(c, inWords: words)).")
        case 2:  // found more
            let (thing, place) = pick(Self.finds)
            a = rng.int(in: 1...9); b = rng.int(in: 1...9); c = a + b; adding = true
            out.append("\(n) found \(thing.count(a, inWords: words)) \(place).")
            out.append("Then \(pr.subject) found \(num(b, words: words)) more.")
            out.append("\(pr.subject) had \(thing.count(c, inWords: words)) in all.")
        case 3:  // ate some
            let thing = pick(Self.food)
            a = rng.int(in: 2...12); b = rng.int(in: 1...(a - 1)); c = a - b; adding = false
            out.append("\(n) had \(thing.count(a, inWords: words)).")
            out.append("\(pr.subject) ate \(num(b, words: words)) of them.")
            out.append("Then \(pr.subject) had \(thing.count(c, inWords: words)) left.")
        default:  // gave some away
            let (thing, _) = pick(Self.finds)
            a = rng.int(in: 2...12); b = rng.int(in: 1...(a - 1)); c = a - b; adding = false
            out.append("\(n) had \(thing.count(a, inWords: words)) and gave \(num(b, words: words)) to \(other.name), so \(pr.subject) had \(thing.count(c, inWords: words)) left.")
        }
        // A scene-setting first sentence; always when the sum took one sentence,
        // so every document has at least three.
        if out.count == 1 || chance(0.4) {
            out.insert(pick([
                "\(pick(Self.times)), \(n) was at home \(p.home.location).",
                "It was a sunny day \(p.home.location).",
                "\(pick(Self.times)), \(n) went for a walk with \(pr.possessive) \(p.pet.kind.singular) \(p.pet.name).",
                "\(n) lives \(p.home.location).",
            ]), at: 0)
        }
        if chance(0.7) {
            let op = adding ? "+" : "-", opWord = adding ? "plus" : "minus"
            out.append(chance(0.5) ? "\(a) \(op) \(b) = \(c)."
                                   : "\(English.number(a)) \(opWord) \(English.number(b)) is \(English.number(c)).")
        }
        if out.count < 3 || chance(0.5) {
            out.append(pick(["\(n) was happy.", "\(pr.subject) put them in a box.", "\(p.pet.name) watched.",
                             "\(pr.subject) told \(other.name) about it."]))
        }
        return paragraph(out)
    }

    /// A few lines of arithmetic and counting, one per line.
    mutating func sums() -> String {
        var lines: [String] = []
        if chance(0.5) {
            lines.append(pick(["\(person().name) did some sums.", "Here are some sums.", "Let us count.",
                               "\(person().name) wrote these sums:"]))
        }
        for _ in 0..<rng.int(in: 3...7) {
            let big = chance(0.3)
            let a = rng.int(in: 0...(big ? 20 : 10)), b = rng.int(in: 0...(big ? 20 : 10))
            let (hi, lo) = (max(a, b), min(a, b))
            switch rng.int(below: 7) {
            case 0, 1: lines.append("\(a) + \(b) = \(a + b).")
            case 2: lines.append("\(hi) - \(lo) = \(hi - lo).")
            case 3: lines.append("\(English.number(a)) plus \(English.number(b)) is \(English.number(a + b)).")
            case 4: lines.append("\(English.number(hi)) minus \(English.number(lo)) is \(English.number(hi - lo)).")
            case 5: lines.append("\(English.number(a)) and \(English.number(b)) make \(English.number(a + b)).")
            default:
                let start = rng.int(in: 1...10), step = rng.int(in: 1...3), count = rng.int(in: 4...6)
                let seq = (0..<count).map { start + $0 * step }
                lines.append(chance(0.5) ? seq.map(String.init).joined(separator: ", ") + "."
                                         : seq.map(English.number).joined(separator: ", ") + ".")
            }
        }
        return lines.map(English.capitalized).joined(separator: "\n")
    }

    /// One person visits another; the host's home, pet and toy are the world's.
    mutating func visit() -> String {
        let p = person()
        let (q, isFriend) = companion(of: p)
        let n = p.name, m = q.name
        var out: [String] = []
        out.append(isFriend ? pick(["\(n) went to see \(p.pronoun.possessive) best friend \(m).",
                                    "\(n) visited \(p.pronoun.possessive) best friend \(m)."])
                            : pick(["\(n) went to see \(m).", "\(pick(Self.times)), \(n) visited \(m)."]))
        out.append(pick(["\(m) lives \(q.home.location).", "\(m)'s house is \(q.home.location).",
                         "\(n) walked to \(q.home.the) to see \(m)."]))
        var middle: [String] = [
            "\(m)'s \(q.pet.kind.singular) \(q.pet.name) \(pick(Self.petActions[q.pet.kind.singular] ?? ["ran around"])).",
            "\(m) showed \(n) \(q.pronoun.possessive) \(q.toy.colour) \(q.toy.kind.singular).",
            "They played with \(m)'s \(q.toy.kind.singular) until lunch.",
            "They ate \(pick(Self.food).count(rng.int(in: 2...6), inWords: true)) together.",
            "\(n) brought \(p.pronoun.possessive) \(p.pet.kind.singular) \(p.pet.name) along.",
        ]
        rng.shuffle(&middle)
        out += middle.prefix(rng.int(in: 1...3))
        out.append(pick(["At the end of the day, \(n) went home to \(p.home.the).",
                         "Then \(n) went back home.", "\(n) said goodbye and went home.",
                         "It was a happy day for \(n) and \(m)."]))
        return paragraph(out)
    }

    /// A person plays with their toy; colours are the world's.
    mutating func toyStory() -> String {
        let p = person()
        let n = p.name, pr = p.pronoun, toy = p.toy, kind = toy.kind.singular
        var out: [String] = []
        out.append(pick([
            "\(n) has \(toy.description).",
            "\(n)'s \(kind) is \(toy.colour).",
            "\(pick(Self.times)), \(n) took \(pr.possessive) \(toy.colour) \(kind) to \(pick(world.outings).the).",
            "\(n) played with \(pr.possessive) \(toy.colour) \(kind) \(p.home.location).",
        ]))
        out.append("The \(kind) \(Self.toyActions[kind] ?? "was fun").")
        if chance(0.5) {
            out.append(pick([
                "\(pr.possessive) favourite colour is \(p.favouriteColour), the colour of \(World.colourOf[p.favouriteColour] ?? "many things").",
                "The \(kind) is \(toy.colour), but \(pr.possessive) favourite colour is \(p.favouriteColour).",
                "\(n)'s favourite colour is \(p.favouriteColour).",
            ]))
        }
        if let f = p.friend, let friend = world.person(named: f), chance(0.5) {
            out.append("\(f) came to play too.")
            out.append(pick(["\(f) brought \(friend.pronoun.possessive) \(friend.toy.colour) \(friend.toy.kind.singular).",
                             "\(f) has \(friend.toy.description).",
                             "They played together until tea time."]))
        }
        out.append(pick(["\(pr.subject) put the \(kind) away and went to bed.", "It was a fun day.",
                         "\(p.pet.name) watched \(n) play.", "\(n) loves \(pr.possessive) \(kind)."]))
        return paragraph(out)
    }

    /// Counting animals outdoors: some leave, the rest are counted.
    mutating func outdoors() -> String {
        let p = person()
        let n = p.name, pr = p.pronoun
        let (animal, leave) = pick(Self.wild)
        let place = pick(world.homes + world.outings)
        let words = chance(0.7)
        let total = rng.int(in: 2...9), gone = rng.int(in: 1...(total - 1)), left = total - gone
        var out: [String] = []
        if chance(0.4) {
            out.append(pick(["It was a sunny day.", "The sky was blue and the grass was green.",
                             "\(pick(Self.times)), \(n) went for a walk."]))
        }
        out.append("\(n) saw \(animal.count(total, inWords: words)) \(place.location).")
        out.append("Then \(num(gone, words: words)) of them \(leave).")
        out.append("Now there \(left == 1 ? "was" : "were") \(animal.count(left, inWords: words)) left.")
        if left > 1 && chance(0.5) {
            out.append("\(pr.subject) counted them: " + (1...left).map(English.number).joined(separator: ", ") + ".")
        }
        if chance(0.5) {
            out.append(chance(0.5) ? "\(total) - \(gone) = \(left)."
                                   : "\(English.number(total)) minus \(English.number(gone)) is \(English.number(left)).")
        }
        return paragraph(out)
    }
}
