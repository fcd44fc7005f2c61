import Foundation
import Testing
import MMedIO
import MMedPretrain
import MMedTestSupport
@testable import MMedTrain

/// A tiny Hugging Face model folder: config.json and an (empty) safetensors file; nothing here loads weights.
func writeTinyModel(_ directory: String, vocabSize: Int = 100, maxPositions: Int = 64) throws {
    try createDirectories(directory)
    try AtomicFileWriter.write("""
    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": \(vocabSize), "hidden_size": 8,
     "max_position_embeddings": \(maxPositions), "bos_token_id": 1, "eos_token_id": 2}
    """, to: directory + "/config.json")
    try AtomicFileWriter.write([UInt8](), to: directory + "/model.safetensors")
}

/// A tiny Megatron dataset, as `mmed pretrain prepare` writes it: shards of `counts[i]` sequences of `length` tokens
/// (ids `1 + (s + t) % 90`), loss mask 1 except the last token of each sequence; `badToken` puts one id in a sequence.
@discardableResult
func writeTinyDataset(_ directory: String, counts: [Int] = [600, 500], length: Int = 8, padID: Int = 2,
                      badToken: (shard: Int, sequence: Int, position: Int, id: Int32)? = nil,
                      maskLengths: [Int: [Int32]] = [:]) throws -> [String] {
    try createDirectories(directory)
    var shardEntries: [String] = []
    var prefixes: [String] = []
    for (shard, count) in counts.enumerated() {
        let suffix = String(format: "%05d", shard)
        let lengths = [Int32](repeating: Int32(length), count: count)
        var tokens: [UInt8] = []
        var mask: [UInt8] = []
        for sequence in 0..<count {
            for position in 0..<length {
                var id = Int32(1 + (sequence + position) % 90)
                if let bad = badToken, bad.shard == shard, bad.sequence == sequence, bad.position == position { id = bad.id }
                withUnsafeBytes(of: id.littleEndian) { tokens.append(contentsOf: $0) }
                mask.append(position == length - 1 ? 0 : 1)
            }
        }
        let documents = (0...count).map(Int64.init)
        try AtomicFileWriter.write(tokens, to: "\(directory)/tokens_\(suffix).bin")
        try AtomicFileWriter.write(MegatronIndex(dtype: .int32, sequenceLengths: lengths, documentIndices: documents).serialized(), to: "\(directory)/tokens_\(suffix).idx")
        try AtomicFileWriter.write(mask, to: "\(directory)/loss_mask_\(suffix).bin")
        let maskIndexLengths = maskLengths[shard] ?? lengths
        try AtomicFileWriter.write(MegatronIndex(dtype: .uint8, sequenceLengths: maskIndexLengths, documentIndices: (0...maskIndexLengths.count).map(Int64.init)).serialized(),
                                   to: "\(directory)/loss_mask_\(suffix).idx")
        shardEntries.append("{\"prefix\": \"tokens_\(suffix)\", \"loss_mask_prefix\": \"loss_mask_\(suffix)\", \"sequences\": \(count), \"documents\": \(count), \"tokens\": \(count * length)}")
        prefixes.append("tokens_\(suffix)")
    }
    try AtomicFileWriter.write("""
    {"format": "megatron", "complete": true, "mode": "window", "window": \(length), "pad_id": \(padID), "eos_id": 2, "dtype": "int32",
     "shards": [\(shardEntries.joined(separator: ", "))]}
    """, to: directory + "/dataset.json")
    return prefixes
}

/// The recipes folder of this checkout.
let recipesDirectory = Repository.path("recipes")

/// A recipe resolved against a fresh tiny model and dataset.
func resolve(_ name: String, task: Recipe.Task, overrides: TrainOverrides = TrainOverrides(), counts: [Int] = [600, 500],
             in root: String = temporaryDirectory()) throws -> ResolvedTraining {
    try writeTinyModel(root + "/model")
    try writeTinyDataset(root + "/data", counts: counts)
    let recipe = try Recipe.load(path: try Recipe.locate(name, directories: [recipesDirectory]))
    let model = try ModelInfo.inspect(root + "/model")
    let data = try DatasetValidator.validate(data: root + "/data", model: model)
    return try ResolvedTraining(task: task, recipe: recipe, overrides: overrides, runDirectory: root + "/run", model: model, data: data)
}

func parseConfig(_ resolved: ResolvedTraining) throws -> JSONValue {
    try JSONValue.parse(Array(resolved.config.text.utf8))
}

/// Runs `body`, which must throw an error whose text satisfies `predicate`.
func expectError(_ body: () throws -> Any, matches predicate: (String) -> Bool, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    do {
        _ = try body()
        Issue.record("no error was thrown", sourceLocation: sourceLocation)
    } catch {
        #expect(predicate("\(error)"), "\(error)", sourceLocation: sourceLocation)
    }
}
