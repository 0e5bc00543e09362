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
