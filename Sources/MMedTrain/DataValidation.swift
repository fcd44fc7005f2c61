import Foundation
import MMedIO
import MMedPretrain

/// What `mmed train` needs from a model folder (`config.json` of a Hugging Face checkpoint).
public struct ModelInfo: Sendable, Equatable {
    public var path: String
    public var configFile: String
    /// Embedding rows: every token id must be below it.
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int?
    public var padTokenID: Int?
    public var eosTokenID: Int?

    /// Reads `DIR/config.json` (a multimodal config's `text_config` where the top level has no `vocab_size`) and checks
    /// that the folder holds safetensors weights.
    public static func inspect(_ directory: String) throws -> ModelInfo {
        let path = absolutePath(directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TrainError("--model \(directory): no such folder")
        }
        let configFile = path + "/config.json"
        guard fileExists(configFile) else { throw TrainError("\(configFile): missing; --model must be a Hugging Face folder (config.json + *.safetensors)") }
        let config: JSONValue
        do { config = try JSONValue.parse(try readWholeFile(configFile)) } catch { throw TrainError("\(configFile): not JSON (\(error))") }
        let scope = config["vocab_size"] == nil ? (config["text_config"] ?? config) : config
        guard let vocab = scope["vocab_size"]?.int, vocab > 0 else { throw TrainError("\(configFile): no positive integer vocab_size") }
        let weights = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".safetensors") }
        guard !weights.isEmpty else { throw TrainError("--model \(directory): no *.safetensors weights in the folder") }
        func firstInt(_ key: String) -> Int? {
            if let value = scope[key]?.int { return value }
            if let values = scope[key]?.array, let first = values.first?.int { return first }  // Llama 3.1: eos_token_id is a list
            return nil
        }
        return ModelInfo(path: path, configFile: configFile, vocabSize: vocab, maxPositionEmbeddings: scope["max_position_embeddings"]?.int,
                         padTokenID: firstInt("pad_token_id"), eosTokenID: firstInt("eos_token_id"))
    }
}

/// A checked training dataset: Megatron token shards with their loss masks.
public struct DatasetSummary: Sendable, Equatable {
    public struct Shard: Sendable, Equatable {
        public var tokens: String
        public var lossMask: String
        public var sequences: Int
        public var tokenCount: Int64
        public var supervisedTokens: Int64
    }
    public var path: String
    public var shards: [Shard]
    public var sequences: Int
    /// The longest sequence.
    public var sequenceLength: Int
    public var shortestSequence: Int
    public var padID: Int
    public var vocabSize: Int
    public var tokens: Int64
    public var supervisedTokens: Int64
    /// Things worth saying that do not stop a run.
    public var notes: [String]
}

/// Checks a `mmed pretrain prepare` / `mmed bench prepare --tokenized` folder against a model before anything starts.
public enum DatasetValidator {
    /// Reads `dataset.json` and every `.idx` header; checks that each tokens/loss_mask pair has the same sequence
    /// count and lengths and that each `.bin` has the size its index gives; with `scanTokens`, reads every token id
    /// (each must be below the model's vocab_size) and every mask value (0 or 1), and counts the supervised tokens.
    public static func validate(data directory: String, model: ModelInfo, scanTokens: Bool = true) throws -> DatasetSummary {
        let path = absolutePath(directory)
        let descriptionFile = path + "/dataset.json"
        guard fileExists(descriptionFile) else {
            throw TrainError("--data \(directory): no dataset.json; give a folder written by `mmed pretrain prepare` or `mmed bench prepare --tokenized`")
        }
        let description: JSONValue
        do { description = try JSONValue.parse(try readWholeFile(descriptionFile)) } catch { throw TrainError("\(descriptionFile): not JSON (\(error))") }
        var notes: [String] = []
        if let format = description["format"]?.string, format != "megatron" {
            throw TrainError("\(descriptionFile): format \"\(format)\"; training reads Megatron shards (prepare with --format megatron)")
        }
        if description["complete"]?.bool == false {
            notes.append("\(descriptionFile) says \"complete\": false (some inputs were quarantined); training uses the shards that are there")
        }

        // The shard list: dataset.json's, else the tokens_*.idx files of the folder.
        var pairs: [(tokens: String, lossMask: String, sequences: Int?)] = []
        if let shards = description["shards"]?.array {
            for (index, shard) in shards.enumerated() {
                guard let prefix = shard["prefix"]?.string else { throw TrainError("\(descriptionFile): shards[\(index)] has no \"prefix\"") }
                guard let mask = shard["loss_mask_prefix"]?.string else {
                    throw TrainError("\(descriptionFile): shards[\(index)] (\(prefix)) has no \"loss_mask_prefix\"; every token shard needs its loss mask")
                }
                pairs.append((prefix, mask, shard["sequences"]?.int))
            }
        } else {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasPrefix("tokens_") && $0.hasSuffix(".idx") }.sorted()
            for name in names {
                let prefix = String(name.dropLast(4))
                pairs.append((prefix, "loss_mask_" + prefix.dropFirst("tokens_".count), nil))
            }
        }
        guard !pairs.isEmpty else { throw TrainError("\(descriptionFile): lists no shards; the dataset is empty") }

        let padID: Int
        if let value = description["pad_id"]?.int { padID = value }
        else if let value = model.padTokenID ?? model.eosTokenID { padID = value; notes.append("pad id \(value) from \(model.configFile)") }
        else { throw TrainError("\(descriptionFile): no pad_id, and \(model.configFile) has neither pad_token_id nor eos_token_id") }
        guard padID >= 0, padID < model.vocabSize else {
            throw TrainError("\(descriptionFile): pad_id \(padID) is not below vocab_size \(model.vocabSize) of \(model.configFile); the data was prepared for another tokenizer")
        }
        if let tokenizerVocab = description["tokenizer"]?["vocab_size"]?.int, tokenizerVocab > model.vocabSize {
            notes.append("the tokenizer has \(tokenizerVocab) ids but the model \(model.vocabSize) embedding rows; every id is checked")
        }

        var shards: [DatasetSummary.Shard] = []
        var longest = 0, shortest = Int.max
        for pair in pairs {
            let tokensIndexFile = "\(path)/\(pair.tokens).idx", maskIndexFile = "\(path)/\(pair.lossMask).idx"
            let tokens = try readIndex(tokensIndexFile)
            let mask = try readIndex(maskIndexFile)
            guard tokens.dtype == .int32 else {
                throw TrainError("\(tokensIndexFile): dtype code \(tokens.dtype.rawValue) (\(tokens.dtype.name)); token shards must be int32 (code 4)")
            }
            guard mask.dtype == .uint8 else {
                throw TrainError("\(maskIndexFile): dtype code \(mask.dtype.rawValue) (\(mask.dtype.name)); loss masks must be uint8 (code 1)")
            }
            guard tokens.sequenceLengths.count == mask.sequenceLengths.count else {
                throw TrainError("\(maskIndexFile): \(mask.sequenceLengths.count) sequences, but \(pair.tokens).idx has \(tokens.sequenceLengths.count); the pair does not match")
            }
            if let first = tokens.sequenceLengths.indices.first(where: { tokens.sequenceLengths[$0] != mask.sequenceLengths[$0] }) {
                throw TrainError("\(maskIndexFile): sequence \(first) has \(mask.sequenceLengths[first]) values, but \(tokens.sequenceLengths[first]) tokens in \(pair.tokens).idx")
            }
            if let listed = pair.sequences, listed != tokens.sequenceLengths.count {
                throw TrainError("\(tokensIndexFile): \(tokens.sequenceLengths.count) sequences, but dataset.json lists \(listed)")
            }
            if let zero = tokens.sequenceLengths.firstIndex(where: { $0 < 2 }) {
                throw TrainError("\(tokensIndexFile): sequence \(zero) has \(tokens.sequenceLengths[zero]) token(s); a training sequence needs at least 2")
            }
            let tokensBin = "\(path)/\(pair.tokens).bin", maskBin = "\(path)/\(pair.lossMask).bin"
            try checkSize(tokensBin, expected: tokens.dataBytes)
            try checkSize(maskBin, expected: mask.dataBytes)
            longest = max(longest, Int(tokens.sequenceLengths.max() ?? 0))
            shortest = min(shortest, Int(tokens.sequenceLengths.min() ?? 0))
            let count = tokens.sequenceLengths.reduce(Int64(0)) { $0 + Int64($1) }
            var supervised: Int64 = 0
            if scanTokens {
                try scanTokenIDs(tokensBin, lengths: tokens.sequenceLengths, vocabSize: model.vocabSize, configFile: model.configFile)
                supervised = try scanMask(maskBin, lengths: mask.sequenceLengths)
            }
            shards.append(.init(tokens: pair.tokens, lossMask: pair.lossMask, sequences: tokens.sequenceLengths.count, tokenCount: count, supervisedTokens: supervised))
        }
        let sequences = shards.reduce(0) { $0 + $1.sequences }
        let supervised = shards.reduce(Int64(0)) { $0 + $1.supervisedTokens }
        if scanTokens && supervised == 0 {
            throw TrainError("\(path): every loss-mask value is 0; nothing would be trained")
        }
        if let limit = model.maxPositionEmbeddings, longest > limit {
            throw TrainError("\(path): sequences of up to \(longest) tokens, but max_position_embeddings is \(limit) in \(model.configFile)")
        }
        return DatasetSummary(path: path, shards: shards, sequences: sequences, sequenceLength: longest, shortestSequence: shortest,
                              padID: padID, vocabSize: model.vocabSize, tokens: shards.reduce(Int64(0)) { $0 + $1.tokenCount },
                              supervisedTokens: supervised, notes: notes)
    }

    static func readIndex(_ file: String) throws -> MegatronIndex {
        guard fileExists(file) else { throw TrainError("\(file): missing") }
        do {
            return try MegatronIndex(parsing: try readWholeFile(file), file: file)
        } catch let error as MMedIOError {
            throw TrainError(error.description)
        }
    }

    static func checkSize(_ file: String, expected: Int64) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file), let size = (attributes[.size] as? NSNumber)?.int64Value else {
            throw TrainError("\(file): missing")
        }
        guard size == expected else { throw TrainError("\(file): \(size) bytes, but its index describes \(expected); the shard is truncated or from another run") }
    }

    /// Reads a file in chunks whose sizes are multiples of `unit` bytes.
    static func forEachChunk(_ file: String, unit: Int, _ body: (UnsafeRawBufferPointer, _ offset: Int64) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: file) else { throw TrainError("\(file): cannot open") }
        defer { try? handle.close() }
        var carry: [UInt8] = []
        var offset: Int64 = 0
        while true {
            let data: Data
            do { data = try handle.read(upToCount: 8 << 20) ?? Data() } catch { throw TrainError("\(file): read failed (\(error))") }
            if data.isEmpty { break }
            var bytes = carry
            bytes.append(contentsOf: data)
            let usable = bytes.count - bytes.count % unit
            try bytes.withUnsafeBytes { raw in try body(UnsafeRawBufferPointer(rebasing: raw[0..<usable]), offset) }
            offset += Int64(usable)
            carry = Array(bytes[usable...])
        }
    }

    /// Sequence index of the value at `position`, from the sequence lengths.
    static func sequence(containing position: Int64, lengths: [Int32]) -> (sequence: Int, offset: Int64) {
        var start: Int64 = 0
        for (index, length) in lengths.enumerated() {
            if position < start + Int64(length) { return (index, position - start) }
            start += Int64(length)
        }
        return (lengths.count, 0)
    }

    static func scanTokenIDs(_ file: String, lengths: [Int32], vocabSize: Int, configFile: String) throws {
        let limit = UInt32(clamping: vocabSize)
        try forEachChunk(file, unit: 4) { raw, offset in
            try raw.withMemoryRebound(to: UInt32.self) { values in
                // An id is bad when it is negative (huge as unsigned) or not below the vocabulary; check the chunk's
                // maximum first, and look for the culprit only when there is one.
                var largest: UInt32 = 0
                for value in values { largest = max(largest, UInt32(littleEndian: value)) }
                guard largest >= limit else { return }
                let bad = values.firstIndex { UInt32(littleEndian: $0) >= limit }!
                let id = Int32(bitPattern: UInt32(littleEndian: values[bad]))
                let (sequence, position) = sequence(containing: offset / 4 + Int64(bad), lengths: lengths)
                throw TrainError("\(file): sequence \(sequence) has token id \(id) at position \(position), not below vocab_size \(vocabSize) of \(configFile); the data was tokenized for another model")
            }
        }
    }

    static func scanMask(_ file: String, lengths: [Int32]) throws -> Int64 {
        var total: Int64 = 0
        try forEachChunk(file, unit: 1) { raw, offset in
            var sum = 0
            var largest: UInt8 = 0
            for value in raw { sum += Int(value); largest = max(largest, value) }
            if largest > 1 {
                let bad = raw.firstIndex { $0 > 1 }!
                let (sequence, position) = sequence(containing: offset + Int64(bad), lengths: lengths)
                throw TrainError("\(file): sequence \(sequence) has loss-mask value \(raw[bad]) at position \(position); loss masks hold 0 or 1")
            }
            total += Int64(sum)
        }
        return total
    }
}
