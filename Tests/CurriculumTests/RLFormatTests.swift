import Foundation
import Testing
import Curriculum

/// How RL asks a problem and reads the reply, in the chat template and in mid-training's text.
@Suite struct RLFormatTests {
    let tok = Tokenizer.standard
    let problem = RLData.Problem(prompt: "Subtract 27 from 58.", answer: 31, family: .sub, rung: 2)

    /// The completion `text` as token ids, ended by <|bos|> (the next document) if `ends`.
    func completion(_ text: String, ends: Bool) throws -> [Int] {
        try tok.encode(text) + (ends ? [tok.id(.bos)] : [])
    }

    @Test func plainPromptsAreMidTrainingsText() throws {
        let prompt = try GRPO.Format.plain.prompt(problem)
        #expect(prompt.first == tok.id(.bos))
        #expect(tok.decode(Array(prompt.dropFirst())) == "Q: 58 - 27 = ? A:")
        #expect(GRPO.Format.plain.stopToken() == tok.id(.bos) && GRPO.Format.chat.stopToken() == tok.id(.end))
        #expect(try GRPO.Format.chat.prompt(problem) == ChatTemplate.prompt(problem.prompt))
        // A prompt that is not a sum cannot be put in mid-training's form: a clear error.
        let odd = RLData.Problem(prompt: "Tell me a story.", answer: 1, family: .add)
        #expect(throws: (any Error).self) { try GRPO.Format.plain.prompt(odd) }
    }

    @Test("the plain verifier reads the first line; readable means that line and then the end of the text",
          arguments: [(" 31\n", true, 1.0, true), (" 31\nQ: 40 + 12 = ? A: 52\n", true, 1, false), (" 31\nQ: 4", false, 1, false),
                      (" 30\n", true, 0, true), (" 31 apples\n", true, 0, true), (" 031\n", true, 0, true), ("\n", true, 0, false)])
    func plainReplies(text: String, ends: Bool, reward: Double, readable: Bool) throws {
        let reply = GRPO.Format.plain.parse(try completion(text, ends: ends))
        #expect(GRPO.Format.plain.reward(reply, expected: 31) == reward, "\(text.debugDescription)")
        #expect(reply.wellFormed == readable, "\(text.debugDescription)")
        #expect(GRPO.Format.plain.verified.score(reply, problem) == reward)
    }

    @Test("a cold-start example: the prompt untrained, then the answer line and the end of the text, which the plain verifier calls right and readable")
    func coldStartExample() throws {
        let row = try GRPO.Format.plainExample("58 - 27", answer: 31)
        let prompt = try GRPO.Format.plain.prompt(problem)
        #expect(Array(row.tokens.prefix(prompt.count)) == prompt)
        let reply = Array(row.tokens.dropFirst(prompt.count))
        #expect(reply == (try completion(" 31\n", ends: true)))
        #expect(row.trained == Array(repeating: false, count: prompt.count) + Array(repeating: true, count: reply.count))
        let parsed = GRPO.Format.plain.parse(reply)
        #expect(parsed.wellFormed && GRPO.Format.plain.reward(parsed, expected: 31) == 1)
    }

    @Test func chatRepliesAreReadByTheChatVerifier() throws {
        let right = try tok.encodeWithSpecials("31<|end|>")
        let reply = GRPO.Format.chat.parse(right)
        #expect(reply.wellFormed && GRPO.Format.chat.reward(reply, expected: 31) == 1)
        // The chat verifier needs the <|end|>: a first line alone is not an answer there.
        let unstopped = GRPO.Format.chat.parse(try tok.encode("31\n"))
        #expect(GRPO.Format.chat.reward(unstopped, expected: 31) == 0)
    }

    @Test func integersInTheirUsualSpellingOnly() {
        #expect(Verifier.integer(" 85 ") == 85 && Verifier.integer("-7") == -7 && Verifier.integer("0") == 0)
        for bad in ["85 86", "85.", "085", "", "-", "85apples", "1234567890"] {
            #expect(Verifier.integer(bad) == nil, "\(bad)")
        }
    }
}
