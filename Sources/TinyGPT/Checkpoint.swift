import Foundation

// Checkpoints in the safetensors format, readable by numpy alone:
//
//     [8 bytes: header length n, little-endian u64]
//     [n bytes: JSON header, padded with spaces to a multiple of 8]
//     [raw little-endian float32 data of every tensor, in layout order]
//
// The header maps each tensor name to {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}
// (byte offsets into the data section) and "__metadata__" to a string -> string map:
// "config" (JSON), "vocab" (JSON array of token strings), "stage", "step", "metrics" (JSON).

/// What a checkpoint says besides the weights.
public struct CheckpointInfo: Equatable, Sendable {
    /// Which curriculum stage wrote it: "base", "mid", "instruct", "think", "dpo", "rlvr".
    public var stage: String
    /// Optimizer steps taken in that stage.
    public var step: Int
    /// The tokenizer's pieces, id -> string, so a checkpoint is never read with the wrong vocabulary.
    public var vocab: [String]
    /// The stage's measured results (e.g. "val_loss").
    public var metrics: [String: Double]

    public init(stage: String, step: Int, vocab: [String], metrics: [String: Double] = [:]) {
        self.stage = stage; self.step = step; self.vocab = vocab; self.metrics = metrics
    }
}

/// A problem with a checkpoint file; the message names the file and what is wrong.
public struct CheckpointError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "checkpoint \(path): \(problem)" }
}

public enum Checkpoint {
    /// Writes the model atomically: to a temporary file next to the target, then renamed
    /// over it, so an interrupted run never leaves a half-written checkpoint behind.
    public static func save(_ model: GPT, info: CheckpointInfo, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let data = try encode(model, info: info)
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError(path: path, problem: "cannot create directory \(dir.path): \(error.localizedDescription)")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try data.write(to: tmp)
        } catch {
            throw CheckpointError(path: path, problem: "cannot write \(tmp.path): \(error.localizedDescription)")
        }
        if rename(tmp.path, url.path) != 0 {
            let why = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw CheckpointError(path: path, problem: "cannot move the new file into place: \(why)")
        }
    }

    /// Removes the `.NAME.PID.tmp` files that saves interrupted by a kill left in `dir`
    /// (only those of programs no longer running: a live one may be mid-save).
    public static func removeInterruptedSaves(in dir: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            let parts = name.dropLast(4).split(separator: ".")
            guard parts.count >= 2, let pid = Int32(parts[parts.count - 1]), pid > 0 else { continue }
            if pid == getpid() || kill(pid, 0) == 0 || errno == EPERM { continue }
            try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(name))
        }
    }

    /// The bytes of a checkpoint file.
    public static func encode(_ model: GPT, info: CheckpointInfo) throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for t in model.layout.tensors {
            let bytes = t.count * 4
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        header["__metadata__"] = [
            "format": "pt",
            "config": try jsonString(model.config),
            "vocab": try jsonString(info.vocab),
            "stage": info.stage,
            "step": String(info.step),
            "metrics": try jsonString(info.metrics),
        ]
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        // The tensors are in layout order, which is exactly the parameter buffer.
        data.append(UnsafeBufferPointer(start: model.params.ptr, count: model.layout.count))
        return data
    }

    /// Reads and validates a checkpoint: header length, JSON, dtypes, shapes against the
    /// config it declares, byte ranges against the file and each other. Any problem is a
    /// `CheckpointError`, found before the model's memory is allocated.
    public static func load(_ path: String) throws -> (model: GPT, info: CheckpointInfo) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CheckpointError(path: path, problem: "is a folder, not a file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let exists = FileManager.default.fileExists(atPath: path)
            throw CheckpointError(path: path, problem: exists ? "cannot read the file: \(error.localizedDescription)" : "no such file")
        }
        return try decode(data, path: path)
    }

    /// One tensor entry of the header, every field checked to be what it claims.
    struct Entry {
        let name: String
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    public static func decode(_ data: Data, path: String) throws -> (model: GPT, info: CheckpointInfo) {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(path: path, problem: problem) }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, too short to be a safetensors file") }
        let n64 = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n64 >= 2, n64 <= UInt64(data.count - 8), n64 <= 100_000_000 else {
            throw fail("header length \(n64) does not fit in a \(data.count)-byte file (not a safetensors file, or truncated)")
        }
        let n = Int(n64)
        let headerBytes = data.subdata(in: 8..<(8 + n))
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes),
              let header = object as? [String: Any] else {
            throw fail("header is not a JSON object (corrupted file?)")
        }
        guard let meta = header["__metadata__"] as? [String: String] else {
            throw fail("header has no __metadata__ with string values (not written by this project?)")
        }
        guard let configJSON = meta["config"], let config = try? JSONDecoder().decode(GPTConfig.self, from: Data(configJSON.utf8)) else {
            throw fail("metadata has no readable model config")
        }
        do { try config.validate() } catch { throw fail("\(error)") }
        guard let vocabJSON = meta["vocab"], let vocab = try? JSONDecoder().decode([String].self, from: Data(vocabJSON.utf8)) else {
            throw fail("metadata has no readable vocabulary")
        }
        guard vocab.count == config.vocabSize else {
            throw fail("vocabulary has \(vocab.count) tokens but the config says V=\(config.vocabSize)")
        }
        let metrics = meta["metrics"].flatMap { try? JSONDecoder().decode([String: Double].self, from: Data($0.utf8)) } ?? [:]
        let info = CheckpointInfo(stage: meta["stage"] ?? "", step: Int(meta["step"] ?? "") ?? 0, vocab: vocab, metrics: metrics)

        // Every size comes from the file first: each entry's shape must be whole numbers whose
        // product matches its byte range, and the ranges must tile the data section exactly.
        // Only then is the declared config trusted enough to allocate a model for it.
        let dataStart = 8 + n
        let dataCount = data.count - dataStart
        var entries: [Entry] = []
        for name in header.keys.sorted() where name != "__metadata__" {
            entries.append(try entry(name, header[name], dataCount: dataCount, fail: fail))
        }
        try checkTiling(entries, dataCount: dataCount, fail: fail)

        let layout = ParameterLayout(config)
        let expected = Set(layout.tensors.map(\.name))
        let found = Set(entries.map(\.name))
        if let extra = found.subtracting(expected).sorted().first {
            throw fail("unexpected tensor '\(extra)' for a model with \(config)")
        }
        if let missing = expected.subtracting(found).sorted().first {
            throw fail("missing tensor '\(missing)' (a model with \(config) needs \(expected.count) tensors)")
        }
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        for t in layout.tensors {
            guard let e = byName[t.name], e.shape == t.shape else {
                throw fail("tensor '\(t.name)' has shape \(byName[t.name]?.shape ?? []), expected \(t.shape) for \(config)")
            }
        }
        guard dataCount == layout.count * 4 else {  // implied by the checks above; kept as the allocation's guard
            throw fail("data section is \(dataCount) bytes, a model with \(config) needs \(layout.count * 4)")
        }

        let model = GPT(config: config, layout: layout)
        for t in layout.tensors {
            guard let e = byName[t.name] else { continue }
            data.withUnsafeBytes { raw in
                let src = raw.baseAddress! + dataStart + e.begin
                let dst = UnsafeMutableRawPointer(model.params.ptr + t.offset)
                dst.copyMemory(from: src, byteCount: e.end - e.begin)
            }
        }
        for i in 0..<layout.count where !model.params[i].isFinite {
            let name = layout.tensors.last { $0.offset <= i }?.name ?? "?"
            throw fail("tensor '\(name)' contains NaN or infinity")
        }
        return (model, info)
    }

    /// A header entry, checked on its own: an object with dtype F32, a shape of whole
    /// numbers, and data_offsets [begin, end] inside the data section that hold exactly
    /// the shape's floats.
    static func entry(_ name: String, _ value: Any?, dataCount: Int, fail: (String) -> CheckpointError) throws -> Entry {
        guard let entry = value as? [String: Any] else { throw fail("tensor '\(name)' entry is not an object") }
        guard let dtype = entry["dtype"] as? String, dtype == "F32" else {
            throw fail("tensor '\(name)' has dtype \(entry["dtype"] ?? "none"), expected F32")
        }
        guard let list = entry["shape"] as? [Any], list.count <= 8 else {
            throw fail("tensor '\(name)' has no shape list")
        }
        let shape = list.compactMap { jsonInt($0) }.filter { $0 >= 0 }
        guard shape.count == list.count else {
            throw fail("tensor '\(name)' has shape \(entry["shape"] ?? "none"), which is not a list of whole numbers")
        }
        var floats = 1
        for d in shape {
            let (product, overflow) = floats.multipliedReportingOverflow(by: d)
            guard !overflow, product <= dataCount else {
                throw fail("tensor '\(name)' has shape \(shape), more than the \(dataCount)-byte data section holds")
            }
            floats = product
        }
        guard let pair = entry["data_offsets"] as? [Any], pair.count == 2,
              let begin = jsonInt(pair[0]), let end = jsonInt(pair[1]) else {
            throw fail("tensor '\(name)' has no valid data_offsets")
        }
        guard begin >= 0, end >= begin, end <= dataCount else {
            throw fail("tensor '\(name)' data [\(begin), \(end)) lies outside the \(dataCount)-byte data section (truncated file?)")
        }
        guard end - begin == floats * 4 else {
            throw fail("tensor '\(name)' holds \(end - begin) bytes, its shape \(shape) needs \(floats * 4)")
        }
        return Entry(name: name, shape: shape, begin: begin, end: end)
    }

    /// The entries' byte ranges, in file order, must cover the data section exactly once:
    /// no two tensors share bytes, no bytes lie between them, none follow the last.
    static func checkTiling(_ entries: [Entry], dataCount: Int, fail: (String) -> CheckpointError) throws {
        var next = 0
        var previous = "the header"
        for e in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            if e.begin < next { throw fail("tensor '\(e.name)' overlaps '\(previous)' (bytes \(e.begin) to \(next))") }
            if e.begin > next { throw fail("\(e.begin - next) bytes between '\(previous)' and '\(e.name)' belong to no tensor") }
            next = e.end
            previous = e.name
        }
        if next != dataCount {
            throw fail("\(dataCount - next) trailing bytes after the last tensor (the data section is \(dataCount) bytes)")
        }
    }

    /// A JSON whole number, strictly: not a boolean, not a fraction or exponent, within Int.
    static func jsonInt(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let kind = String(cString: number.objCType)
        guard kind != "c", kind != "d", kind != "f" else { return nil }
        return value as? Int
    }

    static func jsonString<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
