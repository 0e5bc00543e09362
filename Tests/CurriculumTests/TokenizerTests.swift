import Testing
import Curriculum

/// The tokenizer: a fixed 96-id character vocabulary with 7 special tokens.
@Suite struct TokenizerTests {
    let tok = Tokenizer.standard

    @Test func vocabularyHas96IdsWithSpecialsFirst() {
        #expect(tok.vocabSize == 96)
        #expect(tok.pieces.count == 96)
        #expect(Array(tok.pieces.prefix(7)) ==
                ["<|pad|>", "<|bos|>", "<|user|>", "<|assistant|>", "<|end|>", "<think>", "</think>"])
        for s in Tokenizer.Special.core {
            #expect(tok.id(s) == s.rawValue)
            #expect(tok.pieces[s.rawValue] == s.text)
        }
        // Every other piece is one distinct character.
        #expect(tok.pieces.dropFirst(7).allSatisfy { $0.unicodeScalars.count == 1 })
        #expect(Set(tok.pieces).count == 96)
        for c in ["\n", " ", "a", "z", "A", "Z", "0", "9", ".", ",", "!", "?", "'", "\"", ":", ";",
                  "-", "+", "*", "/", "=", "(", ")", "<", ">"] {
            #expect(tok.pieces.contains(c), "missing \(c.debugDescription)")
        }
    }

    @Test func roundTripsASentence() throws {
        let text = "Mia had 3 apples and got 2 more, so she had 5 apples!\n(3 + 2 = 5; \"yes\": it's true.)"
        let ids = try tok.encode(text)
        #expect(ids.count == text.unicodeScalars.count)
        #expect(ids.allSatisfy { $0 >= 7 && $0 < 96 })
        #expect(tok.decode(ids) == text)
    }

    @Test func roundTripsAChatWithSpecials() throws {
        let chat = "<|bos|><|user|>What is 3 + 4?<|end|><|assistant|><think>3 + 4 = 7</think>7<|end|>"
        let ids = try tok.encodeWithSpecials(chat)
        #expect(ids.prefix(2) == [tok.id(.bos), tok.id(.user)])
        #expect(ids.filter { $0 < 7 }.count == 7)
        #expect(tok.decode(ids) == chat)
    }

    @Test func plainEncodeDoesNotRecogniseSpecials() throws {
        // "<|user|>" is 8 characters: < | u s e r | >
        #expect(try tok.encode("<|user|>").count == 8)
        #expect(try tok.encode("<think>").count == 7)
        #expect(try tok.encodeWithSpecials("<|user|>") == [tok.id(.user)])
        #expect(try tok.encodeWithSpecials("</think>") == [tok.id(.thinkEnd)])
        // An unfinished special is just characters.
        #expect(try tok.encodeWithSpecials("<|user") == tok.encode("<|user"))
        #expect(try tok.encodeWithSpecials("a<b") == tok.encode("a<b"))
    }

    @Test func unknownCharacterErrorNamesCharacterAndOffset() {
        do {
            _ = try tok.encode("café au lait")
            Issue.record("expected an error")
        } catch let error as TokenizerError {
            #expect(error.offset == 3)
            #expect(error.description.contains("'é'"))
            #expect(error.description.contains("U+00E9"))
            #expect(error.description.contains("offset 3"))
            #expect(error.description.contains("caf"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func emojiAndCRLFAreErrorsNotCrashes() {
        #expect(throws: TokenizerError.self) { try tok.encode("hi 👋🏽 there") }
        #expect(throws: TokenizerError.self) { try tok.encodeWithSpecials("<|user|>👨‍👩‍👧") }
        do {
            _ = try tok.encode("line one\r\nline two")
            Issue.record("expected an error")
        } catch let error as TokenizerError {
            #expect(error.offset == 8)
            #expect(error.description.contains("\\r"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func decodeNeverCrashesOnBadIds() {
        #expect(tok.decode([-1, 96, 1_000_000]) == "\u{FFFD}\u{FFFD}\u{FFFD}")
        #expect(tok.decode([]) == "")
    }

    @Test func initFromPiecesValidates() throws {
        let rebuilt = try Tokenizer(pieces: tok.pieces)
        #expect(rebuilt.pieces == tok.pieces)
        #expect(try rebuilt.encode("Mia's dog") == tok.encode("Mia's dog"))

        var duplicate = tok.pieces
        duplicate[95] = "a"
        #expect(throws: TokenizerError.self) { try Tokenizer(pieces: duplicate) }

        var missingSpecial = tok.pieces
        missingSpecial.remove(at: 3)
        #expect(throws: TokenizerError.self) { try Tokenizer(pieces: missingSpecial) }

        var swapped = tok.pieces
        swapped.swapAt(5, 6)
        #expect(throws: TokenizerError.self) { try Tokenizer(pieces: swapped) }

        var multiChar = tok.pieces
        multiChar[50] = "ab"
        #expect(throws: TokenizerError.self) { try Tokenizer(pieces: multiChar) }

        #expect(throws: TokenizerError.self) { try Tokenizer(pieces: []) }

        // A vocabulary may hold other characters, as long as it is well formed.
        var accented = tok.pieces
        accented[95] = "é"
        #expect(try Tokenizer(pieces: accented).encode("café") .count == 4)
    }
}
