/// The shape of a TinyGPT model.
///
/// Letters used in comments throughout: B batch size, T sequence length (<= blockSize),
/// C channels (embedding width), H attention heads, hs = C/H head size, L layers, V vocabulary.
public struct GPTConfig: Codable, Equatable, Sendable, CustomStringConvertible {
    /// How the model knows where each token is.
    public enum Positions: String, Codable, Sendable, CaseIterable {
        /// GPT-2's way: a learned vector per position (`wpe`, [T, C]) added to each token.
        case learned
        /// RoPE (Kernels/Rope.swift): each head's query and key are rotated by an angle
        /// that grows with the position, so attention sees how far apart two tokens are.
        /// No position parameters. The course's default: every position comes for free,
        /// where a learned table must train each row (GUIDE chapter 00's exercise compares them).
        case rotary
    }

    /// V: how many different tokens exist.
    public var vocabSize: Int
    /// The longest sequence the model can read (and, with learned positions, the rows of `wpe`).
    public var blockSize: Int
    /// L: transformer blocks stacked.
    public var layers: Int
    /// H: attention heads per block.
    public var heads: Int
    /// C: width of every token's vector.
    public var channels: Int
    /// Learned position vectors or rotary positions.
    public var positions: Positions

    public init(vocabSize: Int, blockSize: Int, layers: Int, heads: Int, channels: Int, positions: Positions = .rotary) {
        self.vocabSize = vocabSize; self.blockSize = blockSize
        self.layers = layers; self.heads = heads; self.channels = channels
        self.positions = positions
    }

    enum CodingKeys: String, CodingKey { case vocabSize, blockSize, layers, heads, channels, positions }

    /// Checkpoints written before rotary positions existed have no "positions" key:
    /// they are learned-position models.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(vocabSize: try c.decode(Int.self, forKey: .vocabSize), blockSize: try c.decode(Int.self, forKey: .blockSize),
                  layers: try c.decode(Int.self, forKey: .layers), heads: try c.decode(Int.self, forKey: .heads),
                  channels: try c.decode(Int.self, forKey: .channels),
                  positions: try c.decodeIfPresent(Positions.self, forKey: .positions) ?? .learned)
    }

    /// For tests and `--quick` runs: trains in seconds. (110k parameters at V = 96.)
    public static func tiny(vocabSize: Int = 96) -> GPTConfig {
        GPTConfig(vocabSize: vocabSize, blockSize: 64, layers: 2, heads: 2, channels: 64)
    }

    /// The lessons' default: big enough to learn the toy world and arithmetic in minutes.
    /// (822k parameters at V = 96, the same as the PyTorch yardstick.)
    public static func classroom(vocabSize: Int = 96) -> GPTConfig {
        GPTConfig(vocabSize: vocabSize, blockSize: 128, layers: 4, heads: 4, channels: 128)
    }

    /// Named configurations, for command-line flags.
    public static func named(_ name: String, vocabSize: Int = 96) -> GPTConfig? {
        switch name {
        case "tiny": return .tiny(vocabSize: vocabSize)
        case "classroom": return .classroom(vocabSize: vocabSize)
        default: return nil
        }
    }

    public var headSize: Int { channels / max(heads, 1) }

    /// Checks the numbers make a model this code can run; the message says what is wrong.
    public func validate() throws {
        func fail(_ why: String) -> ConfigError { ConfigError(message: "invalid model config \(self): \(why)") }
        guard vocabSize >= 2, vocabSize <= 1 << 20 else { throw fail("vocabSize must be in 2...1048576") }
        guard blockSize >= 1, blockSize <= 1 << 14 else { throw fail("blockSize must be in 1...16384") }
        guard layers >= 1, layers <= 64 else { throw fail("layers must be in 1...64") }
        guard heads >= 1, channels >= 8, channels <= 1 << 14 else { throw fail("heads >= 1 and channels in 8...16384") }
        guard channels % heads == 0 else { throw fail("channels must be a multiple of heads") }
        guard headSize % 8 == 0 else { throw fail("head size (channels/heads) must be a multiple of 8 for the SIMD kernels") }
    }

    public var description: String {
        "V=\(vocabSize) T=\(blockSize) L=\(layers) H=\(heads) C=\(channels) positions=\(positions.rawValue)"
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
