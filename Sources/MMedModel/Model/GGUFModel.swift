import Foundation
import MMedTokenizers

extension ModelConfig {
    /// The hyperparameters of a GGUF file (llama.cpp's `<arch>.*` keys).
    public init(gguf file: GGUFFile) throws {
        guard let arch = file.architecture else { throw ModelError.config(file.path, "no general.architecture") }
        func int(_ key: String) throws -> Int {
            guard let value = file.integer("\(arch).\(key)") else { throw ModelError.config(file.path, "missing \(arch).\(key)") }
            return value
        }
        let architecture: Architecture
        switch arch {
        case "llama": architecture = .llama
        case "mistral": architecture = .mistral
        case "qwen2": architecture = .qwen2
        case "internlm2": architecture = .internlm2
        default: throw ModelError.config(file.path, "architecture '\(arch)' is not supported (llama, mistral, qwen2, internlm2)")
        }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        let vocabulary = file.integer("\(arch).vocab_size") ?? file.array("tokenizer.ggml.tokens")?.count
            ?? file.info("token_embd.weight")?.shape.first ?? 0
        var scaling = RopeScaling.none
        if let kind = file.string("\(arch).rope.scaling.type"), let factor = file.number("\(arch).rope.scaling.factor"), factor != 1 {
            switch kind {
            case "linear": scaling = .linear(factor: factor)
            case "yarn", "none": scaling = .none
            default: throw ModelError.config(file.path, "rope scaling '\(kind)' is not supported")
            }
        }
        var eos: [Int] = []
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"] { if let id = file.integer(key), !eos.contains(id) { eos.append(id) } }
        self.init(
            architecture: architecture, hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
            layerCount: try int("block_count"), headCount: heads, kvHeadCount: file.integer("\(arch).attention.head_count_kv") ?? heads,
            headDim: file.integer("\(arch).attention.key_length") ?? hidden / heads, vocabularySize: vocabulary,
            rmsNormEpsilon: Float(file.number("\(arch).attention.layer_norm_rms_epsilon") ?? 1e-5),
            ropeTheta: file.number("\(arch).rope.freq_base") ?? 10000, ropeScaling: scaling,
            // llama.cpp permutes Llama/InternLM2 q and k rows at conversion so adjacent pairs rotate; Qwen2 keeps NeoX halves.
            rotaryPairing: architecture == .qwen2 ? .halves : .adjacent,
            maxPositions: file.integer("\(arch).context_length") ?? 4096, tiedEmbeddings: file.info("output.weight") == nil,
            attentionBias: file.info("blk.0.attn_q.bias") != nil, bosTokenID: file.integer("tokenizer.ggml.bos_token_id"),
            eosTokenIDs: eos)
    }
}

extension LanguageModel {
    static func loadGGUF(path: String, quantization: WeightQuantization) throws -> LanguageModel {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
            try file.validate()
        } catch let error as GGUFError {
            throw ModelError.file(path, error.description)
        }
        var config = try ModelConfig(gguf: file)
        var defaults = GenerationDefaults()
        defaults.eosTokenIDs = config.eosTokenIDs
        let tokenizer: GGUFTokenizer
        do { tokenizer = try GGUFTokenizer(metadata: file.metadata, file: path) } catch {
            throw ModelError.file(path, "tokenizer: \(error)")
        }
        if let factors = file.tensor("rope_freqs.weight") { config.ropeFrequencyFactors = dequantize(factors) }
        try checkMemory(source: file, path: path)
        return try LanguageModel(
            config: config, source: file, naming: .gguf, generationDefaults: defaults, tokenizer: tokenizer, path: path,
            quantization: quantization)
    }
}
