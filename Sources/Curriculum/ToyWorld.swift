import Foundation

// The toy world: a small cast with fixed pets, colours, homes, toys and
// friends. Every stage reuses it: pretraining text states its facts in
// stories, mid-training and SFT ask about them, DPO prefers the true answer
// to a wrong one. Because the world is a hand-written table (not random), a
// student can open this file and check any answer the model gives.
//
//     let world = World.standard
//     for fact in world.facts {
//         fact.statement   // "Mia lives by the lake."
//         fact.question    // "Where does Mia live?"
//         fact.answer      // "by the lake"
//         world.wrongAnswers(for: fact)  // ["on the hill", "in the forest", ...]
//     }

/// A countable noun with its plural, because English plurals are not always
/// "+s" (sheep, berries, leaves).
public struct Noun: Hashable, Sendable {
    public let singular: String
    public let plural: String

    public init(_ singular: String, plural: String? = nil) {
        self.singular = singular
        self.plural = plural ?? singular + "s"
    }

    /// "a dog", "an owl".
    public var withArticle: String { English.article(for: singular) + " " + singular }

    /// "one apple" / "three apples" (words) or "1 apple" / "3 apples" (digits).
    public func count(_ n: Int, inWords: Bool = true) -> String {
        let number = inWords ? English.number(n) : String(n)
        return number + " " + (n == 1 ? singular : plural)
    }
}

/// A place people live in or visit, with the preposition English uses for it.
public struct Place: Hashable, Sendable {
    public let name: String         // "lake"
    public let preposition: String  // "by"

    public init(_ name: String, _ preposition: String) {
        self.name = name
        self.preposition = preposition
    }

    /// "the lake", for "went to the lake".
    public var the: String { "the " + name }
    /// "by the lake", for "lives by the lake".
    public var location: String { preposition + " the " + name }
}

/// A person's pet: what kind of animal it is and what it is called.
public struct Pet: Hashable, Sendable {
    public let kind: Noun   // dog
    public let name: String // Rex

    public init(kind: Noun, name: String) {
        self.kind = kind
        self.name = name
    }
}

/// A person's toy and its colour.
public struct Toy: Hashable, Sendable {
    public let kind: Noun
    public let colour: String

    public init(kind: Noun, colour: String) {
        self.kind = kind
        self.colour = colour
    }

    /// "a red kite", "an orange aeroplane".
    public var description: String {
        English.article(for: colour) + " " + colour + " " + kind.singular
    }
}

/// One member of the cast. All attributes are fixed: the same person has the
/// same pet, colour, home, toy and friend in every document of every stage.
public struct Person: Hashable, Sendable {
    public enum Pronoun: Hashable, Sendable {
        case he, she
        /// "he" / "she"
        public var subject: String { self == .he ? "he" : "she" }
        /// "him" / "her"
        public var object: String { self == .he ? "him" : "her" }
        /// "his" / "her"
        public var possessive: String { self == .he ? "his" : "her" }
    }

    public let name: String
    public let pronoun: Pronoun
    public let pet: Pet
    public let favouriteColour: String
    public let home: Place
    public let toy: Toy
    /// Best friend (friendship is mutual), or nil: not everyone has one.
    public let friend: String?

    public init(name: String, pronoun: Pronoun, pet: Pet, favouriteColour: String, home: Place, toy: Toy,
                friend: String?) {
        self.name = name
        self.pronoun = pronoun
        self.pet = pet
        self.favouriteColour = favouriteColour
        self.home = home
        self.toy = toy
        self.friend = friend
    }
}

/// One true statement about the world, as subject / relation / object.
///
/// `object` is always the short answer to `question`, so Q/A, SFT and
/// preference generators need nothing else:
///
///     subject       relation         object        statement
///     "Mia"         .pet             "a dog"       "Mia's pet is a dog."
///     "Mia's dog"   .petName         "Rex"         "Mia's dog is called Rex."
///     "Mia"         .favouriteColour "blue"        "Mia's favourite colour is blue."
///     "Mia"         .home            "by the lake" "Mia lives by the lake."
///     "Mia"         .toy             "a kite"      "Mia's toy is a kite."
///     "Mia's kite"  .toyColour       "red"         "Mia's kite is red."
///     "Mia"         .friend          "Tom"         "Mia's best friend is Tom."
public struct Fact: Hashable, Sendable {
    public enum Relation: String, CaseIterable, Sendable {
        case pet, petName, favouriteColour, home, toy, toyColour, friend
    }

    public let subject: String
    public let relation: Relation
    public let object: String

    public init(subject: String, relation: Relation, object: String) {
        self.subject = subject
        self.relation = relation
        self.object = object
    }

    /// The fact as one sentence, e.g. "Mia lives by the lake."
    public var statement: String {
        switch relation {
        case .pet: return "\(subject)'s pet is \(object)."
        case .petName: return "\(subject) is called \(object)."
        case .favouriteColour: return "\(subject)'s favourite colour is \(object)."
        case .home: return "\(subject) lives \(object)."
        case .toy: return "\(subject)'s toy is \(object)."
        case .toyColour: return "\(subject) is \(object)."
        case .friend: return "\(subject)'s best friend is \(object)."
        }
    }

    /// The question whose short answer is `answer`, e.g. "Where does Mia live?"
    public var question: String {
        switch relation {
        case .pet: return "What pet does \(subject) have?"
        case .petName: return "What is \(subject) called?"
        case .favouriteColour: return "What is \(subject)'s favourite colour?"
        case .home: return "Where does \(subject) live?"
        case .toy: return "What toy does \(subject) have?"
        case .toyColour: return "What colour is \(subject)?"
        case .friend: return "Who is \(subject)'s best friend?"
        }
    }

    /// The short answer, e.g. "by the lake" (the same as `object`).
    public var answer: String { object }
}

/// The whole toy world: the cast plus the word lists stories draw from.
public struct World: Sendable {
    public let people: [Person]
    /// Kinds of pet; each person's pet is a different kind.
    public let animals: [Noun]
    public let colours: [String]
    /// Kinds of toy; each person's toy is a different kind.
    public let toys: [Noun]
    /// Where people live (two people per place).
    public let homes: [Place]
    /// Places people go to but nobody lives in.
    public let outings: [Place]

    /// The one world every stage uses.
    public static let standard = World.build()

    /// A custom world (an exercise: change the cast and retrain). Stories
    /// assume each person's pet and toy kinds are unique.
    public init(people: [Person], animals: [Noun], colours: [String], toys: [Noun], homes: [Place], outings: [Place]) {
        self.people = people
        self.animals = animals
        self.colours = colours
        self.toys = toys
        self.homes = homes
        self.outings = outings
    }

    /// The person with this name, if any.
    public func person(named name: String) -> Person? {
        people.first { $0.name == name }
    }

    /// Every fact about one person, in `Fact.Relation` order (no friend fact
    /// for someone without a friend).
    public func facts(about p: Person) -> [Fact] {
        var f = [
            Fact(subject: p.name, relation: .pet, object: p.pet.kind.withArticle),
            Fact(subject: "\(p.name)'s \(p.pet.kind.singular)", relation: .petName, object: p.pet.name),
            Fact(subject: p.name, relation: .favouriteColour, object: p.favouriteColour),
            Fact(subject: p.name, relation: .home, object: p.home.location),
            Fact(subject: p.name, relation: .toy, object: p.toy.kind.withArticle),
            Fact(subject: "\(p.name)'s \(p.toy.kind.singular)", relation: .toyColour, object: p.toy.colour),
        ]
        if let friend = p.friend { f.append(Fact(subject: p.name, relation: .friend, object: friend)) }
        return f
    }

    /// All facts, person by person (82 for the standard world).
    public var facts: [Fact] { people.flatMap { facts(about: $0) } }

    /// Plausible but false answers to a fact's question: answers of the same
    /// kind (other animals, other colours, other homes, ...) that differ from
    /// the true one. For preference pairs and multiple-choice distractors.
    public func wrongAnswers(for fact: Fact) -> [String] {
        let candidates: [String]
        switch fact.relation {
        case .pet: candidates = animals.map(\.withArticle)
        case .petName: candidates = people.map(\.pet.name)
        case .favouriteColour, .toyColour: candidates = colours
        case .home: candidates = homes.map(\.location)
        case .toy: candidates = toys.map(\.withArticle)
        case .friend: candidates = people.map(\.name).filter { $0 != fact.subject }
        }
        return candidates.filter { $0 != fact.object }
    }

    /// Something everyone knows has each colour, so stories can say
    /// "blue, the colour of the sky". These never change either.
    public static let colourOf: [String: String] = [
        "red": "strawberries", "blue": "the sky", "green": "grass", "yellow": "the sun",
        "orange": "carrots", "purple": "plums", "pink": "flamingos", "white": "snow",
        "black": "the night sky", "brown": "mud",
    ]

    private static func build() -> World {
        let lake = Place("lake", "by"), hill = Place("hill", "on"), forest = Place("forest", "in")
        let farm = Place("farm", "on"), river = Place("river", "by"), town = Place("town", "in")
        let animals = ["dog", "cat", "rabbit", "horse", "duck", "goat",
                       "frog", "owl", "hen", "pig", "parrot", "turtle"].map { Noun($0) }
        let toys = [Noun("kite"), Noun("ball"), Noun("drum"), Noun("boat"), Noun("bike"), Noun("robot"),
                    Noun("train"), Noun("doll"), Noun("puzzle"), Noun("whistle"), Noun("aeroplane"),
                    Noun("teddy", plural: "teddies")]
        func toy(_ name: String) -> Noun { toys.first { $0.singular == name } ?? Noun(name) }
        func animal(_ name: String) -> Noun { animals.first { $0.singular == name } ?? Noun(name) }
        func p(_ name: String, _ pronoun: Person.Pronoun, _ kind: String, _ petName: String,
               _ favourite: String, _ home: Place, _ toyColour: String, _ toyKind: String,
               _ friend: String?) -> Person {
            Person(name: name, pronoun: pronoun, pet: Pet(kind: animal(kind), name: petName),
                   favouriteColour: favourite, home: home,
                   toy: Toy(kind: toy(toyKind), colour: toyColour), friend: friend)
        }
        // name    pet                 favourite home    toy                       friend
        let people = [
            p("Mia", .she, "dog", "Rex", "blue", lake, "red", "kite", "Tom"),
            p("Tom", .he, "cat", "Tibby", "green", hill, "yellow", "ball", "Mia"),
            p("Ava", .she, "rabbit", "Coco", "purple", forest, "orange", "drum", "Ben"),
            p("Ben", .he, "horse", "Star", "red", farm, "blue", "boat", "Ava"),
            p("Zoe", .she, "duck", "Puddle", "yellow", river, "green", "bike", "Leo"),
            p("Leo", .he, "goat", "Billy", "orange", town, "black", "robot", "Zoe"),
            p("Sam", .he, "frog", "Hop", "brown", lake, "red", "train", "Lily"),
            p("Lily", .she, "owl", "Hoot", "white", hill, "pink", "doll", "Sam"),
            p("Max", .he, "hen", "Penny", "black", forest, "purple", "puzzle", "Nina"),
            p("Nina", .she, "pig", "Pip", "pink", farm, "white", "whistle", "Max"),
            p("Omar", .he, "parrot", "Polly", "green", river, "orange", "aeroplane", nil),
            p("Ivy", .she, "turtle", "Shelly", "purple", town, "brown", "teddy", nil),
        ]
        return World(
            people: people, animals: animals,
            colours: ["red", "blue", "green", "yellow", "orange", "purple", "pink", "white", "black", "brown"],
            toys: toys, homes: [lake, hill, forest, farm, river, town],
            outings: [Place("park", "in"), Place("beach", "on"), Place("shop", "at"),
                      Place("zoo", "at"), Place("garden", "in"), Place("market", "at")])
    }
}

/// Small English helpers the generators share, so every stage writes
/// "an owl", "1 apple" and "twenty-one" the same way.
public enum English {
    /// "a" or "an" for the word that follows (by its first letter; enough
    /// for the toy world's words).
    public static func article(for word: String) -> String {
        guard let first = word.lowercased().first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }

    private static let ones = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                               "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                               "sixteen", "seventeen", "eighteen", "nineteen"]
    private static let tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

    /// A number in words: 0...999 ("seven", "twenty-one", "three hundred and
    /// five"); other numbers are written in digits.
    public static func number(_ n: Int) -> String {
        switch n {
        case 0..<20: return ones[n]
        case 20..<100: return tens[n / 10] + (n % 10 == 0 ? "" : "-" + ones[n % 10])
        case 100..<1000:
            return ones[n / 100] + " hundred" + (n % 100 == 0 ? "" : " and " + number(n % 100))
        default: return String(n)
        }
    }

    /// The string with its first letter upper-cased, for starting a sentence.
    public static func capitalized(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.uppercased() + s.dropFirst()
    }
}
