import Foundation
import MMedIO

/// The families the engine runs. They share the Llama block (RMSNorm, rotary attention with grouped KV heads,
/// SwiGLU); they differ in tensor names, packing, biases and rotary details.
public enum Architecture: String, Sendable {
    case llama, mistral, qwen2, internlm2
}

/// How rotary position embeddings pair dimensions: HF checkpoints rotate the two halves of a head (`rotate_half`);
/// llama.cpp's GGUF Llama files have q/k rows permuted so adjacent pairs rotate.
public enum RotaryPairing: Sendable {
    case halves, adjacent
}

public enum RopeScaling: Sendable, Equatable {
    case none
    /// Llama 3.1's frequency-dependent scaling.
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContext: Int)
    /// Dynamic NTK (InternLM2, HF `dynamic`): the base grows once the sequence passes the trained context.
    case dynamic(factor: Double)
    case linear(factor: Double)
}

public struct ModelConfig: Sendable {
    public var architecture: Architecture
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabularySize: Int
    public var rmsNormEpsilon: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    public var rotaryPairing: RotaryPairing
    public var maxPositions: Int
    public var tiedEmbeddings: Bool
    public var attentionBias: Bool
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]
    /// Per-frequency divisors (GGUF `rope_freqs.weight`: Llama 3.1 scaling as llama.cpp stores it).
    public var ropeFrequencyFactors: [Float]? = nil

    /// Reads a Hugging Face `config.json`.
    public init(huggingFaceConfig value: JSONValue, path: String) throws {
        func int(_ key: String) throws -> Int {
            guard let v = value[key]?.int else { throw ModelError.config(path, "missing integer '\(key)'") }
            return v
        }
        let type = (value["model_type"]?.string ?? "").lowercased()
        let names = value["architectures"]?.array?.compactMap(\.string) ?? []
        switch type {
        case "llama": architecture = .llama
        case "mistral": architecture = .mistral
        case "qwen2": architecture = .qwen2
        case "internlm2": architecture = .internlm2
        default:
            if names.contains(where: { $0.lowercased().contains("internlm2") }) { architecture = .internlm2 } else {
                throw ModelError.config(path, "model_type '\(type)' is not supported (llama, mistral, qwen2, internlm2)")
            }
        }
        hiddenSize = try int("hidden_size")
        intermediateSize = try int("intermediate_size")
        layerCount = try int("num_hidden_layers")
        headCount = try int("num_attention_heads")
        kvHeadCount = value["num_key_value_heads"]?.int ?? headCount
        headDim = value["head_dim"]?.int ?? hiddenSize / headCount
        vocabularySize = try int("vocab_size")
        rmsNormEpsilon = Float(value["rms_norm_eps"]?.number ?? 1e-6)
        // transformers 5 writes `rope_parameters` {rope_theta, rope_type, ...}; earlier files `rope_theta` + `rope_scaling`.
        let parameters = value["rope_parameters"]
        ropeTheta = value["rope_theta"]?.number ?? parameters?["rope_theta"]?.number ?? 10000
        maxPositions = value["max_position_embeddings"]?.int ?? 4096
        tiedEmbeddings = value["tie_word_embeddings"]?.bool ?? false
        attentionBias = architecture == .qwen2 || (value["attention_bias"]?.bool ?? false) || (value["bias"]?.bool ?? false)
        rotaryPairing = .halves
        bosTokenID = value["bos_token_id"]?.int
        if let list = value["eos_token_id"]?.array { eosTokenIDs = list.compactMap(\.int) } else { eosTokenIDs = value["eos_token_id"]?.int.map { [$0] } ?? [] }
        ropeScaling = .none
        if let scaling = value["rope_scaling"]?.members != nil ? value["rope_scaling"] : parameters, scaling.members != nil {
            let kind = (scaling["rope_type"]?.string ?? scaling["type"]?.string ?? "").lowercased()
            let factor = scaling["factor"]?.number ?? 1
            switch kind {
            case "llama3":
                ropeScaling = .llama3(
                    factor: factor, lowFrequencyFactor: scaling["low_freq_factor"]?.number ?? 1,
                    highFrequencyFactor: scaling["high_freq_factor"]?.number ?? 4,
                    originalContext: scaling["original_max_position_embeddings"]?.int ?? 8192)
            case "dynamic": ropeScaling = .dynamic(factor: factor)
            case "linear": ropeScaling = .linear(factor: factor)
            case "default", "": ropeScaling = .none
            default: throw ModelError.config(path, "rope_scaling type '\(kind)' is not supported (llama3, dynamic, linear)")
            }
        }
        guard hiddenSize > 0, headCount > 0, kvHeadCount > 0, headCount % kvHeadCount == 0, headDim % 2 == 0 else {
            throw ModelError.config(path, "inconsistent head counts: \(headCount) heads, \(kvHeadCount) KV heads, head_dim \(headDim)")
        }
    }

    public init(
        architecture: Architecture, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
        headDim: Int, vocabularySize: Int, rmsNormEpsilon: Float, ropeTheta: Double, ropeScaling: RopeScaling,
        rotaryPairing: RotaryPairing, maxPositions: Int, tiedEmbeddings: Bool, attentionBias: Bool, bosTokenID: Int?,
        eosTokenIDs: [Int]
    ) {
        self.architecture = architecture; self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize
        self.layerCount = layerCount; self.headCount = headCount; self.kvHeadCount = kvHeadCount; self.headDim = headDim
        self.vocabularySize = vocabularySize; self.rmsNormEpsilon = rmsNormEpsilon; self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling; self.rotaryPairing = rotaryPairing; self.maxPositions = maxPositions
        self.tiedEmbeddings = tiedEmbeddings; self.attentionBias = attentionBias; self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
    }

    /// Query heads per KV head (grouped-query attention).
    public var queryGroupSize: Int { headCount / kvHeadCount }
    /// Values in one token's queries, all heads.
    public var queryWidth: Int { headCount * headDim }
    /// 1/√headDim.
    public var attentionScale: Float { 1 / Float(headDim).squareRoot() }

    /// The rotary inverse frequencies for a sequence of `length` tokens (dynamic NTK depends on it).
    public func inverseFrequencies(sequenceLength length: Int) -> [Float] {
        let half = headDim / 2
        var base = ropeTheta
        if case .dynamic(let factor) = ropeScaling, length > maxPositions {
            let dim = Double(headDim)
            base = ropeTheta * pow(factor * Double(length) / Double(maxPositions) - (factor - 1), dim / (dim - 2))
        }
        // As torch computes it: 1 / base ** (arange(0, dim, 2).float() / dim), in float32.
        var frequencies = (0..<half).map { i -> Float in
            let exponent = Float(2 * i) / Float(headDim)
            return 1 / Float(pow(Double(Float(base)), Double(exponent)))
        }
        switch ropeScaling {
        case .llama3(let factor, let low, let high, let original):
            let lowWavelength = Double(original) / low
            let highWavelength = Double(original) / high
            frequencies = frequencies.map { f in
                let wavelength = 2 * Double.pi / Double(f)
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return Float(Double(f) / factor) }
                let smooth = (Double(original) / wavelength - low) / (high - low)
                return Float((1 - smooth) * Double(f) / factor + smooth * Double(f))
            }
        case .linear: break  // positions are divided instead (see `rotaryPosition`)
        default: break
        }
        if let factors = ropeFrequencyFactors, factors.count == frequencies.count {
            for i in frequencies.indices { frequencies[i] /= factors[i] }
        }
        return frequencies
    }

    public func rotaryPosition(_ position: Int) -> Float {
        if case .linear(let factor) = ropeScaling { return Float(position) / Float(factor) }
        return Float(position)
    }
}

/// Defaults from `generation_config.json`.
public struct GenerationDefaults: Sendable {
    public var eosTokenIDs: [Int] = []
    public var temperature: Double?
    public var topK: Int?
    public var topP: Double?
    public var repetitionPenalty: Double?
    public var doSample: Bool?

    public init() {}

    public init(json value: JSONValue) {
        if let list = value["eos_token_id"]?.array { eosTokenIDs = list.compactMap(\.int) } else if let id = value["eos_token_id"]?.int { eosTokenIDs = [id] }
        temperature = value["temperature"]?.number
        topK = value["top_k"]?.int
        topP = value["top_p"]?.number
        repetitionPenalty = value["repetition_penalty"]?.number
        doSample = value["do_sample"]?.bool
    }
}
