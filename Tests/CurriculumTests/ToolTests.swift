import Foundation
import Testing
import TinyGPT
@testable import Curriculum

/// Lesson08's pieces that need no training: the two tool tokens, the tools, the template's
/// tool turns and their mask, the data files, and the runner's loop.
@Suite struct ToolTests {
    typealias Message = ChatTemplate.Message
    let tok = Tokenizer.withTools

    @Test("the tool vocabulary is the standard one plus <|call|> and <|result|> at 96 and 97")
    func toolVocabulary() throws {
        #expect(tok.vocabSize == 98)
        #expect(Array(tok.pieces.prefix(96)) == Tokenizer.standard.pieces)
        #expect(tok.id(.call) == 96 && tok.pieces[96] == "<|call|>" && tok.pieces[97] == "<|result|>")
        #expect(tok.isSpecial(96) && tok.isSpecial(97) && tok.isSpecial(0) && !tok.isSpecial(7) && !tok.isSpecial(95))
        #expect(!Tokenizer.standard.isSpecial(96))
        // Only a vocabulary that has them turns the strings into single ids.
        #expect(try tok.encodeWithSpecials("<|call|>x<|result|>") == [96, try tok.encode("x")[0], 97])
        #expect(try Tokenizer.standard.encodeWithSpecials("<|call|>").count == 8)
        // A checkpoint's vocabulary list is checked: the tool pieces must be where they belong.
        #expect(try Tokenizer(pieces: tok.pieces).pieces == tok.pieces)
        #expect(throws: TokenizerError.self) { try Tokenizer(pieces: Tokenizer.standard.pieces + ["<|result|>"]) }
        #expect(throws: TokenizerError.self) { try Tokenizer(pieces: tok.pieces + ["<|more|>"]) }
    }

    @Test("calc is exact integer arithmetic, and every bad expression is an error result")
    func calc() {
        let cases: [(String, String)] = [
            ("347*29", "10063"), ("2+3*4", "14"), ("(2+3)*4", "20"), ("-7+10", "3"), ("7/2", "3"), ("-7/2", "-3"),
            (" 12 * 34 ", "408"), ("999999999*999999999", "999999998000000001"), ("--5", "5"),
        ]
        for (e, want) in cases {
            let r = Tools.calc(e)
            #expect(!r.isError && r.text == want, "calc(\(e)) gave \(r.text)")
        }
        let errors: [(String, String)] = [
            ("5/0", "division by zero"), ("99999999999*99999999999", "result too long"),
            ("1234567890123456789+1", "number too long"), ("", "needs an expression"), ("3+", "ends too soon"),
            ("3+x", "expected a number"), ("(3+4", "never closed"), ("3)", "unexpected )"),
            (String(repeating: "(", count: 40) + "1" + String(repeating: ")", count: 40), "too many parentheses"),
        ]
        for (e, why) in errors {
            let r = Tools.calc(e)
            #expect(r.isError && r.text.hasPrefix("error: ") && r.text.contains(why), "calc(\(e)) gave \(r.text)")
        }
    }

    @Test("lookup reads the toy world, and a bad name or key is an error result")
    func lookup() {
        #expect(Tools.run("lookup(Mia, home)") == Tools.Result(text: "by the lake", isError: false))
        #expect(Tools.run("lookup(tom, pet name)").text == "Tibby")
        #expect(Tools.run("lookup(Ben, toy colour)").text == "blue")
        for (call, why) in [("lookup(Zed, home)", "nobody called Zed"), ("lookup(Mia, shoe size)", "unknown key"),
                            ("lookup(Mia)", "a name and a key"), ("lookup(Omar, friend)", "has no friend"),
                            ("search(kites)", "unknown tool search"), ("calc 3+4", "a call looks like"), ("(3)", "unknown tool (no name)")] {
            let r = Tools.run(call)
            #expect(r.isError && r.text.contains(why), "\(call) gave \(r.text)")
        }
        // Every fact of the world has its lookup, and the lookup gives the fact's answer.
        for fact in Tools.directory.facts {
            let call = Tools.lookupCall(fact)
            #expect(call.map { Tools.run($0).text } == fact.answer, "\(fact.statement)")
        }
    }

    @Test("a tool conversation renders as one assistant turn: the call trained, the result masked")
    func templateMask() throws {
        let messages = [Message(.user, "What is 347 * 29?"), Message(.assistant, "", call: "calc(347*29)"),
                        Message(.tool, "10063"), Message(.assistant, "10063")]
        let r = try ChatTemplate.render(messages, tokenizer: tok)
        let text = try tok.encode("What is 347 * 29?"), call = try tok.encode("calc(347*29)"), result = try tok.encode("10063\n")
        let answer = try tok.encode("10063")
        let want = [tok.id(.bos), tok.id(.user)] + text + [tok.id(.end), tok.id(.assistant), tok.id(.call)] + call
            + [tok.id(.result)] + result + answer + [tok.id(.end)]
        #expect(r.tokens == want)
        let trained = Array(repeating: false, count: 3 + text.count + 1) + Array(repeating: true, count: call.count + 2)
            + Array(repeating: false, count: result.count) + Array(repeating: true, count: answer.count + 1)
        #expect(r.trained == trained)
        #expect(r.tokens.filter { $0 == tok.id(.assistant) }.count == 1)
        // The prompt after a result is the conversation so far: the turn is already the model's.
        let prompt = try ChatTemplate.prompt(Array(messages.prefix(3)), tokenizer: tok)
        #expect(prompt == Array(want.prefix(want.count - answer.count - 1)))
        // Order and vocabulary are checked.
        #expect(throws: ChatTemplate.TemplateError.self) { try ChatTemplate.render(messages, tokenizer: .standard) }
        #expect(throws: ChatTemplate.TemplateError.self) {
            try ChatTemplate.render([Message(.user, "hi"), Message(.tool, "5")], tokenizer: tok)
        }
        #expect(throws: ChatTemplate.TemplateError.self) {
            try ChatTemplate.render([Message(.user, "hi"), Message(.assistant, "", call: "calc(1)"), Message(.user, "and?")], tokenizer: tok)
        }
        #expect(throws: ChatTemplate.TemplateError.self) {
            try ChatTemplate.render([Message(.user, "hi", call: "calc(1)")], tokenizer: tok)
        }
        // An assistant's text cannot smuggle in a call token.
        #expect(throws: ChatTemplate.TemplateError.self) {
            try ChatTemplate.render([Message(.user, "hi"), Message(.assistant, "<|call|>calc(1)")], tokenizer: tok)
        }
    }

    @Test("the data files parse back to what was generated; every call runs and gives the answer")
    func dataFiles() throws {
        let s = ToolData.generate(seed: DataFiles.defaultSeed)
        for (file, list) in zip(DataFiles.toolFiles(), [s.train, s.valid]) {
            #expect(try ToolData.parse(file.text, file: file.path) == list)
        }
        for e in s.train + s.valid {
            if let call = e.call {
                let r = Tools.run(call)
                #expect(!r.isError && r.text == e.answer, "\(call) gave \(r.text), the file says \(e.answer)")
            }
            #expect(e.kind.needsTool ? e.call != nil : (e.kind == .sum || e.call == nil))
        }
        for kind in ToolData.Kind.allCases {
            #expect(s.valid.contains { $0.kind == kind } && s.train.contains { $0.kind == kind })
        }
        // Held-out questions are never asked in training.
        #expect(Set(s.train.map(\.question)).isDisjoint(with: s.valid.filter { $0.kind != .string }.map(\.question)))
        // Some training sums call calc and some do not: the habit RL can change.
        let sums = s.train.filter { $0.kind == .sum }
        #expect(sums.contains { $0.call != nil } && sums.contains { $0.call == nil })
    }

    @Test("a bad tools line is an error naming the file and line")
    func badLines() {
        let good = ToolData.jsonLine(ToolData.generate(seed: 1).train[0])
        for (line, why) in [(good.replacingOccurrences(of: "\"function_calls\":null", with: "\"function_calls\":3"), "function_calls"),
                            (good.replacingOccurrences(of: "\"kind\":", with: "\"sort\":"), "kind"),
                            (#"{"messages":[{"role":"tool","content":"5"}],"kind":"fact","task":"fact","answer":"5"}"#, "tool")] {
            #expect {
                try ToolData.parse(good + "\n" + line, file: "tools/x.jsonl")
            } throws: { error in
                "\(error)".contains("tools/x.jsonl line 2") && "\(error)".contains(why)
            }
        }
    }

    /// Scripted completions for the runner: each call to the "model" hands out the next piece of each reply.
    func script(_ pieces: [[String]]) -> (prompts: [[Int]], continueWith: ([[Int]], Int) -> [Completion]) {
        var next = Array(repeating: 0, count: pieces.count)
        let prompts = pieces.indices.map { [tok.id(.bos), tok.id(.user), 9 + $0, tok.id(.end), tok.id(.assistant)] }
        return (prompts, { contexts, limit in
            contexts.map { context in
                let i = context[2] - 9
                let text = pieces[i][min(next[i], pieces[i].count - 1)]
                next[i] += 1
                let ids = Array(((try? tok.encodeWithSpecials(text)) ?? []).prefix(limit))
                let stops = ids.last == tok.id(.end) || ids.last == tok.id(.result)
                return Completion(tokens: ids, logprobs: ids.map { _ in -1 }, stopped: stops)
            }
        })
    }

    @Test("the runner executes calls, marks what it wrote, and stops at the call budget")
    func runner() {
        let (prompts, model) = script([
            ["<|call|>calc(6*7)<|result|>", "42<|end|>"],                                         // one good call
            ["7<|end|>"],                                                                         // no call
            ["<|call|>calc(1/0)<|result|>", "<|call|>lookup(Mia, home)<|result|>", "by the lake<|end|>"],  // an error, then a fix
            ["<|call|>calc(1)<|result|>"],                                                        // calls forever
            ["<|result|>", "5<|end|>"],                                                           // a result token with no call
        ])
        let r = ToolUse.generate(prompts: prompts, maxNewTokens: 200, blockSize: 256, budget: 2, world: .standard,
                                 tokenizer: tok, continueWith: model)
        for reply in r { #expect(reply.tokens.count == reply.byModel.count && reply.tokens.count == reply.logprobs.count) }
        #expect(r[0].calls.map(\.text) == ["calc(6*7)"] && r[0].answer == "42" && r[0].stopped)
        #expect(tok.decode(zip(r[0].tokens, r[0].byModel).filter { !$0.1 }.map(\.0)) == "42\n")
        #expect(r[1].calls.isEmpty && r[1].answer == "7" && r[1].byModel.allSatisfy { $0 })
        #expect(r[2].calls.map(\.wellFormed) == [false, true] && r[2].answer == "by the lake")
        #expect(r[2].calls[0].result.text == "error: division by zero")
        // Budget 2: the third call gets an error, and the loop ends without an <|end|>.
        #expect(r[3].calls.count == 3 && r[3].calls[2].result.text.contains("no calls left") && !r[3].stopped)
        #expect(r[4].calls.first?.result.text == "error: a call starts with <|call|>" && r[4].answer == "5")
    }

    @Test("a result that does not fit the context is cut there: prompt and reply never pass the block size")
    func runnerKeepsInsideTheContext() {
        let (prompts, model) = script([["<|call|>lookup(Mia, shoe size)<|result|>", "no<|end|>"]])
        let blockSize = prompts[0].count + 30    // the call takes 25 tokens, the error result far more
        let r = ToolUse.generate(prompts: prompts, maxNewTokens: 200, blockSize: blockSize, budget: 2, world: .standard,
                                 tokenizer: tok, continueWith: model)
        #expect(r[0].calls.count == 1 && r[0].calls[0].result.isError)
        #expect(prompts[0].count + r[0].tokens.count == blockSize, "\(prompts[0].count) + \(r[0].tokens.count) vs \(blockSize)")
        #expect(r[0].tokens.count == r[0].byModel.count && !r[0].stopped)
    }

    @Test("tool RL's reward: 1 for a right final answer, minus the cost of each call")
    func rewardChargesEachCall() throws {
        let e = try #require(try ToolTraining.data().train.first { $0.kind == .sum })
        let (prompts, model) = script([
            ["<|call|>calc(1+1)<|result|>", "\(e.answer)<|end|>"],                                   // right, one call
            ["\(e.answer)<|end|>"],                                                                  // right, no call
            ["<|call|>calc(1+1)<|result|>", "<|call|>calc(2+2)<|result|>", "-1<|end|>"],              // wrong, two calls
            ["-1<|end|>"],                                                                           // wrong, no call
        ])
        let replies = ToolUse.generate(prompts: prompts, maxNewTokens: 200, blockSize: 256, budget: 3, world: .standard,
                                       tokenizer: tok, continueWith: model)
        let c = ToolTraining.callCost
        let want = [1 - c, 1, -2 * c, 0]
        let got = replies.map { ToolTraining.reward($0, e) }
        #expect(zip(got, want).allSatisfy { abs($0 - $1) < 1e-12 }, "rewards \(got), expected \(want)")
    }
}
