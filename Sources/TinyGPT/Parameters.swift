import Kernels

/// A fixed-size block of floats we own: parameters, gradients, optimizer state, activations.
/// A class so that copies share storage (no hidden copy-on-write of 100 MB buffers).
public final class FloatBuffer {
    public let count: Int
    public let ptr: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        ptr = .allocate(capacity: max(count, 1))
        ptr.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { ptr.deallocate() }

    public func zero() { ptr.update(repeating: 0, count: count) }

    public func copy(from other: FloatBuffer) {
        precondition(other.count == count, "FloatBuffer.copy: sizes differ")
        ptr.update(from: other.ptr, count: count)
    }

    public subscript(i: Int) -> Float {
        get { ptr[i] }
        set { ptr[i] = newValue }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: ptr, count: count)) }
}

/// One named tensor inside the single parameter allocation.
public struct TensorInfo: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    /// Offset in floats from the start of the parameter buffer.
    public let offset: Int
    /// Whether AdamW applies weight decay (matrices yes; biases, norms, positions no).
    public let decays: Bool
    public var count: Int { shape.reduce(1, *) }
}

/// Offsets of one transformer block's tensors.
public struct BlockOffsets: Sendable {
    public var ln1w = 0, ln1b = 0, qkvw = 0, qkvb = 0, projw = 0, projb = 0
    public var ln2w = 0, ln2b = 0, fcw = 0, fcb = 0, fcprojw = 0, fcprojb = 0
}

/// Where every parameter lives in the one allocation, and its name for checkpoints.
///
/// Names and shapes (weights follow PyTorch's Linear convention, [out, in]):
///
///     wte                    [V, C]     token embedding (also the output layer: weight tying)
///     wpe                    [T, C]     position embedding, T = blockSize (learned positions only;
///                                       rotary positions have no parameters)
///     h.{l}.ln1.weight/bias  [C]
///     h.{l}.attn.qkv.weight  [3C, C]    rows: queries, then keys, then values
///     h.{l}.attn.qkv.bias    [3C]
///     h.{l}.attn.proj.weight [C, C]
///     h.{l}.attn.proj.bias   [C]
///     h.{l}.ln2.weight/bias  [C]
///     h.{l}.mlp.fc.weight    [4C, C]
///     h.{l}.mlp.fc.bias      [4C]
///     h.{l}.mlp.proj.weight  [C, 4C]
///     h.{l}.mlp.proj.bias    [C]
///     ln_f.weight/bias       [C]
public struct ParameterLayout: Sendable {
    public let tensors: [TensorInfo]
    public let count: Int
    public let wte: Int, lnfw: Int, lnfb: Int
    /// Offset of the position table; nil for rotary positions, which have none.
    public let wpe: Int?
    public let blocks: [BlockOffsets]

    public init(_ cfg: GPTConfig) {
        let V = cfg.vocabSize, T = cfg.blockSize, C = cfg.channels
        var tensors: [TensorInfo] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int], decays: Bool = false) -> Int {
            let t = TensorInfo(name: name, shape: shape, offset: offset, decays: decays)
            tensors.append(t)
            offset += t.count
            return t.offset
        }
        wte = add("wte", [V, C], decays: true)
        wpe = cfg.positions == .learned ? add("wpe", [T, C]) : nil
        var blocks: [BlockOffsets] = []
        for l in 0..<cfg.layers {
            var b = BlockOffsets()
            let p = "h.\(l)."
            b.ln1w = add(p + "ln1.weight", [C]); b.ln1b = add(p + "ln1.bias", [C])
            b.qkvw = add(p + "attn.qkv.weight", [3 * C, C], decays: true); b.qkvb = add(p + "attn.qkv.bias", [3 * C])
            b.projw = add(p + "attn.proj.weight", [C, C], decays: true); b.projb = add(p + "attn.proj.bias", [C])
            b.ln2w = add(p + "ln2.weight", [C]); b.ln2b = add(p + "ln2.bias", [C])
            b.fcw = add(p + "mlp.fc.weight", [4 * C, C], decays: true); b.fcb = add(p + "mlp.fc.bias", [4 * C])
            b.fcprojw = add(p + "mlp.proj.weight", [C, 4 * C], decays: true); b.fcprojb = add(p + "mlp.proj.bias", [C])
            blocks.append(b)
        }
        lnfw = add("ln_f.weight", [C]); lnfb = add("ln_f.bias", [C])
        self.blocks = blocks
        self.tensors = tensors
        self.count = offset
    }

    public func tensor(named name: String) -> TensorInfo? { tensors.first { $0.name == name } }
}
