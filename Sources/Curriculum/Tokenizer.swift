import Foundation

/// A character-level tokenizer with a fixed vocabulary of 96 ids.
///
/// Why characters and not BPE: the toy world's text uses fewer than 90
/// distinct characters, so every id the model sees is a letter, digit or
/// punctuation mark a student can read, and arithmetic is spelled digit by
/// digit (which is what the think traces in later lessons rely on).
///
/// Layout of the vocabulary:
///
///     0-6    special tokens: <|pad|> <|bos|> <|user|> <|assistant|> <|end|> <think> </think>
///     7      newline
///     8      space
///     9-34   a-z
///     35-60  A-Z
///     61-70  0-9
///     71-95  25 punctuation marks: . , ! ? ' " : ; - + * / = ( ) < > | _ % # [ ] { }
///
/// Special tokens are single ids. Plain `encode` never produces them, so text
/// that merely *contains* "<|user|>" cannot forge a turn of a conversation;
/// only `encodeWithSpecials` (used by the chat template) recognises them.
///
/// Lesson08 adds two more specials after the 96, the way real fine-tuning adds
/// tokens to a trained model: `withTools` is the standard vocabulary plus
/// <|call|> (id 96) and <|result|> (id 97).
public struct Tokenizer: Sendable {
    /// The special tokens; `rawValue` is the id.
    public enum Special: Int, CaseIterable, Sendable {
        case pad, bos, user, assistant, end, thinkStart, thinkEnd
        /// Tool use (only in `withTools`): the assistant opens a tool call, and ends it to hand over to the runner.
        case call = 96, result

        /// The seven specials every vocabulary has, at ids 0-6.
        public static let core: [Special] = [.pad, .bos, .user, .assistant, .end, .thinkStart, .thinkEnd]
        /// The two tool-use specials `withTools` adds after the standard pieces.
        public static let tools: [Special] = [.call, .result]

        /// How the token is written in text and in `decode`'s output.
        public var text: String {
            switch self {
            case .pad: return "<|pad|>"
            case .bos: return "<|bos|>"
            case .user: return "<|user|>"
            case .assistant: return "<|assistant|>"
            case .end: return "<|end|>"
            case .thinkStart: return "<think>"
            case .thinkEnd: return "</think>"
            case .call: return "<|call|>"
            case .result: return "<|result|>"
            }
        }
    }

    /// The 25 punctuation characters, in id order (ids 71-95).
    public static let punctuation: [Character] = Array(".,!?'\":;-+*/=()<>|_%#[]{}")

    /// The standard 96-piece vocabulary every model config in the project uses.
    public static let standard = Tokenizer(checked: standardPieces)

    /// The standard vocabulary plus the tool-use specials <|call|> and <|result|> (ids 96, 97).
    public static let withTools = Tokenizer(checked: standardPieces + Special.tools.map(\.text))

    static let standardPieces: [String] = {
        var p = Special.core.map(\.text)
        p.append("\n")
        p.append(" ")
        for c in UnicodeScalar("a").value...UnicodeScalar("z").value { p.append(String(UnicodeScalar(c)!)) }
        for c in UnicodeScalar("A").value...UnicodeScalar("Z").value { p.append(String(UnicodeScalar(c)!)) }
        for c in UnicodeScalar("0").value...UnicodeScalar("9").value { p.append(String(UnicodeScalar(c)!)) }
        p += punctuation.map { String($0) }
        return p
    }()

    /// id -> piece. Specials are their multi-character strings, every other
    /// piece is exactly one Unicode scalar.
    public let pieces: [String]

    /// Number of ids (96 for `standard`); the model's embedding table size.
    public var vocabSize: Int { pieces.count }

    /// ASCII scalar value -> id, or -1. The fast path for encoding.
    private let asciiIDs: [Int32]
    /// Non-ASCII scalars -> id (empty for the standard vocabulary).
    private let otherIDs: [UInt32: Int]

    /// The id of a special token.
    public func id(_ s: Special) -> Int { s.rawValue }

    /// True for the ids of special tokens: 0-6, and the tool specials where the vocabulary has them.
    /// Every other id is one character of text.
    @inline(__always)
    public func isSpecial(_ id: Int) -> Bool {
        id < Special.core.count || (id >= Tokenizer.standardPieces.count && id < pieces.count)
    }

    /// The specials this vocabulary has (the tool ones only in `withTools`).
    public var specials: [Special] { Special.allCases.filter { $0.rawValue < pieces.count } }

    /// Builds a tokenizer from a list of pieces, e.g. read from a checkpoint's
    /// metadata, so a checkpoint always decodes with the vocabulary it was
    /// trained with. Throws if the list is not a valid vocabulary: empty,
    /// duplicated pieces, a special token missing from its id, or a
    /// non-special piece that is not exactly one character. Pieces past the
    /// standard 96 are the tool specials, in order.
    public init(pieces: [String]) throws {
        guard !pieces.isEmpty else { throw TokenizerError("the vocabulary is empty") }
        guard pieces.count <= Tokenizer.withTools.pieces.count else {
            throw TokenizerError("the vocabulary has \(pieces.count) pieces; at most \(Tokenizer.withTools.pieces.count) are known (the standard 96 and the tool specials)")
        }
        for s in Special.core + Special.tools.filter({ $0.rawValue < pieces.count }) {
            guard s.rawValue < pieces.count, pieces[s.rawValue] == s.text else {
                let found = s.rawValue < pieces.count ? "\(pieces[s.rawValue].debugDescription)" : "nothing (only \(pieces.count) pieces)"
                throw TokenizerError("special token \(s.text) must be at id \(s.rawValue), found \(found)")
            }
        }
        var seen = Set<String>()
        for (i, p) in pieces.enumerated() {
            guard seen.insert(p).inserted else {
                throw TokenizerError("piece \(p.debugDescription) appears twice (again at id \(i))")
            }
            if i >= Special.core.count && i < Tokenizer.standardPieces.count && p.unicodeScalars.count != 1 {
                throw TokenizerError("piece \(p.debugDescription) at id \(i) is not a single character")
            }
        }
        self.init(checked: pieces)
    }

    /// Builds the lookup tables; `pieces` is already known to be valid.
    private init(checked pieces: [String]) {
        self.pieces = pieces
        var ascii = [Int32](repeating: -1, count: 128)
        var other: [UInt32: Int] = [:]
        for (i, p) in pieces.enumerated() where i >= Special.core.count && i < Tokenizer.standardPieces.count {
            guard let scalar = p.unicodeScalars.first else { continue }
            if scalar.value < 128 { ascii[Int(scalar.value)] = Int32(i) } else { other[scalar.value] = i }
        }
        asciiIDs = ascii
        otherIDs = other
    }

    /// Encodes plain text, one id per Unicode scalar. Special-token strings
    /// are *not* recognised: "<|user|>" is eight ordinary characters.
    public func encode(_ text: String) throws -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count)
        var offset = 0
        for scalar in text.unicodeScalars {
            ids.append(try id(of: scalar, offset: offset, in: text))
            offset += 1
        }
        return ids
    }

    /// Encodes text in which the special-token strings this vocabulary has (e.g.
    /// "<|user|>", "<think>") stand for their single ids; used for chat
    /// transcripts. Where two specials could match, the longest wins.
    public func encodeWithSpecials(_ text: String) throws -> [Int] {
        let scalars = Array(text.unicodeScalars)
        let specials = self.specials
            .map { (id: $0.rawValue, scalars: Array($0.text.unicodeScalars)) }
            .sorted { $0.scalars.count > $1.scalars.count }
        var ids: [Int] = []
        ids.reserveCapacity(scalars.count)
        var i = 0
        outer: while i < scalars.count {
            if scalars[i] == "<" {
                for s in specials where i + s.scalars.count <= scalars.count {
                    if scalars[i..<(i + s.scalars.count)].elementsEqual(s.scalars) {
                        ids.append(s.id)
                        i += s.scalars.count
                        continue outer
                    }
                }
            }
            ids.append(try id(of: scalars[i], offset: i, in: text))
            i += 1
        }
        return ids
    }

    /// Turns ids back into text. Specials render as their strings; an id
    /// outside the vocabulary renders as U+FFFD "�" instead of crashing, since
    /// a sampled or corrupted id is not the caller's fault.
    public func decode(_ ids: [Int]) -> String {
        var out = ""
        out.reserveCapacity(ids.count)
        for id in ids {
            if id >= 0 && id < pieces.count { out += pieces[id] } else { out += "\u{FFFD}" }
        }
        return out
    }

    @inline(__always)
    private func id(of scalar: Unicode.Scalar, offset: Int, in text: String) throws -> Int {
        let v = scalar.value
        if v < 128 {
            let id = asciiIDs[Int(v)]
            if id >= 0 { return Int(id) }
        } else if let id = otherIDs[v] {
            return id
        }
        throw TokenizerError.notInVocabulary(scalar, offset: offset, in: text)
    }
}

/// Why a text could not be encoded, or a vocabulary could not be built.
/// The message names the character, its code point, its offset (counted in
/// Unicode scalars, the tokenizer's unit) and the text around it.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// Offset of the offending scalar, when the error is about a character.
    public let offset: Int?

    init(_ message: String, offset: Int? = nil) {
        description = message
        self.offset = offset
    }

    static func notInVocabulary(_ scalar: Unicode.Scalar, offset: Int, in text: String) -> TokenizerError {
        let scalars = Array(text.unicodeScalars)
        let lo = max(0, offset - 10), hi = min(scalars.count, offset + 10)
        var near = String.UnicodeScalarView()
        near.append(contentsOf: scalars[lo..<hi])
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        let shown = scalar.properties.generalCategory == .control || scalar.value < 32
            ? scalar.escaped(asASCII: true) : String(scalar)
        return TokenizerError(
            "character '\(shown)' (\(code)) at offset \(offset) is not in the vocabulary (near \(String(near).debugDescription))",
            offset: offset)
    }
}
