import Foundation

/// Where the generated datasets live and how to write and read them.
///
/// The files under data/ are committed so a student can open them, but they
/// are always reproducible: `swift run make-data` regenerates them from
/// `defaultSeed`, and `swift run make-data --check` (and a test) verify that
/// the committed files equal a fresh generation.
public enum DataFiles {
    /// The seed the committed data files are generated with.
    public static let defaultSeed: UInt64 = 20_240_601

    /// The data directory, relative to the package root.
    public static let dataDirectory = "data"
    /// Pretraining splits, relative to the data directory
    /// (so data/pretrain/train.txt in the package).
    public static let pretrainTrain = "pretrain/train.txt"
    public static let pretrainValid = "pretrain/valid.txt"
    /// Mid-training splits (arithmetic, Q/A facts, long documents; see `MidtrainCorpus`).
    public static let midtrainTrain = "midtrain/train.txt"
    public static let midtrainValid = "midtrain/valid.txt"
    /// SFT conversations, JSON lines (see `Conversations`): instruct and think, train and held-out.
    public static let sftInstructTrain = "sft/instruct_train.jsonl"
    public static let sftInstructValid = "sft/instruct_valid.jsonl"
    public static let sftThinkTrain = "sft/think_train.jsonl"
    public static let sftThinkValid = "sft/think_valid.jsonl"
    /// Preference pairs for DPO, JSON lines (see `PreferenceData`): train and held-out.
    public static let dpoTrain = "dpo/train.jsonl"
    public static let dpoValid = "dpo/valid.jsonl"
    /// RL prompts with verifiable answers, JSON lines (see `RLData`): train and held-out.
    public static let rlTrain = "rl/train.jsonl"
    public static let rlValid = "rl/valid.jsonl"

    public static let toolsTrain = "tools/train.jsonl"
    public static let toolsValid = "tools/valid.jsonl"

    /// Why a data file could not be read or written.
    public struct DataError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// One file `writePretrain` wrote.
    public struct WrittenFile: Sendable {
        public let relativePath: String  // relative to the data directory
        public let url: URL
        public let bytes: Int
        public let documents: Int
    }

    /// The package root: the nearest directory holding Package.swift and
    /// Sources/Curriculum, searched upwards from the current directory first
    /// (a clone run from its root) and then from the calling source file's
    /// compile-time location (`#filePath`, so it also works when run from
    /// anywhere else on the machine that built it).
    public static func packageRoot(filePath: String = #filePath) -> URL? {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        return packageRoot(from: cwd) ?? packageRoot(from: URL(fileURLWithPath: filePath))
    }

    /// The nearest ancestor of `start` (or `start` itself) that is this
    /// package's root.
    public static func packageRoot(from start: URL) -> URL? {
        let fm = FileManager.default
        var dir = start.standardizedFileURL
        while true {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
               fm.fileExists(atPath: dir.appendingPathComponent("Sources/Curriculum").path, isDirectory: &isDir),
               isDir.boolValue {
                return dir
            }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return nil }
            dir = parent
        }
    }

    /// The package's data/ directory, if the package root can be found.
    public static func defaultDataDirectory() -> URL? {
        packageRoot()?.appendingPathComponent(dataDirectory, isDirectory: true)
    }

    /// Generates the pretraining corpus and writes data/pretrain/train.txt
    /// and valid.txt under `dataDir` (creating folders as needed).
    @discardableResult
    public static func writePretrain(to dataDir: URL, seed: UInt64 = defaultSeed) throws -> [WrittenFile] {
        let docs = PretrainCorpus.generateDocuments(seed: seed)
        return try write([(pretrainTrain, docs.train), (pretrainValid, docs.valid)], to: dataDir)
    }

    /// Generates the mid-training mix and writes data/midtrain/train.txt and valid.txt.
    @discardableResult
    public static func writeMidtrain(to dataDir: URL, seed: UInt64 = defaultSeed) throws -> [WrittenFile] {
        let docs = MidtrainCorpus.generateDocuments(seed: seed)
        return try write([(midtrainTrain, docs.train), (midtrainValid, docs.valid)], to: dataDir)
    }

    /// Writes lists of documents as text files under `dataDir`.
    static func write(_ files: [(String, [String])], to dataDir: URL) throws -> [WrittenFile] {
        try writeText(files.map { ($0.0, PretrainCorpus.join($0.1), $0.1.count) }, to: dataDir)
    }

    /// Writes finished texts (path relative to `dataDir`, text, how many documents it holds),
    /// creating folders as needed; each file is replaced atomically.
    static func writeText(_ files: [(path: String, text: String, count: Int)], to dataDir: URL) throws -> [WrittenFile] {
        try files.map { file in
            let url = dataDir.appendingPathComponent(file.path)
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.text.utf8).write(to: url, options: .atomic)
            } catch {
                throw DataError("could not write \(url.path): \(error.localizedDescription)")
            }
            return WrittenFile(relativePath: file.path, url: url, bytes: file.text.utf8.count, documents: file.count)
        }
    }

    /// One line of a JSONL file, parsed to an object, with what a parser needs to complain.
    public struct JSONLine {
        public let object: [String: Any]
        let file: String
        let number: Int
        /// An error naming the file and the line.
        public func error(_ why: String) -> DataError { DataError("\(file) line \(number): \(why)") }
    }

    /// The non-empty lines of a JSONL file's text, each parsed as a JSON object;
    /// a line that is not one is an error naming the file and the line.
    public static func jsonLines(_ text: String, file: String) throws -> [JSONLine] {
        var out: [JSONLine] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw DataError("\(file) line \(i + 1): not a JSON object")
            }
            for text in strings(in: object) {
                if let error = vocabularyError(text) { throw DataError("\(file) line \(i + 1): \(error.description)") }
            }
            out.append(JSONLine(object: object, file: file, number: i + 1))
        }
        return out
    }

    /// Every string inside a parsed JSON value, at any depth: the text a lesson will tokenize.
    static func strings(in value: Any) -> [String] {
        if let text = value as? String { return [text] }
        if let list = value as? [Any] { return list.flatMap(strings(in:)) }
        if let object = value as? [String: Any] { return object.keys.sorted().flatMap { strings(in: object[$0] as Any) } }
        return []
    }

    /// Why `text` cannot be tokenized (a character outside the vocabulary), or nil if it can.
    static func vocabularyError(_ text: String, tokenizer: Tokenizer = .standard) -> TokenizerError? {
        do {
            _ = try tokenizer.encode(text)
            return nil
        } catch {
            return error as? TokenizerError ?? TokenizerError("\(error)")
        }
    }

    /// Reads a text corpus (pretraining or mid-training documents) and checks what every
    /// lesson assumes of it: it holds some text, and every character is in the vocabulary.
    /// A bad character is reported with its file and line here, when loaded, not mid-lesson.
    public static func loadCorpus(_ url: URL) throws -> String {
        let text = try loadText(url)
        guard text.contains(where: { !$0.isWhitespace }) else {
            throw DataError("\(url.path) is empty: it holds no documents. Regenerate it with `swift run make-data`.")
        }
        if let error = vocabularyError(text) {
            let line = 1 + text.unicodeScalars.prefix(error.offset ?? 0).lazy.filter { $0 == "\n" }.count
            throw DataError("\(url.path) line \(line): \(error.description)")
        }
        return text
    }

    /// Throws, naming the file, unless a token stream read from it holds at least `minimum`
    /// tokens; `purpose` says what needs them ("one training window of 65 tokens").
    public static func requireTokens(_ stream: TokenStream, _ minimum: Int, in url: URL, for purpose: String) throws {
        guard stream.tokens.count >= minimum else {
            throw DataError("\(url.path) holds \(stream.tokens.count) tokens, too few for \(purpose) (\(minimum) tokens). Regenerate it with `swift run make-data`.")
        }
    }

    /// Reads a generated text file. Windows line endings (a checkout with
    /// autocrlf) are turned back into "\n", so the text is the same on every
    /// machine. Errors say what to do: a missing file means the data has not
    /// been generated yet.
    public static func loadText(_ url: URL) throws -> String {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DataError("\(url.path) does not exist. Generate the datasets with `swift run make-data` (from the package root).")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DataError("could not read \(url.path): \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError("\(url.path) is not UTF-8 text. Regenerate it with `swift run make-data`.")
        }
        return text.contains("\r\n") ? text.replacingOccurrences(of: "\r\n", with: "\n") : text
    }

    /// Loads both pretraining splits from a data directory (see `loadCorpus` for the checks).
    public static func loadPretrain(from dataDir: URL) throws -> (train: String, valid: String) {
        (try loadCorpus(dataDir.appendingPathComponent(pretrainTrain)),
         try loadCorpus(dataDir.appendingPathComponent(pretrainValid)))
    }

    /// Loads both mid-training splits from a data directory (see `loadCorpus` for the checks).
    public static func loadMidtrain(from dataDir: URL) throws -> (train: String, valid: String) {
        (try loadCorpus(dataDir.appendingPathComponent(midtrainTrain)),
         try loadCorpus(dataDir.appendingPathComponent(midtrainValid)))
    }

    /// A JSONL file's records, refusing an empty file: a lesson measured on an empty
    /// held-out set would report nan, or a rate out of zero, as if it were a result.
    static func loadRecords<T>(_ url: URL, _ what: String, _ parse: (String, String) throws -> [T]) throws -> [T] {
        let records = try parse(try loadText(url), url.path)
        guard !records.isEmpty else {
            throw DataError("\(url.path) holds no \(what) (an empty file). Regenerate it with `swift run make-data`.")
        }
        return records
    }

    /// The four SFT files' paths and contents, as `swift run make-data` writes them.
    public static func sftFiles(seed: UInt64 = defaultSeed) -> [(path: String, text: String, count: Int)] {
        let s = Conversations.generate(seed: seed)
        return [(sftInstructTrain, s.instructTrain), (sftInstructValid, s.instructValid),
                (sftThinkTrain, s.thinkTrain), (sftThinkValid, s.thinkValid)].map { ($0.0, Conversations.jsonl($0.1), $0.1.count) }
    }

    /// Generates the SFT conversations and writes data/sft/*.jsonl.
    @discardableResult
    public static func writeSFT(to dataDir: URL, seed: UInt64 = defaultSeed) throws -> [WrittenFile] {
        try writeText(sftFiles(seed: seed), to: dataDir)
    }

    /// Loads the four SFT files; a malformed line is an error naming the file and the line.
    public static func loadSFT(from dataDir: URL) throws -> Conversations.Splits {
        func load(_ path: String) throws -> [Conversations.Conversation] {
            try loadRecords(dataDir.appendingPathComponent(path), "conversations", Conversations.parse)
        }
        return Conversations.Splits(instructTrain: try load(sftInstructTrain), instructValid: try load(sftInstructValid),
                                    thinkTrain: try load(sftThinkTrain), thinkValid: try load(sftThinkValid))
    }

    /// The two preference files' paths and contents, as `swift run make-data` writes them.
    public static func dpoFiles(seed: UInt64 = defaultSeed) -> [(path: String, text: String, count: Int)] {
        let s = PreferenceData.generate(seed: seed)
        return [(dpoTrain, s.train), (dpoValid, s.valid)].map { ($0.0, PreferenceData.jsonl($0.1), $0.1.count) }
    }

    /// Generates the preference pairs and writes data/dpo/*.jsonl.
    @discardableResult
    public static func writeDPO(to dataDir: URL, seed: UInt64 = defaultSeed) throws -> [WrittenFile] {
        try writeText(dpoFiles(seed: seed), to: dataDir)
    }

    /// Loads both preference files; a malformed line is an error naming the file and the line.
    public static func loadDPO(from dataDir: URL) throws -> PreferenceData.Splits {
        func load(_ path: String) throws -> [PreferenceData.Pair] {
            try loadRecords(dataDir.appendingPathComponent(path), "preference pairs", PreferenceData.parse)
        }
        return PreferenceData.Splits(train: try load(dpoTrain), valid: try load(dpoValid))
    }

    /// The two RL prompt files' paths and contents, as `swift run make-data` writes them.
    public static func rlFiles(seed: UInt64 = defaultSeed) -> [(path: String, text: String, count: Int)] {
        let s = RLData.generate(seed: seed)
        return [(rlTrain, s.train), (rlValid, s.valid)].map { ($0.0, RLData.jsonl($0.1), $0.1.count) }
    }

    /// Generates the RL prompts and writes data/rl/*.jsonl.
    @discardableResult
    public static func writeRL(to dataDir: URL, seed: UInt64 = defaultSeed) throws -> [WrittenFile] {
        try writeText(rlFiles(seed: seed), to: dataDir)
    }

    /// Loads both RL prompt files; a malformed line is an error naming the file and the line.
    public static func loadRL(from dataDir: URL) throws -> RLData.Splits {
        func load(_ path: String) throws -> [RLData.Problem] {
            try loadRecords(dataDir.appendingPathComponent(path), "prompts", RLData.parse)
        }
        return RLData.Splits(train: try load(rlTrain), valid: try load(rlValid))
    }

    /// The two tool-use files' paths and contents, as `swift run make-data` writes them.
    public static func toolFiles(seed: UInt64 = defaultSeed) -> [(path: String, text: String, count: Int)] {
        let s = ToolData.generate(seed: seed)
        return [(toolsTrain, s.train), (toolsValid, s.valid)].map { ($0.0, ToolData.jsonl($0.1), $0.1.count) }
    }

    /// Generates the tool-use conversations and writes data/tools/*.jsonl.
    @discardableResult
    public static func writeTools(to dataDir: URL, seed: UInt64 = defaultSeed) throws -> [WrittenFile] {
        try writeText(toolFiles(seed: seed), to: dataDir)
    }

    /// Loads both tool-use files; a malformed line is an error naming the file and the line.
    public static func loadTools(from dataDir: URL) throws -> ToolData.Splits {
        func load(_ path: String) throws -> [ToolData.Example] {
            try loadRecords(dataDir.appendingPathComponent(path), "conversations", ToolData.parse)
        }
        return ToolData.Splits(train: try load(toolsTrain), valid: try load(toolsValid))
    }
}
