import Foundation
import Testing
import Curriculum

/// The toy world and the pretraining corpus generated from it.
@Suite struct ToyWorldTests {
    let world = World.standard

    // MARK: the world

    @Test func worldIsSmallFixedAndUnambiguous() {
        #expect(world.people.count == 12)
        #expect(Set(world.people.map(\.name)).count == 12)
        // One pet kind, pet name and toy kind per person, so "whose dog?" has one answer.
        #expect(Set(world.people.map(\.pet.kind)).count == 12)
        #expect(Set(world.people.map(\.pet.name)).count == 12)
        #expect(Set(world.people.map(\.toy.kind)).count == 12)
        for p in world.people {
            #expect(world.animals.contains(p.pet.kind))
            #expect(world.toys.contains(p.toy.kind))
            #expect(world.homes.contains(p.home))
            #expect(world.colours.contains(p.favouriteColour))
            #expect(world.colours.contains(p.toy.colour))
            if let f = p.friend {
                #expect(world.person(named: f)?.friend == p.name, "friendship of \(p.name) and \(f) is mutual")
            }
        }
        for c in world.colours { #expect(World.colourOf[c] != nil) }
    }

    @Test func factsRenderAsStatementsAndQuestions() throws {
        let mia = try #require(world.person(named: "Mia"))
        let home = try #require(world.facts(about: mia).first { $0.relation == .home })
        #expect(home.statement == "Mia lives by the lake.")
        #expect(home.question == "Where does Mia live?")
        #expect(home.answer == "by the lake")
        let pet = try #require(world.facts(about: mia).first { $0.relation == .petName })
        #expect(pet.statement == "Mia's dog is called Rex.")
        #expect(pet.question == "What is Mia's dog called?")
        #expect(pet.answer == "Rex")

        #expect(world.facts.count == 82)
        for fact in world.facts {
            let wrong = world.wrongAnswers(for: fact)
            #expect(!wrong.isEmpty && !wrong.contains(fact.answer))
            for text in [fact.statement, fact.question, fact.answer] {
                #expect((try? Tokenizer.standard.encode(text)) != nil, "\(text) encodes")
            }
        }
    }

    @Test func englishHelpers() {
        #expect(Noun("owl").withArticle == "an owl")
        #expect(Noun("apple").count(1, inWords: false) == "1 apple")
        #expect(Noun("apple").count(2) == "two apples")
        #expect(Noun("sheep", plural: "sheep").count(3) == "three sheep")
        #expect(English.number(21) == "twenty-one")
        #expect(English.number(305) == "three hundred and five")
        #expect(Toy(kind: Noun("aeroplane"), colour: "orange").description == "an orange aeroplane")
    }

    // MARK: the corpus

    @Test func generationIsDeterministic() {
        let a = PretrainCorpus.generate(seed: 1)
        let b = PretrainCorpus.generate(seed: 1)
        let c = PretrainCorpus.generate(seed: 2)
        #expect(a.train == b.train && a.valid == b.valid)
        #expect(a.train != c.train)
    }

    @Test func splitsAreDisjointAndSized() {
        let docs = PretrainCorpus.generateDocuments(seed: DataFiles.defaultSeed)
        let train = Set(docs.train), valid = Set(docs.valid)
        #expect(train.count == docs.train.count, "no duplicate documents in train")
        #expect(valid.count == docs.valid.count, "no duplicate documents in valid")
        #expect(train.isDisjoint(with: valid))
        #expect(docs.valid.allSatisfy(PretrainCorpus.isValidation))
        #expect(!docs.train.contains(where: PretrainCorpus.isValidation))

        let text = PretrainCorpus.generate(seed: DataFiles.defaultSeed)
        #expect((1_400_000...1_700_000).contains(text.train.utf8.count))
        #expect((70_000...110_000).contains(text.valid.utf8.count))
        #expect(PretrainCorpus.documents(in: text.train) == docs.train)
        #expect(PretrainCorpus.documents(in: text.valid) == docs.valid)
    }

    @Test func documentsHaveThreeToEightSentences() {
        let docs = PretrainCorpus.generateDocuments(seed: DataFiles.defaultSeed)
        for doc in docs.train + docs.valid {
            let n = sentences(doc).count
            if !(3...8).contains(n) {
                Issue.record("\(n) sentences: \(doc)")
                return
            }
        }
    }

    @Test func everyCharacterEncodes() throws {
        let text = PretrainCorpus.generate(seed: DataFiles.defaultSeed)
        for split in [text.train, text.valid] {
            #expect(split.unicodeScalars.allSatisfy { $0.isASCII })
            let ids = try Tokenizer.standard.encode(split)
            #expect(ids.count == split.utf8.count)
            #expect(!ids.contains { $0 < 7 }, "no special tokens in pretraining text")
        }
    }

    @Test func committedFilesMatchAFreshGeneration() throws {
        let root = try #require(DataFiles.packageRoot(from: URL(fileURLWithPath: #filePath)),
                                "package root above \(#filePath)")
        let dataDir = root.appendingPathComponent(DataFiles.dataDirectory)
        let onDisk = try DataFiles.loadPretrain(from: dataDir)
        let fresh = PretrainCorpus.generate(seed: DataFiles.defaultSeed)
        #expect(onDisk.train == fresh.train, "data/pretrain/train.txt is stale: run `swift run make-data`")
        #expect(onDisk.valid == fresh.valid, "data/pretrain/valid.txt is stale: run `swift run make-data`")
    }

    @Test func missingFileErrorSaysHowToMakeIt() {
        let url = URL(fileURLWithPath: "/nonexistent-\(DataFiles.defaultSeed)/train.txt")
        do {
            _ = try DataFiles.loadText(url)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("swift run make-data"))
        }
    }

    @Test func everyFactIsStatedInTraining() {
        let train = PretrainCorpus.generate(seed: DataFiles.defaultSeed).train
        for fact in world.facts {
            #expect(train.contains(fact.statement), "never stated: \(fact.statement)")
        }
    }

    /// Every sentence that states a fact states the world's fact: a person's
    /// pet, its name, their home, favourite colour, toy, its colour, friend.
    @Test func storiesAgreeWithTheWorld() {
        let text = PretrainCorpus.generate(seed: DataFiles.defaultSeed)
        var checker = FactChecker(world: world)
        for sentence in sentences(text.train + "\n" + text.valid) { checker.check(sentence) }
        #expect(checker.problems.count == 0, "\(checker.problems.prefix(5))")
        #expect(checker.checks > 10_000, "the checker found facts to check")

        // The checker itself catches wrong statements.
        for wrong in ["Mia's pet is a cat.", "Tom lives by the lake.", "Ava has a red kite.", "Rex is Ben's dog.",
                      "Sam's favourite colour is blue.", "Lily's best friend is Tom.", "Zoe took her dog Puddle home.",
                      "Ben's boat is green.", "Mia's toy is a ball."] {
            var strict = FactChecker(world: world)
            for s in sentences(wrong) { strict.check(s) }
            #expect(!strict.problems.isEmpty, "checker misses: \(wrong)")
        }
    }
}

/// Sentences as word lists (commas and colons dropped, "Mia's" kept whole).
private func sentences(_ text: String) -> [[String]] {
    var out: [[String]] = []
    var words: [String] = [], word = ""
    func endWord() { if !word.isEmpty { words.append(word); word = "" } }
    for ch in text {
        switch ch {
        case ".", "!", "?", "\n":
            endWord()
            if !words.isEmpty { out.append(words); words = [] }
        case " ", ",", ":": endWord()
        default: word.append(ch)
        }
    }
    endWord()
    if !words.isEmpty { out.append(words) }
    return out
}

/// Looks for fact-stating word patterns and compares them with the world.
private struct FactChecker {
    let world: World
    var problems: [String] = []
    var checks = 0

    init(world: World) { self.world = world }

    mutating func expect(_ ok: Bool, _ w: [String]) {
        checks += 1
        if !ok { problems.append(w.joined(separator: " ")) }
    }

    func owner(ofPet name: String) -> Person? { world.people.first { $0.pet.name == name } }
    func isAnimal(_ s: String) -> Bool { world.animals.contains { $0.singular == s } }
    func isToy(_ s: String) -> Bool { world.toys.contains { $0.singular == s } }
    func isColour(_ s: String) -> Bool { world.colours.contains(s) }

    mutating func check(_ w: [String]) {
        func at(_ i: Int) -> String { i >= 0 && i < w.count ? w[i] : "" }
        for i in w.indices {
            let word = w[i]
            // "Mia's ..."
            if word.hasSuffix("'s"), let p = world.person(named: String(word.dropLast(2))) {
                let next = at(i + 1)
                if next == "pet" && at(i + 2) == "is" { expect(at(i + 4) == p.pet.kind.singular, w) }
                if next == "favourite" && at(i + 2) == "colour" { expect(at(i + 4) == p.favouriteColour, w) }
                if next == "best" && at(i + 2) == "friend" { expect(at(i + 4) == p.friend, w) }
                if next == "house" { expect("\(at(i + 3)) \(at(i + 4)) \(at(i + 5))" == p.home.location, w) }
                if next == "toy" && at(i + 2) == "is" { expect(at(i + 4) == p.toy.kind.singular, w) }
                if isAnimal(next) {
                    expect(next == p.pet.kind.singular, w)
                    if at(i + 2) == "is" && at(i + 3) == "called" { expect(at(i + 4) == p.pet.name, w) }
                }
                if isToy(next) {
                    expect(next == p.toy.kind.singular, w)
                    if at(i + 2) == "is" && isColour(at(i + 3)) { expect(at(i + 3) == p.toy.colour, w) }
                }
            }
            // "Mia lives by the lake", "Mia has a dog called Rex", "Mia has a red kite"
            if let p = world.person(named: word) {
                if at(i + 1) == "lives" { expect("\(at(i + 2)) \(at(i + 3)) \(at(i + 4))" == p.home.location, w) }
                if at(i + 1) == "has" {
                    let thing = at(i + 3)
                    if isAnimal(thing) { expect(thing == p.pet.kind.singular, w) }
                    if isColour(thing) && isToy(at(i + 4)) { expect(at(i + 4) == p.toy.kind.singular && thing == p.toy.colour, w) }
                }
                if at(i + 1) == "and" && at(i + 3) == "are" && at(i + 4) == "best" { expect(at(i + 2) == p.friend, w) }
            }
            // "dog Rex", "a dog called Rex", "Rex is Mia's dog": a pet name next to an animal is that pet.
            if let p = owner(ofPet: word) {
                for a in [at(i - 1), at(i - 2)] where isAnimal(a) && (a == at(i - 1) || ["called", "named"].contains(at(i - 1))) {
                    expect(a == p.pet.kind.singular, w)
                }
                if at(i + 1) == "is", at(i + 2).hasSuffix("'s") {
                    expect(at(i + 2) == p.name + "'s" && at(i + 3) == p.pet.kind.singular, w)
                }
            }
            // "red kite": each toy kind belongs to one person, so its colour is fixed.
            if isColour(word), isToy(at(i + 1)), let p = world.people.first(where: { $0.toy.kind.singular == at(i + 1) }) {
                expect(word == p.toy.colour, w)
            }
        }
    }
}
