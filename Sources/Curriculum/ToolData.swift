import Foundation
import Kernels

/// Lesson08's conversations: when to call a tool, and how. Written to data/tools/ as JSON
/// lines with the fields post-training libraries use (`function_calls` holds an assistant's
/// call, a `tool` message the runner's result):
///
///     {"messages":[{"role":"user","content":"What is 347 * 29?","function_calls":null,"functions":null},
///                  {"role":"assistant","content":"","function_calls":"calc(347*29)","functions":null},
///                  {"role":"tool","content":"10063","function_calls":null,"functions":null},
///                  {"role":"assistant","content":"10063","function_calls":null,"functions":null}],
///      "kind":"multiply","task":"arithmetic","answer":"10063"}
///
/// (`functions` stays null: every conversation offers the same two tools, and the template
/// has no place to list them.) Four kinds:
///
///     multiply   3-digit x 2-digit products: beyond the model, so the data always calls calc
///     fact       toy-world facts: the data always calls lookup; most training questions are
///                about people only the lookup's directory knows (`Tools.strangers`), so the
///                answer must be read from the result; the held-out file asks the story
///                facts SFT never asked in lesson03, the ones the chat models forgot
///     sum        2-digit sums, which the model works out itself with a column trace (lesson03):
///                the data's author called calc for most of them anyway and wrote the trace
///                for the rest, a habit SFT copies and RL can weigh
///     string     lesson03's string tasks, answered directly: no tool helps
///
/// Split rule: a product is held out iff FNV-1a of "a*b" is divisible by 5; a sum as in
/// mid-training and SFT (`Arithmetic.isHeldOut`); facts and words as in `Conversations`.
public enum ToolData {
    public enum Kind: String, CaseIterable, Sendable {
        case multiply, fact, sum, string

        /// The kinds whose questions need a tool: the model cannot answer them alone.
        public var needsTool: Bool { self == .multiply || self == .fact }

        public var title: String {
            switch self {
            case .multiply: return "3-digit x 2-digit"
            case .fact: return "toy-world facts"
            case .sum: return "2-digit sums"
            case .string: return "string tasks"
            }
        }
    }

    /// One conversation and what grading it needs.
    public struct Example: Equatable, Sendable {
        public var kind: Kind
        /// The verifier to grade the answer with.
        public var task: Conversations.Task
        public var messages: [ChatTemplate.Message]
        /// The right final answer.
        public var answer: String

        public var question: String { messages.first?.content ?? "" }
        /// The call the conversation makes, if any.
        public var call: String? { messages.first { $0.call != nil }?.call }
    }

    public struct Splits: Sendable {
        public var train: [Example] = []
        public var valid: [Example] = []
    }

    /// Training conversations per kind, and held-out questions per kind (facts: every held-out fact).
    public static let trainCounts: [Kind: Int] = [.multiply: 1600, .fact: 1200, .sum: 1200, .string: 1200]
    public static let validCount = 60
    /// The share of training 2-digit sums that call calc although the model can work them out.
    /// The other half shows the trace, so SFT keeps the skill RL will weigh the calls against.
    public static let sumCallShare = 0.5
    /// The share of training fact questions about people no story mentions.
    public static let strangerShare = 0.7

    public static func isHeldOutProduct(_ a: Int, _ b: Int) -> Bool { PretrainCorpus.fnv1a("\(a)*\(b)") % 5 == 0 }

    /// A conversation that calls a tool and answers with its result.
    static func withCall(_ question: String, _ call: Tools.Call) -> (messages: [ChatTemplate.Message], answer: String) {
        let result = Tools.run(call).text
        return ([.init(.user, question), .init(.assistant, "", call: call.text), .init(.tool, result), .init(.assistant, result)], result)
    }

    /// Generates both files' conversations from the seed.
    public static func generate(seed: UInt64, world: World = .standard) -> Splits {
        var writer = ConversationWriter(rng: RNG(seed: seed ^ 0x7001), world: world)
        var s = Splits()
        for kind in Kind.allCases {
            for heldOut in [true, false] {
                let want = heldOut ? validCount : trainCounts[kind] ?? 0
                var seen = Set<String>()
                var made = 0, attempts = 0
                while made < want && attempts < 200 * want {
                    attempts += 1
                    guard let e = example(kind, heldOut: heldOut, writer: &writer) else { break }
                    if heldOut && !seen.insert(e.question).inserted { continue }
                    if heldOut { s.valid.append(e) } else { s.train.append(e) }
                    made += 1
                }
            }
        }
        var shuffler = RNG(seed: seed ^ 0x7002)
        shuffler.shuffle(&s.train)
        return s
    }

    static func example(_ kind: Kind, heldOut: Bool, writer: inout ConversationWriter) -> Example? {
        let world = writer.world
        switch kind {
        case .multiply:
            var a = 0, b = 0
            repeat { a = writer.rng.int(in: 100...999); b = writer.rng.int(in: 10...99) } while isHeldOutProduct(a, b) != heldOut
            let question = writer.rng.pick(["What is \(a) * \(b)?", "What is \(a) times \(b)?", "Multiply \(a) by \(b).",
                                            "Compute \(a) * \(b).", "How much is \(a) times \(b)?"])
            let c = withCall(question, Tools.Call(.calc, "\(a)*\(b)"))
            return Example(kind: kind, task: .arithmetic, messages: c.messages, answer: c.answer)
        case .fact:
            // Training: mostly people only the directory knows; held out: the story facts SFT never asked.
            let strangers = Tools.strangers.flatMap { Tools.directory.facts(about: $0) }
            let pool = heldOut ? world.facts.filter(Conversations.isHeldOut)
                : writer.rng.chance(strangerShare) ? strangers : world.facts.filter { !Conversations.isHeldOut($0) }
            guard !pool.isEmpty else { return nil }
            let f = writer.rng.pick(pool)
            guard let call = Tools.lookupCall(f, world: Tools.directory) else { return nil }
            let question = heldOut ? f.question : writer.rng.pick([f.question, "Please answer: \(f.question)", "Quick question: \(f.question)"])
            let c = withCall(question, call)
            return Example(kind: kind, task: .fact, messages: c.messages, answer: c.answer)
        case .sum:
            var a = 0, b = 0
            repeat { a = writer.rng.int(in: Arithmetic.operands); b = writer.rng.int(in: Arithmetic.operands) } while Arithmetic.isHeldOut(a, b) != heldOut
            let question = writer.rng.pick(["What is \(a) + \(b)?", "What is \(a) plus \(b)?", "Add \(a) and \(b).", "\(a) + \(b) = ?"])
            if !heldOut && writer.rng.chance(sumCallShare) {
                let c = withCall(question, Tools.Call(.calc, "\(a)+\(b)"))
                return Example(kind: kind, task: .arithmetic, messages: c.messages, answer: c.answer)
            }
            let reply = "<think>\(Conversations.columnTrace(a, .plus, b))</think>\(a + b)"
            return Example(kind: kind, task: .arithmetic, messages: [.init(.user, question), .init(.assistant, reply)], answer: "\(a + b)")
        case .string:
            let task = writer.rng.pick([Conversations.Task.reverse, .palindrome, .count, .uppercase])
            let item = writer.item(task, heldOut: heldOut)
            return Example(kind: kind, task: task, messages: [.init(.user, item.question), .init(.assistant, item.answer)], answer: item.answer)
        }
    }

    // MARK: JSON lines

    public static func jsonLine(_ e: Example) -> String {
        func field(_ s: String?) -> String { s.map(Conversations.jsonString) ?? "null" }
        let messages = e.messages.map {
            "{\"role\":\"\($0.role.rawValue)\",\"content\":\(Conversations.jsonString($0.content)),\"function_calls\":\(field($0.call)),\"functions\":null}"
        }
        return "{\"messages\":[\(messages.joined(separator: ","))],\"kind\":\"\(e.kind.rawValue)\",\"task\":\"\(e.task.rawValue)\",\"answer\":\(Conversations.jsonString(e.answer))}"
    }

    public static func jsonl(_ list: [Example]) -> String {
        list.map(jsonLine).joined(separator: "\n") + (list.isEmpty ? "" : "\n")
    }

    /// Parses a tools JSONL file. A bad line is an error naming the file and the line.
    public static func parse(_ text: String, file: String) throws -> [Example] {
        try DataFiles.jsonLines(text, file: file).map { line in
            let object = line.object, bad = line.error
            let messages = try Conversations.messages(object, tools: true, bad: bad)
            guard let kindName = object["kind"] as? String, let kind = Kind(rawValue: kindName) else {
                throw bad("expected a \"kind\" field, one of: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let taskName = object["task"] as? String, let task = Conversations.Task(rawValue: taskName) else {
                throw bad("expected a \"task\" field, one of: \(Conversations.Task.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let answer = object["answer"] as? String else { throw bad("expected a string \"answer\" field") }
            return Example(kind: kind, task: task, messages: messages, answer: answer)
        }
    }
}
