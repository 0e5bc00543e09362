// chat: talk to any stage's checkpoint in the terminal.
//
//     swift run chat                          # the instruct model (runs/03-instruct.safetensors)
//     swift run chat --stage think            # the think model: watch it work before it answers
//     swift run chat --stage base --quick     # a base model just continues your text
//     echo "What is 47 + 38?" | swift run chat --stage instruct
//
// Chat stages (instruct, think, dpo, rlvr) get each line as a user turn in the chat
// template and reply until they write <|end|>. The base and mid models never learned the
// template, so they get your line as the start of a document and continue it: that
// difference is lesson03's point. The tools model (lesson08) runs its calls live: each call
// and its result are printed as they happen. End with Ctrl-D (end of input).

import Curriculum
import Foundation
import Kernels
import Notebook
import TinyGPT

let usage = "usage: swift run chat [--stage base|mid|instruct|think|dpo|rlvr|tools] [--temperature T] [--seed N] [--out DIR] [--quick]"

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data(("chat: " + message + "\n").utf8))
    exit(code)
}

// MARK: arguments

var stage = Stage.instruct
var temperature: Float = 0
var seed: UInt64 = 1337
var outDir: String?
var quick = false
/// The shared flag grammar (`--stage think` or `--stage=think`); a bad flag exits 2.
do {
    var flags = FlagReader(Array(CommandLine.arguments.dropFirst()))
    while let flag = try flags.next() {
        switch flag {
        case "--stage":
            let name = try flags.value()
            guard let s = Stage(rawValue: name) else {
                throw UsageError("unknown stage '\(name)'; the stages are \(Stage.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            stage = s
        case "--temperature":
            let v = try flags.value()
            guard let t = Float(v), t >= 0, t.isFinite else { throw UsageError("--temperature needs a number >= 0, got '\(v)'") }
            temperature = t
        case "--seed":
            let v = try flags.value()
            guard let s = UInt64(v) else { throw UsageError("--seed needs a whole number >= 0, got '\(v)'") }
            seed = s
        case "--out":
            outDir = try flags.value()
        case "--quick":
            try flags.noValue()
            quick = true
        case "-h", "--help":
            try flags.noValue()
            print(usage)
            print("""
                  --stage S        which checkpoint to talk to (default instruct)
                  --temperature T  0 = always the most likely token (default); higher = more varied
                  --seed N         seed for sampling when T > 0 (default 1337)
                  --out DIR        where the lessons wrote their checkpoints (default runs/ in the package)
                  --quick          use the tiny models of --quick lesson runs (runs/quick/)
                Flags also accept the --flag=value form. Each line you type is one question; Ctrl-D ends the chat.
                """)
            exit(0)
        default:
            throw flags.unknown
        }
    }
} catch {
    fail("\(error)\n\(usage)", code: 2)
}

// MARK: load

let run = RunDirectory(outDir: outDir ?? Options.defaultOutDir(), quick: quick)
let path = run.checkpoint(stage)
guard FileManager.default.fileExists(atPath: path) else {
    fail("no \(stage.rawValue) checkpoint at \(path); make it with `swift run \(stage.lesson)\(quick ? " --quick" : "")`", code: 1)
}
let model: GPT
do {
    model = try loadStage(stage, from: run).0
} catch {
    fail("\(error)", code: 1)
}

let chatStages: Set<Stage> = [.instruct, .think, .dpo, .rlvr, .tools]
let isChat = chatStages.contains(stage)
let interactive = isatty(STDIN_FILENO) != 0
if interactive {
    print("Talking to the \(stage.rawValue) model (\(path), \(model.config), temperature \(temperature)).")
    if isChat {
        print("Each line is a new single-turn conversation (the models were fine-tuned on single turns). Ctrl-D ends.")
    } else {
        print("The \(stage.rawValue) model has no chat template: it continues your line as text. Ctrl-D ends.")
    }
}

// MARK: the loop

var rng = RNG(seed: seed)
while true {
    if interactive {
        print("you> ", terminator: "")
        fflush(stdout)
    }
    guard let line = readLine(strippingNewline: true) else { break }
    let question = line.trimmingCharacters(in: .whitespaces)
    if question.isEmpty { continue }
    do {
        if stage == .tools {
            guard let reply = try ToolUse.reply(model, [question], temperature: temperature, rng: &rng).first else { continue }
            for c in reply.calls {
                print("   call   \(c.text)")
                print("   result \(c.result.text)")
            }
            print("\(stage.rawValue)> \(reply.answer)")
            if !reply.stopped { print("   (no \(Tokenizer.Special.end.text): the reply ran out of room or of calls)") }
        } else if isChat {
            guard let reply = try SFT.reply(model, [question], temperature: temperature, rng: &rng).first else { continue }
            var text = reply.text
            let end = Tokenizer.Special.end.text
            let stopped = text.hasSuffix(end)
            if stopped { text.removeLast(end.count) }
            print("\(stage.rawValue)> \(text)")
            if !stopped { print("   (no \(end): the reply ran out of room)") }
        } else {
            let out = try Probes.complete(model, ["<|bos|>" + question], temperature: temperature, maxTokens: 120, rng: &rng)
            print("\(stage.rawValue)> \(question)\(out.first ?? "")")
        }
    } catch {
        print("   (\(error))")
    }
}
if interactive { print("") }
exit(0)
