import Foundation
import Testing
import Curriculum

/// The mid-training mix (data/midtrain) and the arithmetic split rule.
@Suite struct MidtrainDataTests {
    @Test func heldOutArithmeticIsDisjointFromTraining() {
        let train = Arithmetic.problems(heldOut: false), held = Arithmetic.problems(heldOut: true)
        #expect(Set(train).isDisjoint(with: Set(held)))
        // The rule is about the unordered pair: a held-out pair is held out in every form.
        for p in held { #expect(Arithmetic.isHeldOut(p.b, p.a)) }
        #expect(held.allSatisfy { max($0.a, $0.b) > 20 }, "pretraining's sums use numbers up to 20; none of those is held out")
        let share = Double(held.count) / Double(train.count + held.count)
        #expect(share > 0.07 && share < 0.13, "about one problem in ten is held out, got \(share)")
        let eval = Arithmetic.evalProblems(count: 200)
        #expect(eval.count == 200 && Set(eval).count == 200)
        #expect(eval.filter { $0.op == .plus }.count == 100)
        #expect(eval.allSatisfy { Arithmetic.isHeldOut($0.a, $0.b) })
        #expect(eval.allSatisfy { $0.answer >= 0 })
    }

    @Test("the quick tier's problems: sums with no carry, differences with no borrow")
    func carryFreeProblems() {
        for (a, op, b, free) in [(47, Arithmetic.Op.plus, 52, true), (47, .plus, 38, false), (55, .plus, 45, false),
                                 (90, .plus, 10, false), (58, .minus, 27, true), (52, .minus, 27, false), (20, .minus, 20, true)] {
            #expect(Arithmetic.isCarryFree(a, op, b) == free, "\(a) \(op.rawValue) \(b)")
        }
        #expect(!Arithmetic.isCarryFree(line: "73 + 71: ones 3 + 1 = 4. Tens 7 + 7 = 14. So 73 + 71 = 144."))
        #expect(Arithmetic.isCarryFree(line: "72 - 31: ones 2 - 1 = 1. Tens 7 - 3 = 4. So 72 - 31 = 41."))
        #expect(Arithmetic.isCarryFree(line: "Sam had 93 eggs and found 15 more."), "a line without a problem is kept")
        #expect(Arithmetic.keeping(.carryFree, in: "Q: 47 + 38 = ? A: 85\nQ: 47 + 52 = ? A: 99") == "Q: 47 + 52 = ? A: 99")
        #expect(Arithmetic.keeping(.carryFree, in: "Q: 47 + 38 = ? A: 85") == nil)
        let eval = Arithmetic.evalProblems(count: 100, level: .carryFree)
        #expect(eval.count == 100 && Set(eval).count == 100 && eval.filter { $0.op == .plus }.count == 50)
        #expect(eval.allSatisfy { $0.isCarryFree && Arithmetic.isHeldOut($0.a, $0.b) })
    }

    @Test func answersParseFromCompletions() {
        let p = Arithmetic.Problem(47, .plus, 38)
        #expect(p.line == "Q: 47 + 38 = ? A: 85")
        #expect(Arithmetic.parseAnswer(" 85\nQ: 1") == 85)
        #expect(Arithmetic.parseAnswer(" 851") == 851)
        #expect(Arithmetic.parseAnswer(" -3") == -3)
        #expect(Arithmetic.parseAnswer(" eighty") == nil)
    }

    @Test func trainingArithmeticNeverUsesAHeldOutPair() throws {
        let docs = MidtrainCorpus.generateDocuments(seed: DataFiles.defaultSeed)
        let held = Set(Arithmetic.problems(heldOut: true).map(\.expression))
        let train = Set(Arithmetic.problems(heldOut: false).map(\.expression))
        var seen = 0
        for (split, list) in [("train", docs.train), ("valid", docs.valid)] {
            for doc in list where MidtrainCorpus.kind(of: doc) == .arithmetic {
                for expr in expressions(in: doc) {
                    seen += 1
                    if split == "train" {
                        #expect(!held.contains(expr), "held-out \(expr) in training text")
                    } else {
                        #expect(!train.contains(expr), "training problem \(expr) in held-out text")
                    }
                }
            }
        }
        #expect(seen > 10_000)
    }

    @Test func kindsAreRecognisedAndSized() throws {
        let docs = MidtrainCorpus.generateDocuments(seed: DataFiles.defaultSeed)
        var bytes: [MidtrainCorpus.Kind: Int] = [:]
        for doc in docs.train { bytes[MidtrainCorpus.kind(of: doc), default: 0] += doc.utf8.count }
        for kind in MidtrainCorpus.Kind.allCases {
            let target = MidtrainCorpus.trainTargetBytes[kind] ?? 0
            #expect((bytes[kind] ?? 0) >= target && (bytes[kind] ?? 0) < target + 2_000, "\(kind): \(bytes[kind] ?? 0) bytes")
        }
        #expect(Set(docs.train).isDisjoint(with: Set(docs.valid)))
        for doc in docs.train + docs.valid {
            switch MidtrainCorpus.kind(of: doc) {
            case .long:
                #expect(doc.utf8.count > 2 * 128 + 20, "long documents are longer than twice the classroom context")
                #expect(doc.hasSuffix(".") && !doc.contains("Q:"))
            case .facts:
                #expect(doc.split(separator: "\n").allSatisfy { $0.hasPrefix("Q: ") && $0.contains("? A: ") })
            case .arithmetic:
                #expect(!doc.isEmpty)
            }
            #expect(!doc.contains("\n\n"))
        }
        let validKinds = Set(docs.valid.map(MidtrainCorpus.kind(of:)))
        #expect(validKinds == Set(MidtrainCorpus.Kind.allCases))
        // Every fact question is asked, with the world's answer.
        let text = docs.train.joined(separator: "\n")
        for fact in World.standard.facts { #expect(text.contains("Q: \(fact.question) A: \(fact.answer)\n")) }
    }

    @Test func generationIsDeterministicAndEncodes() throws {
        let a = MidtrainCorpus.generate(seed: 1), b = MidtrainCorpus.generate(seed: 1)
        #expect(a.train == b.train && a.valid == b.valid)
        let ids = try Tokenizer.standard.encode(a.train + a.valid)
        #expect(!ids.contains { $0 < 7 }, "no special tokens in mid-training text")
    }

    @Test func committedFilesMatchAFreshGeneration() throws {
        let root = try #require(DataFiles.packageRoot(from: URL(fileURLWithPath: #filePath)),
                                "package root above \(#filePath)")
        let onDisk = try DataFiles.loadMidtrain(from: root.appendingPathComponent(DataFiles.dataDirectory))
        let fresh = MidtrainCorpus.generate(seed: DataFiles.defaultSeed)
        #expect(onDisk.train == fresh.train, "data/midtrain/train.txt is stale: run `swift run make-data`")
        #expect(onDisk.valid == fresh.valid, "data/midtrain/valid.txt is stale: run `swift run make-data`")
    }
}

/// "47 + 38" for every sum or difference of two 2-digit numbers written in a document.
private func expressions(in doc: String) -> [String] {
    let chars = Array(doc)
    var out: [String] = []
    var i = 0
    while i + 6 < chars.count {
        let window = String(chars[i..<(i + 7)])
        let isDigit = { (c: Character) in c.isASCII && c.isNumber }
        let w = Array(window)
        if isDigit(w[0]) && isDigit(w[1]) && w[2] == " " && (w[3] == "+" || w[3] == "-") && w[4] == " "
            && isDigit(w[5]) && isDigit(w[6]) && (i == 0 || !isDigit(chars[i - 1]))
            && (i + 7 == chars.count || !isDigit(chars[i + 7])) {
            out.append(window)
        }
        i += 1
    }
    return out
}
