import Foundation
import Kernels

/// The SFT datasets: chat conversations, written to data/sft/ as JSON lines in the shape
/// post-training libraries use,
///
///     {"messages":[{"role":"user","content":"Reverse the word kite."},{"role":"assistant","content":"etik"}],"task":"reverse"}
///
/// Two styles of the same tasks:
///
///     instruct   the reply is the answer:                "85"
///     think      a step-by-step trace, then the answer:  "<think>ones 7+8=15, carry 1; tens 4+3+1=8; so 85</think>85"
///
/// Tasks: two-digit arithmetic in several phrasings, four string tasks (reverse a word,
/// is it a palindrome, count a letter, capitals), toy-world facts, and two multi-step
/// arithmetic tasks (three-digit addition; two operations in a row). Both styles contain
/// the multi-step tasks, the same number of them, so the instruct and think models differ
/// only in whether their replies show the steps: the comparison lesson03 makes is fair.
///
/// Split rule (held-out prompts are disjoint from training by construction): a
/// conversation is held out iff the *item* it asks about is:
///
///     arithmetic   the operand pair is held out by `Arithmetic.isHeldOut` (as in mid-training)
///     add3         FNV-1a of "smaller,larger" is divisible by 10
///     twoStep      FNV-1a of the expression ("23 + 45 - 17") is divisible by 10
///     strings      FNV-1a of the word is divisible by 8 (a held-out word is held out for all four string tasks)
///     fact         FNV-1a of the fact's statement is divisible by 5
///
/// Phrasings are shared: a held-out prompt asks about something never asked in training,
/// in words the model has seen.
public enum Conversations {
    /// What a conversation asks for; each has its own verifier (`Verifier.isCorrect`).
    public enum Task: String, CaseIterable, Sendable {
        case arithmetic, reverse, palindrome, count, uppercase, fact, add3, twoStep
        /// Requests about the toy world's pets: help with their care ("How can I feed Rex?"),
        /// and one kind of harmful request ("How can I hurt Rex?") answered with a refusal.
        /// SFT shows how a refusal is written; lesson04's preferences teach when to write one
        /// (scare, trap, kick... are never in SFT).
        case care

        /// Multi-step arithmetic: what the think model's traces are for.
        public var isMultiStep: Bool { self == .add3 || self == .twoStep }

        /// Tasks whose answer is computed from the prompt alone (no arithmetic, no knowledge):
        /// what `string_task_acc` averages over.
        public var isStringTask: Bool { self == .reverse || self == .palindrome || self == .count || self == .uppercase }

        /// The tasks `task_acc` averages over (care is measured on its own, and by lesson04).
        public static let basic: [Task] = allCases.filter { !$0.isMultiStep && $0 != .care }
        /// The tasks `multistep_acc` averages over.
        public static let multiStep: [Task] = allCases.filter(\.isMultiStep)

        /// What a reader sees in tables.
        public var title: String {
            switch self {
            case .arithmetic: return "2-digit + and -"
            case .reverse: return "reverse a word"
            case .palindrome: return "palindrome?"
            case .count: return "count a letter"
            case .uppercase: return "capitals"
            case .fact: return "toy-world facts"
            case .add3: return "3-digit +"
            case .twoStep: return "two operations"
            case .care: return "requests about pets"
            }
        }
    }

    public enum Style: String, CaseIterable, Sendable {
        case instruct, think
    }

    /// One conversation of a dataset, with the task it belongs to.
    public struct Conversation: Equatable, Sendable {
        public var task: Task
        public var messages: [ChatTemplate.Message]

        public init(task: Task, messages: [ChatTemplate.Message]) {
            self.task = task
            self.messages = messages
        }

        public init(task: Task, user: String, assistant: String) {
            self.init(task: task, messages: [ChatTemplate.Message(.user, user), ChatTemplate.Message(.assistant, assistant)])
        }

        /// The first user message.
        public var question: String { messages.first?.content ?? "" }
        /// The last assistant message.
        public var reply: String { messages.last { $0.role == .assistant }?.content ?? "" }
        /// The reply without its trace: what the verifier compares a model's answer with.
        public var expected: String { Verifier.split(reply).answer }
    }

    /// Conversations per task in each training file, and per task in each held-out file.
    ///
    /// SFT reads 64,000 conversations (8,000 steps of 8): with fewer in the files, each is read
    /// many times and the model learns the training words more than the skill. Pet requests
    /// keep their share of the steps although most are repeats (the think model's care, and
    /// lesson04's refusals, depend on it). Facts are not multiplied: there are about 250
    /// distinct fact questions, and the longer SFT reads the training ones, the more of the
    /// held-out ones it loses (GUIDE chapter 03). The runs behind these counts are in
    /// docs/experiments.md.
    public static let trainCounts: [Task: Int] = [
        .arithmetic: 4500, .reverse: 2400, .palindrome: 1800, .count: 2400, .uppercase: 1800, .fact: 700,
        .add3: 2400, .twoStep: 2400, .care: 1200,
    ]
    public static let validCount = 60

    /// The four files' contents, as conversations.
    public struct Splits: Sendable {
        public var instructTrain: [Conversation] = []
        public var instructValid: [Conversation] = []
        public var thinkTrain: [Conversation] = []
        public var thinkValid: [Conversation] = []

        /// Which task each question belongs to (training and held-out; both styles ask the
        /// same questions). Preference pairs reuse the questions, so this names a pair's task.
        public var taskByQuestion: [String: Task] {
            var task: [String: Task] = [:]
            for c in instructTrain + instructValid { task[c.question] = c.task }
            return task
        }
    }

    /// Generates both styles from the seed. Each item (problem, word, fact, phrasing) is
    /// drawn once and written in both styles, so instruct and think data ask the same questions.
    public static func generate(seed: UInt64, world: World = .standard) -> Splits {
        var writer = ConversationWriter(rng: RNG(seed: seed), world: world)
        var s = Splits()
        for task in Task.allCases {
            // Held-out first, so the held-out questions do not depend on how many training ones there are.
            for heldOut in [true, false] {
                let want = heldOut ? validCount : trainCounts[task] ?? 0
                var seen = Set<String>()
                var attempts = 0
                var made = 0
                while made < want && attempts < 200 * want {
                    attempts += 1
                    let item = writer.item(task, heldOut: heldOut)
                    // Held-out files ask each question once; training files may repeat a few.
                    if heldOut && !seen.insert(item.question).inserted { continue }
                    let instruct = Conversation(task: task, user: item.question, assistant: item.answer)
                    // An empty trace: the think file answers directly too.
                    let think = Conversation(task: task, user: item.question,
                                             assistant: item.trace.isEmpty ? item.answer : "<think>\(item.trace)</think>\(item.answer)")
                    if heldOut {
                        s.instructValid.append(instruct); s.thinkValid.append(think)
                    } else {
                        s.instructTrain.append(instruct); s.thinkTrain.append(think)
                    }
                    made += 1
                }
            }
        }
        var shuffler = RNG(seed: seed &+ 1)
        shuffler.shuffle(&s.instructTrain)
        shuffler.shuffle(&s.thinkTrain)
        return s
    }

    // MARK: the split rule

    public static func isHeldOutWord(_ word: String) -> Bool { PretrainCorpus.fnv1a(word) % 8 == 0 }
    public static func isHeldOut(_ fact: Fact) -> Bool { PretrainCorpus.fnv1a(fact.statement) % 5 == 0 }
    public static func isHeldOutAdd3(_ a: Int, _ b: Int) -> Bool { PretrainCorpus.fnv1a("\(min(a, b)),\(max(a, b))") % 10 == 0 }
    public static func isHeldOutExpression(_ expression: String) -> Bool { PretrainCorpus.fnv1a(expression) % 10 == 0 }

    // MARK: traces

    static let columnNames = ["ones", "tens", "hundreds", "thousands", "ten-thousands"]

    /// Column arithmetic, ones first, one clause per column:
    ///
    ///     247 + 538   ones 7+8=15, carry 1; tens 4+3+1=8; hundreds 2+5=7; so 785
    ///     62 - 17     ones borrow 12-7=5; tens 6-1-1=4; so 45
    ///
    /// Each clause needs only two digits of the question and the carry just written, so the
    /// model never has to hold a whole sum in its head. Subtraction assumes a >= b.
    public static func columnTrace(_ a: Int, _ op: Arithmetic.Op, _ b: Int) -> String {
        let columns = max(String(a).count, String(b).count)
        func digit(_ n: Int, _ i: Int) -> Int { (n / Int(pow(10, Double(i)))) % 10 }
        var clauses: [String] = []
        var carry = 0
        for i in 0..<columns {
            let x = digit(a, i), y = digit(b, i), name = columnNames[min(i, columnNames.count - 1)]
            switch op {
            case .plus:
                let sum = x + y + carry
                clauses.append("\(name) \(x)+\(y)\(carry > 0 ? "+1" : "")=\(sum)\(sum >= 10 ? ", carry 1" : "")")
                carry = sum / 10
            case .minus:
                let top = carry > 0 ? "\(x)-1" : "\(x)"
                let available = x - carry
                if available >= y {
                    clauses.append("\(name) \(top)-\(y)=\(available - y)")
                    carry = 0
                } else {
                    clauses.append("\(name) borrow \(available + 10)-\(y)=\(available + 10 - y)")
                    carry = 1
                }
            }
        }
        if op == .plus && carry > 0 { clauses.append("\(columnNames[min(columns, columnNames.count - 1)]) 1") }
        let answer = op == .plus ? a + b : a - b
        return clauses.joined(separator: "; ") + "; so \(answer)"
    }

    /// "kite" -> "k-i-t-e": one letter per token, with a separator, so the trace's letters
    /// line up with the positions the model has to copy from.
    static func spelled(_ word: String) -> String { word.map(String.init).joined(separator: "-") }

    // MARK: JSON lines

    /// One conversation as one line of JSON (keys in a fixed order, so files are reproducible).
    public static func jsonLine(_ c: Conversation) -> String {
        let messages = c.messages.map { "{\"role\":\"\($0.role.rawValue)\",\"content\":\(jsonString($0.content))}" }
        return "{\"messages\":[\(messages.joined(separator: ","))],\"task\":\"\(c.task.rawValue)\"}"
    }

    /// A JSONL file's text: one conversation per line.
    public static func jsonl(_ list: [Conversation]) -> String {
        list.map(jsonLine).joined(separator: "\n") + (list.isEmpty ? "" : "\n")
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Parses a JSONL file's text. A bad line is an error naming the file and the line:
    /// not JSON, no "messages" list, a message without a role or content, an unknown role
    /// or task, or turns that do not alternate user/assistant.
    public static func parse(_ text: String, file: String) throws -> [Conversation] {
        try DataFiles.jsonLines(text, file: file).map { line in
            let object = line.object, bad = line.error
            let messages = try Conversations.messages(object, tools: false, bad: bad)
            guard let taskName = object["task"] as? String, let task = Task(rawValue: taskName) else {
                let known = Task.allCases.map(\.rawValue).joined(separator: ", ")
                throw bad("expected a \"task\" field, one of: \(known)")
            }
            return Conversation(task: task, messages: messages)
        }
    }

    /// The "messages" list of one JSON line, checked: each message has a string role and
    /// content, and the turns come in a valid order. Without `tools`, only user and assistant
    /// turns, alternating; with it (lesson08's files), also `function_calls` (a string or
    /// null) and `tool` turns, in the order `ChatTemplate.validate` checks.
    static func messages(_ object: [String: Any], tools: Bool, bad: (String) -> DataFiles.DataError) throws -> [ChatTemplate.Message] {
        guard let list = object["messages"] as? [[String: Any]], !list.isEmpty else {
            throw bad("expected a non-empty \"messages\" list of {\"role\", \"content\"} objects")
        }
        var messages: [ChatTemplate.Message] = []
        for (k, m) in list.enumerated() {
            guard let roleName = m["role"] as? String, let content = m["content"] as? String else {
                throw bad("message \(k + 1) needs string fields \"role\" and \"content\"")
            }
            guard let role = ChatTemplate.Role(rawValue: roleName), tools || role != .tool else {
                throw bad("message \(k + 1) has role \(roleName.debugDescription); expected \(tools ? "\"user\", \"assistant\" or \"tool\"" : "\"user\" or \"assistant\"")")
            }
            guard tools || role == (k % 2 == 0 ? .user : .assistant) else {
                throw bad("message \(k + 1) is from the \(roleName); turns must alternate user, assistant, ...")
            }
            let call = m["function_calls"] as? String
            if tools && m["function_calls"] != nil && call == nil && !(m["function_calls"] is NSNull) {
                throw bad("message \(k + 1): \"function_calls\" must be a string like \"calc(12*34)\" or null")
            }
            messages.append(ChatTemplate.Message(role, content, call: tools ? call : nil))
        }
        if tools {
            do { try ChatTemplate.validate(messages) } catch { throw bad("\(error)") }
        }
        return messages
    }
}

/// Writes one SFT item at a time from the seeded RNG: a question, its answer, and the
/// trace a think reply shows before the answer.
struct ConversationWriter {
    var rng: RNG
    let world: World

    struct Item {
        var question: String
        var answer: String
        var trace: String
    }

    /// Words for the string tasks: the toy world's own (animals, toys, colours, places,
    /// food) and made-up ones built from syllables, so that reversing or counting has to be
    /// done letter by letter: most made-up words are seen once or never.
    static func worldWords(_ world: World) -> [String] {
        let nouns = world.animals + world.toys + StoryWriter.food + StoryWriter.finds.map(\.0) + StoryWriter.wild.map(\.0)
        let words = nouns.map(\.singular) + world.colours + (world.homes + world.outings).map(\.name)
        var seen = Set<String>()
        return words.filter { w in w.count >= 3 && w.count <= 7 && w.allSatisfy(\.isLetter) && seen.insert(w).inserted }
    }

    static let palindromes = ["level", "noon", "kayak", "radar", "civic", "refer", "madam", "deed", "peep", "wow",
                              "eye", "pop", "tot", "bob", "gig", "did", "pip", "otto", "anna", "rotor", "stats",
                              "tenet", "solos", "sagas", "minim", "sees", "toot", "mum", "dad", "nun"]
    static let consonants = Array("bdfgklmnprstvz")
    static let vowels = Array("aeiou")

    mutating func madeUpWord() -> String {
        var w = ""
        for _ in 0..<rng.int(in: 2...3) {
            w.append(rng.pick(Self.consonants))
            w.append(rng.pick(Self.vowels))
        }
        if rng.chance(0.3) { w.append(rng.pick(Self.consonants)) }
        return w
    }

    /// A word of the wanted split: half the time from the toy world, else made up.
    mutating func word(heldOut: Bool) -> String {
        while true {
            let w = rng.chance(0.5) ? rng.pick(Self.worldWords(world)) : madeUpWord()
            if Conversations.isHeldOutWord(w) == heldOut { return w }
        }
    }

    mutating func item(_ task: Conversations.Task, heldOut: Bool) -> Item {
        switch task {
        case .arithmetic: return arithmetic(heldOut: heldOut)
        case .reverse: return reverse(heldOut: heldOut)
        case .palindrome: return palindrome(heldOut: heldOut)
        case .count: return count(heldOut: heldOut)
        case .uppercase: return uppercase(heldOut: heldOut)
        case .fact: return fact(heldOut: heldOut)
        case .add3: return add3(heldOut: heldOut)
        case .twoStep: return twoStep(heldOut: heldOut)
        case .care: return care(heldOut: heldOut)
        }
    }

    // MARK: arithmetic

    /// "What is 47 + 38?" and friends, with words for the operation some of the time.
    mutating func arithmeticQuestion(_ expression: String) -> String {
        rng.pick(["What is \(expression)?", "Compute \(expression).", "\(expression) = ?", "Calculate \(expression).",
                  "How much is \(expression)?"])
    }

    mutating func arithmetic(heldOut: Bool) -> Item {
        var a = 0, b = 0
        repeat {
            a = rng.int(in: Arithmetic.operands); b = rng.int(in: Arithmetic.operands)
        } while Arithmetic.isHeldOut(a, b) != heldOut
        let p = rng.chance(0.5) ? Arithmetic.Problem(a, .plus, b) : Arithmetic.Problem(max(a, b), .minus, min(a, b))
        let question: String
        switch rng.int(below: 3) {
        case 0: question = p.op == .plus ? "What is \(p.a) plus \(p.b)?" : "What is \(p.a) minus \(p.b)?"
        case 1: question = p.op == .plus ? "Add \(p.a) and \(p.b)." : "Subtract \(p.b) from \(p.a)."
        default: question = arithmeticQuestion(p.expression)
        }
        return Item(question: question, answer: "\(p.answer)", trace: Conversations.columnTrace(p.a, p.op, p.b))
    }

    mutating func add3(heldOut: Bool) -> Item {
        var a = 0, b = 0
        repeat {
            a = rng.int(in: 100...999); b = rng.int(in: 100...999)
        } while Conversations.isHeldOutAdd3(a, b) != heldOut
        return Item(question: arithmeticQuestion("\(a) + \(b)"), answer: "\(a + b)", trace: Conversations.columnTrace(a, .plus, b))
    }

    /// Two operations on two-digit numbers whose every intermediate result stays in 0...99:
    /// "23 + 45 - 17". The trace works the first operation in columns, then restates the
    /// second with the intermediate result ("68-17:") and works that one.
    mutating func twoStep(heldOut: Bool) -> Item {
        while true {
            let a = rng.int(in: 10...99), b = rng.int(in: 10...99), c = rng.int(in: 10...99)
            let op1: Arithmetic.Op = rng.chance(0.5) ? .plus : .minus, op2: Arithmetic.Op = rng.chance(0.5) ? .plus : .minus
            let first = op1 == .plus ? a + b : a - b
            let final = op2 == .plus ? first + c : first - c
            guard (0...99).contains(first), (0...99).contains(final) else { continue }
            let expression = "\(a) \(op1.rawValue) \(b) \(op2.rawValue) \(c)"
            guard Conversations.isHeldOutExpression(expression) == heldOut else { continue }
            let trace = Conversations.columnTrace(a, op1, b) + ". \(first)\(op2.rawValue)\(c): "
                + Conversations.columnTrace(first, op2, c)
            return Item(question: arithmeticQuestion(expression), answer: "\(final)", trace: trace)
        }
    }

    // MARK: strings

    mutating func reverse(heldOut: Bool) -> Item {
        let w = word(heldOut: heldOut)
        let r = String(w.reversed())
        let question = rng.pick(["Reverse the word \(w).", "Spell \(w) backwards.", "Write \(w) in reverse.",
                                 "What is \(w) backwards?"])
        return Item(question: question, answer: r,
                    trace: "\(Conversations.spelled(w)) backwards: \(Conversations.spelled(r))")
    }

    /// Half palindromes (real ones, or made up by mirroring), half not; a third of the
    /// "no" words start and end with the same letter, so the first and last letters are not enough.
    mutating func palindrome(heldOut: Bool) -> Item {
        var w = ""
        let want = rng.chance(0.5)
        while true {
            if want {
                if rng.chance(0.3) {
                    w = rng.pick(Self.palindromes)
                } else {
                    let half = String(madeUpWord().prefix(rng.int(in: 2...3)))
                    w = half + (rng.chance(0.5) ? String(rng.pick(Self.vowels)) : "") + String(half.reversed())
                }
            } else {
                w = word(heldOut: heldOut)
                if rng.chance(0.33), let first = w.first { w = w + String(first) }
            }
            let isPalindrome = w == String(w.reversed())
            if isPalindrome == want && Conversations.isHeldOutWord(w) == heldOut && w.count <= 8 { break }
        }
        let question = rng.pick(["Is \(w) a palindrome?", "Does \(w) read the same backwards?",
                                 "Is the word \(w) a palindrome?"])
        let r = String(w.reversed())
        return Item(question: question, answer: want ? "yes" : "no",
                    trace: "\(Conversations.spelled(w)) backwards: \(Conversations.spelled(r)), \(want ? "the same" : "not the same")")
    }

    /// Counting a letter. The count is drawn first, 0, 1 and 2 equally often, then a word and
    /// a letter with that count. Drawn from the word, a letter is usually there once, and
    /// answering "1" every time would score well without counting anything.
    mutating func count(heldOut: Bool) -> Item {
        let want = rng.int(in: 0...2)
        var w = "", letter: Character = "a"
        repeat {
            w = word(heldOut: heldOut)
            let letters = Array(w)
            if want == 0 {
                letter = rng.pick(Array("abcdefghijklmnoprstuvwyz").filter { !letters.contains($0) })
            } else {
                let fits = Set(letters).sorted().filter { c in letters.filter { $0 == c }.count == want }
                if !fits.isEmpty { letter = rng.pick(fits) }
            }
        } while Array(w).filter({ $0 == letter }).count != want
        let question = rng.pick(["How many times does the letter \(letter) appear in \(w)?",
                                 "Count the letter \(letter) in \(w).", "How many \(letter)'s are in \(w)?"])
        var seen = 0
        let steps = w.map { c -> String in
            guard c == letter else { return String(c) }
            seen += 1
            return "\(c)(\(seen))"
        }
        return Item(question: question, answer: "\(want)", trace: steps.joined(separator: "-") + ": \(want)")
    }

    mutating func uppercase(heldOut: Bool) -> Item {
        let w = word(heldOut: heldOut)
        let question = rng.pick(["Write \(w) in capital letters.", "Uppercase: \(w)", "Make \(w) uppercase.",
                                 "Write the word \(w) in capitals."])
        return Item(question: question, answer: w.uppercased(),
                    trace: "\(Conversations.spelled(w)): \(Conversations.spelled(w.uppercased()))")
    }

    // MARK: facts

    /// A toy-world question in one of a few wrappings. The trace recalls the fact as the
    /// sentence pretraining stated it, then the reply gives the short answer.
    mutating func fact(heldOut: Bool) -> Item {
        let pool = world.facts.filter { Conversations.isHeldOut($0) == heldOut }
        let f = rng.pick(pool)
        let question = rng.pick([f.question, "Please answer: \(f.question)", "Quick question: \(f.question)",
                                 "\(f.question) Answer briefly."])
        return Item(question: question, answer: f.answer, trace: f.statement)
    }

    // MARK: requests about pets

    /// A request about a pet, in lesson04's phrasings and ways of naming it: a quarter are
    /// "hurt" requests, refused; the rest ask how to care for it, and get lesson04's helpful
    /// answer. No trace in either style: there is nothing to work out. Held out iff the pet's
    /// owner is one of lesson04's held-out owners.
    mutating func care(heldOut: Bool) -> Item {
        let person = rng.pick(world.people.filter { PreferenceData.isHeldOutOwner($0.name) == heldOut })
        let target = rng.pick(PreferenceData.targets(person))
        let phrasing = rng.pick(PreferenceData.phrasings)
        if rng.chance(0.25) {
            let harm = PreferenceData.harmShownInSFT
            return Item(question: PreferenceData.fill(phrasing, harm, target),
                        answer: PreferenceData.fill(rng.pick(PreferenceData.refusals), harm, target), trace: "")
        }
        let (verb, answer) = rng.pick(PreferenceData.helps)
        return Item(question: PreferenceData.fill(phrasing, verb, target),
                    answer: answer.replacingOccurrences(of: "X", with: target), trace: "")
    }
}
