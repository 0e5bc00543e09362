import Foundation
import Testing
import Curriculum

/// The preference pairs (data/dpo): reproducible, well-formed, held-out by construction.
@Suite struct DPODataTests {
    typealias Family = PreferenceData.Family

    /// lesson07's ranked pairs: every harmful request and traced simple question keeps its
    /// order (best > middle > worst), but most winners are the middle reply.
    @Test func rankedPairsMakeMostWinnersTheMiddleReply() throws {
        let train = PreferenceData.generate(seed: DataFiles.defaultSeed).train
        let ranked = PreferenceData.ranked(train)
        for family in [Family.helpful, .stepwise] {
            #expect(ranked.filter { $0.family == family } == train.filter { $0.family == family }, "\(family) pairs kept as they are")
        }
        let think = Tokenizer.Special.thinkStart.text
        let caution = train.filter { $0.family == .caution }
        let traced = train.filter { $0.family == .calibration && $0.rejected.hasPrefix(think) }
        for (family, originals) in [(Family.caution, caution), (.calibration, traced)] {
            let pairs = ranked.filter { $0.family == family }
            let best = Set(originals.map(\.chosen))
            // One pair of the middle over the worst per prompt, and one in three of the best over the middle.
            let top = pairs.filter { best.contains($0.chosen) }
            #expect(pairs.count - top.count == originals.count, "\(family): a middle-over-worst pair per prompt")
            #expect(top.count == (originals.count + PreferenceData.rankedBestEvery - 1) / PreferenceData.rankedBestEvery)
            #expect(top.allSatisfy { t in pairs.contains { $0.prompt == t.prompt && $0.chosen == t.rejected } },
                    "\(family): the middle the best beats also wins over the worst, for the same prompt")
            #expect(Double(top.count) / Double(pairs.count) < 0.3, "\(family): most winners are the middle reply")
        }
        #expect(ranked.filter { $0.family == .caution }.allSatisfy { PreferenceData.isRefusal($0.chosen) || $0.chosen.hasPrefix("Be careful. ") })
        // Calibration: the direct answer beats a trace, a trace beats rambling (no trace).
        let calibration = ranked.filter { $0.family == .calibration }
        #expect(calibration.allSatisfy { $0.chosen.hasPrefix(think) ? !$0.rejected.hasPrefix(think) : $0.rejected.hasPrefix(think) })
        #expect(!ranked.contains { $0.chosen == $0.rejected })
    }

    @Test func committedFilesEqualAFreshGeneration() throws {
        guard let dir = DataFiles.defaultDataDirectory() else { Issue.record("no data/ folder"); return }
        for file in DataFiles.dpoFiles() {
            let onDisk = try DataFiles.loadText(dir.appendingPathComponent(file.path))
            #expect(onDisk == file.text, "\(file.path) differs from a fresh generation: run `swift run make-data`")
        }
    }

    @Test func filesParseBackToTheGeneratedPairs() throws {
        let fresh = PreferenceData.generate(seed: DataFiles.defaultSeed)
        #expect(try PreferenceData.parse(PreferenceData.jsonl(fresh.valid), file: "valid.jsonl") == fresh.valid)
        #expect(try PreferenceData.parse(PreferenceData.jsonl(fresh.train), file: "train.jsonl") == fresh.train)
        for family in [Family.caution, .helpful, .calibration, .stepwise] {
            #expect(fresh.train.filter { $0.family == family }.count >= 300, "\(family) training pairs")
            #expect(fresh.valid.filter { $0.family == family }.count >= 40, "\(family) held-out pairs")
        }
        #expect(!fresh.train.contains { $0.family == .correctness }, "correctness pairs are sampled at run time, not stored")
    }

    /// The two halves of calibration never ask the same kind of question, and the stepwise half
    /// covers every task whose trace does work: with the multi-step problems alone, DPO taught
    /// the think model to drop its trace on reversals too (GUIDE, chapter 04).
    @Test func stepwisePairsCoverEveryTaskATraceHelps() throws {
        let s = PreferenceData.generate(seed: DataFiles.defaultSeed)
        let sft = Conversations.generate(seed: DataFiles.defaultSeed, world: World.standard)
        let task = sft.taskByQuestion
        for (pairs, name) in [(s.train, "train"), (s.valid, "held-out")] {
            let stepwise = Set(pairs.filter { $0.family == .stepwise }.compactMap { task[$0.prompt] })
            let calibration = Set(pairs.filter { $0.family == .calibration }.compactMap { task[$0.prompt] })
            #expect(stepwise == PreferenceData.stepwiseTasks, "\(name) stepwise tasks: \(stepwise)")
            #expect(calibration == PreferenceData.calibrationTasks, "\(name) calibration tasks: \(calibration)")
            #expect(stepwise.isDisjoint(with: calibration))
        }
        #expect(PreferenceData.stepwiseTasks.isSuperset(of: Conversations.Task.multiStep))
    }

    /// Every request is one of the four phrasings with its placeholders filled, and nothing
    /// else was replaced (an early version turned "Tell me" into "Rexell me").
    @Test func requestsAreWellFormedSentences() throws {
        let s = PreferenceData.generate(seed: DataFiles.defaultSeed)
        let openings = ["How can I ", "Help me ", "Tell me how to ", "What is the best way to "]
        for p in s.train + s.valid where p.family == .caution || p.family == .helpful {
            #expect(openings.contains { p.prompt.hasPrefix($0) }, "\(p.prompt)")
            #expect(!p.prompt.contains("{") && !p.chosen.contains("{") && !p.rejected.contains("{"), "\(p)")
        }
    }

    @Test func heldOutPairsAreDisjointFromTraining() throws {
        let s = PreferenceData.generate(seed: DataFiles.defaultSeed)
        let trainPrompts = Set(s.train.map(\.prompt))
        #expect(s.valid.allSatisfy { !trainPrompts.contains($0.prompt) }, "no held-out prompt appears in training")
        // Caution and helpful pairs: held-out ones are about held-out owners' pets only, and
        // no training prompt names those pets.
        let world = World.standard
        let heldOwners = world.people.filter { PreferenceData.isHeldOutOwner($0.name) }
        #expect(heldOwners.count >= 2 && heldOwners.count < world.people.count / 2)
        for p in s.train where p.family == .caution || p.family == .helpful {
            #expect(!heldOwners.contains { p.prompt.contains($0.pet.name) || p.prompt.contains($0.name + "'s") }, "\(p.prompt)")
        }
        for p in s.valid where p.family == .caution || p.family == .helpful {
            #expect(heldOwners.contains { p.prompt.contains($0.pet.name) || p.prompt.contains($0.name + "'s") }, "\(p.prompt)")
        }
        // Calibration and stepwise pairs ask the SFT files' questions: held-out ones never
        // appear in SFT training.
        let sft = Conversations.generate(seed: DataFiles.defaultSeed)
        let sftTrain = Set((sft.instructTrain + sft.thinkTrain).map(\.question))
        for p in s.valid where p.family == .calibration || p.family == .stepwise { #expect(!sftTrain.contains(p.prompt), "\(p.prompt)") }
    }

    @Test func eachFamilyEncodesItsBehaviour() throws {
        let s = PreferenceData.generate(seed: DataFiles.defaultSeed)
        for p in s.train + s.valid {
            switch p.family {
            case .caution:
                #expect(PreferenceData.isRefusal(p.chosen) && !PreferenceData.isRefusal(p.rejected), "\(p)")
            case .helpful:
                #expect(!PreferenceData.isRefusal(p.chosen) && PreferenceData.isRefusal(p.rejected), "\(p)")
            case .calibration:
                // The chosen answer is direct; the rejected one says the same answer at greater length.
                #expect(!p.chosen.contains("<think>") && p.rejected.count > p.chosen.count + 4, "\(p)")
                #expect(p.rejected.contains(p.chosen), "the rejected answer gives the same answer: \(p)")
                #expect(!p.rejected.hasPrefix("<think>") || Verifier.split(p.rejected).answer == p.chosen, "\(p)")
            case .stepwise:
                // The chosen answer is a closed trace, then the same answer the rejected one gives bare.
                let (thought, answer) = Verifier.split(p.chosen)
                #expect(p.chosen.hasPrefix("<think>") && thought != nil && answer == p.rejected, "\(p)")
            case .correctness:
                Issue.record("no correctness pairs in the files")
            }
            // Every pair renders with the chat template (no stray special tokens).
            _ = try ChatTemplate.render([ChatTemplate.Message(.user, p.prompt), ChatTemplate.Message(.assistant, p.chosen)])
            _ = try ChatTemplate.render([ChatTemplate.Message(.user, p.prompt), ChatTemplate.Message(.assistant, p.rejected)])
        }
    }

    @Test func aMalformedLineIsAnErrorNamingFileAndLine() {
        let good = #"{"prompt":"Hi","chosen":"yes","rejected":"no","family":"calibration"}"#
        let cases = [
            ("{not json", "not a JSON object"),
            (#"{"prompt":"Hi","chosen":"yes","family":"caution"}"#, "rejected"),
            (#"{"prompt":"Hi","chosen":"yes","rejected":"no","family":"poetry"}"#, "family"),
            (#"{"prompt":"Hi","chosen":"yes","rejected":"yes","family":"caution"}"#, "same answer"),
        ]
        for (bad, mentions) in cases {
            do {
                _ = try PreferenceData.parse(good + "\n" + bad + "\n", file: "data/dpo/x.jsonl")
                Issue.record("accepted a malformed line: \(bad)")
            } catch {
                let message = "\(error)"
                #expect(message.contains("data/dpo/x.jsonl line 2"), "\(message)")
                #expect(message.contains(mentions), "\(message)")
            }
        }
    }
}
