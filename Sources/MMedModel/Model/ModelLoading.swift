import Foundation
import MMedIO
import MMedTokenizers

extension LanguageModel {
    /// Loads a Hugging Face checkpoint folder (config.json, generation_config.json, model.safetensors or a sharded
    /// index, and its tokenizer when there is one) or a `.gguf` file. Missing tensors, wrong shapes and a model that
    /// cannot fit are errors before any work.
    public static func load(path: String, quantization: WeightQuantization = .none) throws -> LanguageModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelError.file(path, "no such file or folder")
        }
        if !isDirectory.boolValue {
            if path.hasSuffix(".gguf") { return try loadGGUF(path: path, quantization: quantization) }
            throw ModelError.file(path, "expected a checkpoint folder (config.json + *.safetensors) or a .gguf file")
        }
        return try loadHuggingFace(folder: path, quantization: quantization)
    }

    static func readJSON(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelError.file(path, "cannot read the file") }
        do { return try JSONValue.parse([UInt8](data)) } catch { throw ModelError.file(path, "not valid JSON (\(error))") }
    }

    static func loadHuggingFace(folder: String, quantization: WeightQuantization) throws -> LanguageModel {
        let configPath = folder + "/config.json"
        let config = try ModelConfig(huggingFaceConfig: try readJSON(configPath), path: configPath)
        var defaults = GenerationDefaults()
        let generationPath = folder + "/generation_config.json"
        if FileManager.default.fileExists(atPath: generationPath) { defaults = GenerationDefaults(json: try readJSON(generationPath)) }
        if defaults.eosTokenIDs.isEmpty { defaults.eosTokenIDs = config.eosTokenIDs }

        let source: any TensorSource
        let index = folder + "/model.safetensors.index.json"
        if FileManager.default.fileExists(atPath: index) {
            guard let map = try readJSON(index)["weight_map"]?.members else { throw ModelError.file(index, "no weight_map") }
            var files: [String] = []
            for (_, file) in map { if let name = file.string, !files.contains(name) { files.append(name) } }
            source = CombinedTensorSource(sources: try files.map { try SafetensorsFile(path: folder + "/" + $0) })
        } else if FileManager.default.fileExists(atPath: folder + "/model.safetensors") {
            source = try SafetensorsFile(path: folder + "/model.safetensors")
        } else {
            throw ModelError.file(folder, "no model.safetensors or model.safetensors.index.json")
        }
        var tokenizer: (any Tokenizer)? = nil
        if ["tokenizer.json", "tokenizer.model"].contains(where: { FileManager.default.fileExists(atPath: folder + "/" + $0) }) {
            tokenizer = try loadTokenizer(path: folder)
        }
        let naming: Naming = config.architecture == .internlm2 ? .internLM2 : .huggingFace
        try checkMemory(source: source, path: folder)
        return try LanguageModel(config: config, source: source, naming: naming, generationDefaults: defaults, tokenizer: tokenizer, path: folder, quantization: quantization)
    }

    /// Mapped weights are paged in on use; they still have to fit in memory to run at speed.
    static func checkMemory(source: any TensorSource, path: String) throws {
        let bytes = source.tensorNames.reduce(0) { $0 + (source.tensor($1)?.byteCount ?? 0) }
        let available = Int(ProcessInfo.processInfo.physicalMemory)
        guard bytes < available * 9 / 10 else {
            throw ModelError.memory("\(path): the weights take \(bytes >> 20) MiB; this machine has \(available >> 20) MiB")
        }
    }
}
