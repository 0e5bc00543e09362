import Foundation
import Testing
import TestSupport
import TinyGPT

/// A path in a folder of its own (tests run in parallel and must not see each other's files).
func tempPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinygpt-tests-\(getpid())/\(name).d")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

let vocab11 = (0..<11).map { "t\($0)" }

/// Loading must fail with a CheckpointError whose message contains `fragment`.
func expectLoadFails(_ path: String, mentioning fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try Checkpoint.load(path)
        Issue.record("loading \(path) should have failed (\(fragment))", sourceLocation: sourceLocation)
    } catch let error as CheckpointError {
        #expect(error.description.contains(path), "the message names the file", sourceLocation: sourceLocation)
        #expect(error.description.contains(fragment), "message was: \(error.description)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a CheckpointError, got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Checkpoints (safetensors)")
struct CheckpointTests {
    @Test("round trip is bit-exact, with config, vocabulary, stage, step and metrics",
          arguments: GPTConfig.Positions.allCases)
    func roundTrip(positions: GPTConfig.Positions) throws {
        let model = try smallModel(seed: 3, positions: positions)
        let info = CheckpointInfo(stage: "base", step: 1234, vocab: vocab11, metrics: ["val_loss": 1.25, "val_loss_init": 2.4])
        let path = tempPath("roundtrip-\(positions).safetensors")
        try Checkpoint.save(model, info: info, to: path)
        let (loaded, loadedInfo) = try Checkpoint.load(path)
        #expect(loaded.config == model.config)
        #expect(loaded.params.array == model.params.array)
        #expect(loadedInfo == info)
        // No temporary file is left behind by the atomic write.
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasSuffix(".tmp") })
    }

    @Test("the file is standard safetensors: u64 header length, JSON header, F32 data at the stated offsets")
    func format() throws {
        let model = try smallModel(seed: 4)
        let data = try Checkpoint.encode(model, info: CheckpointInfo(stage: "base", step: 1, vocab: vocab11))
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        #expect(n % 8 == 0)
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any]
        let wte = header?["wte"] as? [String: Any]
        #expect(wte?["dtype"] as? String == "F32")
        #expect(wte?["shape"] as? [Int] == [11, 16])
        let offsets = wte?["data_offsets"] as? [Int] ?? []
        let first = data.subdata(in: (8 + n + offsets[0])..<(8 + n + offsets[0] + 4)).withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
        #expect(first == model.params[model.layout.wte])
        #expect(data.count == 8 + n + model.parameterCount * 4)
    }

    @Test("truncated, corrupted, wrong-shape, wrong-magic and missing files each fail with a clear error")
    func badFiles() throws {
        let model = try smallModel(seed: 5)
        let good = try Checkpoint.encode(model, info: CheckpointInfo(stage: "base", step: 1, vocab: vocab11))
        let n = Int(good.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })

        let truncated = tempPath("truncated.safetensors")
        try good.prefix(good.count - 100).write(to: URL(fileURLWithPath: truncated))
        expectLoadFails(truncated, mentioning: "outside")

        let tiny = tempPath("tiny.safetensors")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: tiny))
        expectLoadFails(tiny, mentioning: "too short")

        let magic = tempPath("magic.safetensors")
        try Data("this is not a checkpoint, just some text that is long enough".utf8).write(to: URL(fileURLWithPath: magic))
        expectLoadFails(magic, mentioning: "header length")

        var corrupt = good
        corrupt[8] = UInt8(ascii: "#")  // the JSON's opening brace
        let corrupted = tempPath("corrupted.safetensors")
        try corrupt.write(to: URL(fileURLWithPath: corrupted))
        expectLoadFails(corrupted, mentioning: "JSON")

        // A header that claims a different shape for one tensor.
        var text = String(decoding: good.subdata(in: 8..<(8 + n)), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"shape\":[11,16]", with: "\"shape\":[16,11]")
        var reshaped = good
        reshaped.replaceSubrange(8..<(8 + n), with: Data(text.utf8))
        let wrongShape = tempPath("shape.safetensors")
        try reshaped.write(to: URL(fileURLWithPath: wrongShape))
        expectLoadFails(wrongShape, mentioning: "shape")

        // A config that disagrees with the tensors (another model size).
        let other = try GPT(config: GPTConfig(vocabSize: 11, blockSize: 8, layers: 1, heads: 2, channels: 16), seed: 1)
        let otherData = try Checkpoint.encode(other, info: CheckpointInfo(stage: "base", step: 1, vocab: vocab11))
        let on = Int(otherData.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var mixed = Data()
        mixed.append(otherData.prefix(8 + on))
        mixed.append(good.suffix(from: 8 + n))
        let mismatched = tempPath("mismatched.safetensors")
        try mixed.write(to: URL(fileURLWithPath: mismatched))
        do {
            let (m, _) = try Checkpoint.load(mismatched)
            #expect(m.config.layers == 1, "the header is self-consistent, so it loads as the 1-layer model it declares")
        } catch {
            #expect(error is CheckpointError)
        }

        expectLoadFails(tempPath("does-not-exist.safetensors"), mentioning: "no such file")
    }

    /// A file from a header object and `dataBytes` bytes of zeros after it.
    func safetensors(_ header: [String: Any], dataBytes: Int) throws -> Data {
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(Data(count: dataBytes))
        return data
    }

    /// A good file's header, edited, with its data section unchanged (plus `extraBytes` zeros).
    func edited(_ edit: (inout [String: Any]) -> Void, extraBytes: Int = 0) throws -> Data {
        let good = try Checkpoint.encode(try smallModel(seed: 7), info: CheckpointInfo(stage: "base", step: 1, vocab: vocab11))
        let n = Int(good.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var header = try #require(try JSONSerialization.jsonObject(with: good.subdata(in: 8..<(8 + n))) as? [String: Any])
        edit(&header)
        var data = try safetensors(header, dataBytes: 0)
        data.append(good.suffix(from: 8 + n))
        data.append(Data(count: extraBytes))
        return data
    }

    @Test("a small file whose config asks for a huge model is refused before anything is allocated")
    func hugeConfig() throws {
        let config = GPTConfig(vocabSize: 11, blockSize: 8, layers: 64, heads: 16, channels: 16_384)
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try JSONEncoder().encode(value), as: UTF8.self) }
        var header: [String: Any] = ["__metadata__": ["config": try json(config), "vocab": try json(vocab11), "stage": "base", "step": "1"]]
        let names = ParameterLayout(config).tensors.map(\.name)
        for (i, name) in names.enumerated() {
            header[name] = ["dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]] as [String: Any]
        }
        let path = tempPath("huge.safetensors")
        try safetensors(header, dataBytes: 4 * names.count).write(to: URL(fileURLWithPath: path))
        expectLoadFails(path, mentioning: "shape [1], expected")

        // The same names with their true shapes but 4-byte ranges: the shapes are checked against the file.
        for (i, t) in ParameterLayout(config).tensors.enumerated() {
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [4 * i, 4 * i + 4]] as [String: Any]
        }
        try safetensors(header, dataBytes: 4 * names.count).write(to: URL(fileURLWithPath: path))
        expectLoadFails(path, mentioning: "more than the \(4 * names.count)-byte data section holds")
    }

    @Test("overlapping or gapped byte ranges, junk in a shape and trailing bytes are each refused")
    func byteRanges() throws {
        func set(_ name: String, _ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
            { header in
                var entry = header[name] as? [String: Any] ?? [:]
                entry[key] = value
                header[name] = entry
            }
        }
        let wteBytes = 11 * 16 * 4
        let total = try smallModel().parameterCount * 4
        let cases: [(String, Data, String)] = [
            ("overlap", try edited { h in
                // ln_f.bias claims wte's first bytes; every tensor keeps its size.
                var e = h["ln_f.bias"] as? [String: Any] ?? [:]
                e["data_offsets"] = [0, 16 * 4]
                h["ln_f.bias"] = e
            }, "overlaps"),
            // The last tensor moved 4 bytes on: 4 bytes between it and the one before, none after.
            ("gap", try edited(set("ln_f.bias", "data_offsets", [total - 16 * 4 + 4, total + 4]), extraBytes: 4), "belong to no tensor"),
            ("junk-shape", try edited(set("wte", "shape", [11, 16, "x"])), "whole numbers"),
            ("bool-shape", try edited(set("wte", "shape", [11, 16, true])), "whole numbers"),
            ("fraction-offsets", try edited(set("wte", "data_offsets", [0, Double(wteBytes) + 0.5])), "data_offsets"),
            ("trailing", try edited({ _ in }, extraBytes: 8), "trailing bytes"),
        ]
        for (name, data, fragment) in cases {
            let path = tempPath("ranges-\(name).safetensors")
            try data.write(to: URL(fileURLWithPath: path))
            expectLoadFails(path, mentioning: fragment)
        }
    }

    @Test("a failed save leaves the previous checkpoint untouched")
    func atomicReplace() throws {
        let model = try smallModel(seed: 6)
        let path = tempPath("keep.safetensors")
        try Checkpoint.save(model, info: CheckpointInfo(stage: "base", step: 1, vocab: vocab11), to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        // Saving into a path whose directory is a file fails before touching the target.
        let blocker = tempPath("blocker")
        try Data([0]).write(to: URL(fileURLWithPath: blocker))
        #expect(throws: CheckpointError.self) {
            try Checkpoint.save(model, info: CheckpointInfo(stage: "base", step: 2, vocab: vocab11), to: blocker + "/x.safetensors")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }
}
