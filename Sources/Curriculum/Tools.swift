import Kernels

/// The two toy tools lesson08's model may call, and the runner that executes its calls.
///
/// A call is text the model writes between <|call|> and <|result|>, in the form
/// `name(arguments)`:
///
///     calc(347*29)          exact integer arithmetic: + - * /, parentheses, unary minus
///     lookup(Mia, home)     a toy-world fact: a person's name and one of `Tools.lookupKeys`
///
/// The runner reads the call, executes it, and writes the result back as text the model
/// reads. Nothing the model writes can crash it: an unknown tool, arguments that do not
/// parse, a division by zero or a number too long all come back as a result that starts
/// with "error:", which the model can read like any other, and the lesson counts them.
public enum Tools {
    /// The tools, by the name a call uses.
    public enum Name: String, CaseIterable, Sendable {
        case calc, lookup
    }

    /// A call taken apart: which tool, and its argument text.
    public struct Call: Equatable, Sendable {
        public var tool: Name
        public var arguments: String

        public init(_ tool: Name, _ arguments: String) {
            self.tool = tool
            self.arguments = arguments
        }

        /// The call as the model writes it.
        public var text: String { "\(tool.rawValue)(\(arguments))" }
    }

    /// What a call gave back: the text the model reads, and whether it was an error.
    public struct Result: Equatable, Sendable {
        public var text: String
        public var isError: Bool

        static func error(_ message: String) -> Result { Result(text: "error: " + message, isError: true) }
    }

    /// The longest result handed back; a longer one is an error (the model's context is short).
    public static let maxResultLength = 24
    /// Numbers longer than this many digits are refused (exact 64-bit arithmetic, checked for overflow).
    public static let maxDigits = 18

    /// Parses `name(arguments)`; nil if the text is not a call to a known tool.
    public static func parse(_ text: String) -> Call? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let open = t.firstIndex(of: "("), t.hasSuffix(")"),
              let tool = Name(rawValue: String(t[..<open]).trimmingCharacters(in: .whitespaces)) else { return nil }
        return Call(tool, String(t[t.index(after: open)..<t.index(before: t.endIndex)]))
    }

    /// Runs one call written by the model: always a result, never a crash.
    public static func run(_ text: String, world: World = Tools.directory) -> Result {
        guard let call = parse(text) else {
            let name = String(text[..<(text.firstIndex(of: "(") ?? text.endIndex)]).trimmingCharacters(in: .whitespaces)
            if !text.contains("(") || !text.hasSuffix(")") {
                return .error("a call looks like calc(12*34) or lookup(Mia, home)")
            }
            return .error("unknown tool \(name.isEmpty ? "(no name)" : name); the tools are calc and lookup")
        }
        return run(call, world: world)
    }

    /// Runs a parsed call.
    public static func run(_ call: Call, world: World = Tools.directory) -> Result {
        let result: Result
        switch call.tool {
        case .calc: result = calc(call.arguments)
        case .lookup: result = lookup(call.arguments, world: world)
        }
        if !result.isError && result.text.count > maxResultLength { return .error("result too long") }
        return result
    }

    // MARK: calc

    /// Evaluates an integer expression exactly: + - * / (division rounds toward zero),
    /// parentheses, unary minus; spaces are ignored.
    public static func calc(_ expression: String) -> Result {
        var p = ExpressionReader(Array(expression.filter { $0 != " " }))
        do {
            guard !p.chars.isEmpty else { throw CalcError("calc needs an expression, like calc(12*34)") }
            let value = try p.sum()
            guard p.i == p.chars.count else { throw CalcError("unexpected \(String(p.chars[p.i])) in \(expression)") }
            return Result(text: String(value), isError: false)
        } catch let e as CalcError {
            return .error(e.message)
        } catch {
            return .error("\(error)")
        }
    }

    struct CalcError: Error { let message: String; init(_ m: String) { message = m } }

    /// A recursive-descent reader: sum := product (('+'|'-') product)*; product := unary (('*'|'/') unary)*;
    /// unary := '-' unary | number | '(' sum ')'.
    struct ExpressionReader {
        let chars: [Character]
        var i = 0
        var depth = 0

        init(_ chars: [Character]) { self.chars = chars }

        mutating func sum() throws -> Int64 {
            var v = try product()
            while i < chars.count, chars[i] == "+" || chars[i] == "-" {
                let op = chars[i]; i += 1
                let r = try product()
                let (x, overflow) = op == "+" ? v.addingReportingOverflow(r) : v.subtractingReportingOverflow(r)
                guard !overflow else { throw CalcError("result too long") }
                v = x
            }
            return v
        }

        mutating func product() throws -> Int64 {
            var v = try unary()
            while i < chars.count, chars[i] == "*" || chars[i] == "/" {
                let op = chars[i]; i += 1
                let r = try unary()
                if op == "/" && r == 0 { throw CalcError("division by zero") }
                let (x, overflow) = op == "*" ? v.multipliedReportingOverflow(by: r) : v.dividedReportingOverflow(by: r)
                guard !overflow else { throw CalcError("result too long") }
                v = x
            }
            return v
        }

        mutating func unary() throws -> Int64 {
            guard i < chars.count else { throw CalcError("the expression ends too soon") }
            if chars[i] == "-" {
                i += 1
                let (x, overflow) = Int64(0).subtractingReportingOverflow(try unary())
                guard !overflow else { throw CalcError("result too long") }
                return x
            }
            if chars[i] == "(" {
                depth += 1
                guard depth <= 16 else { throw CalcError("too many parentheses") }
                i += 1
                let v = try sum()
                guard i < chars.count, chars[i] == ")" else { throw CalcError("a ( is never closed") }
                i += 1
                depth -= 1
                return v
            }
            let start = i
            while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1 }
            guard i > start else { throw CalcError("expected a number, found \(String(chars[i]))") }
            guard i - start <= Tools.maxDigits else { throw CalcError("number too long") }
            guard let v = Int64(String(chars[start..<i])) else { throw CalcError("number too long") }
            return v
        }
    }

    // MARK: lookup

    /// What `lookup` reads: the toy world's twelve people, and as many again whom no story
    /// mentions. A lookup about someone the model has never read of can only be answered from
    /// the result, so training on them teaches the model to read the result, not to recall.
    public static let directory: World = {
        let w = World.standard
        let names = ["Kai", "Uma", "Rosa", "Finn", "Jade", "Theo", "Ella", "Owen", "Ruby", "Hugo", "Iris", "Noah",
                     "Luna", "Axel", "Cleo", "Dev", "Esme", "Gus", "Hana", "Joel", "Kira", "Milo", "Nell", "Pia"]
        let petNames = ["Biscuit", "Pepper", "Socks", "Ziggy", "Maple", "Bean", "Nutmeg", "Pickle", "Waffle", "Button",
                        "Clover", "Dot", "Fudge", "Gizmo", "Honey", "Jelly", "Kiwi", "Lulu", "Mocha", "Noodle",
                        "Olive", "Peanut", "Quill", "Rocket"]
        var rng = RNG(seed: 0xD1EC7)
        let extra = names.enumerated().map { i, name in
            Person(name: name, pronoun: i % 2 == 0 ? .he : .she,
                   pet: Pet(kind: rng.pick(w.animals), name: petNames[i]), favouriteColour: rng.pick(w.colours),
                   home: rng.pick(w.homes), toy: Toy(kind: rng.pick(w.toys), colour: rng.pick(w.colours)),
                   friend: i % 3 == 2 ? nil : names[(i + 5) % names.count])
        }
        return World(people: w.people + extra, animals: w.animals, colours: w.colours, toys: w.toys,
                     homes: w.homes, outings: w.outings)
    }()

    /// The directory's people that no story mentions.
    public static var strangers: [Person] { Array(directory.people.dropFirst(World.standard.people.count)) }

    /// The keys `lookup` knows, and the fact each one reads.
    public static let lookupKeys: [(key: String, relation: Fact.Relation)] = [
        ("pet", .pet), ("pet name", .petName), ("colour", .favouriteColour), ("home", .home),
        ("toy", .toy), ("toy colour", .toyColour), ("friend", .friend),
    ]

    /// The key a lookup uses for a fact's relation.
    public static func lookupKey(_ relation: Fact.Relation) -> String {
        lookupKeys.first { $0.relation == relation }?.key ?? relation.rawValue
    }

    /// The call that answers a fact's question, e.g. lookup(Mia, home).
    public static func lookupCall(_ fact: Fact, world: World = Tools.directory) -> Call? {
        guard let person = world.people.first(where: { fact.subject == $0.name || fact.subject.hasPrefix($0.name + "'s ") }) else { return nil }
        return Call(.lookup, "\(person.name), \(lookupKey(fact.relation))")
    }

    /// `lookup(name, key)`: the toy-world fact, as the fact's answer is written ("by the lake").
    public static func lookup(_ arguments: String, world: World = Tools.directory) -> Result {
        let parts = arguments.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let keys = lookupKeys.map(\.key).joined(separator: ", ")
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            return .error("lookup needs a name and a key, like lookup(Mia, home)")
        }
        guard let person = world.people.first(where: { $0.name.lowercased() == parts[0].lowercased() }) else {
            return .error("nobody called \(parts[0])")
        }
        guard let relation = lookupKeys.first(where: { $0.key == parts[1].lowercased() })?.relation else {
            return .error("unknown key \(parts[1]); keys: \(keys)")
        }
        guard let fact = world.facts(about: person).first(where: { $0.relation == relation }) else {
            return .error("\(person.name) has no \(parts[1])")
        }
        return Result(text: fact.answer, isError: false)
    }
}
