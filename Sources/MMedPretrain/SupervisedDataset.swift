import Foundation
import MMedIO
import MMedTokenizers

// Tokenized supervised fine-tuning data (`mmed bench prepare --tokenized`): one unpadded sequence per (prompt, target)
// example, with a loss mask that is 0 on the prompt and 1 on the target, as MMedLM's finetune/train.py `preprocess`
// builds its labels. Written as Megatron shards (the layout of `mmed pretrain prepare`) or as JSONL with labels.

/// One example: the prompt (source) and the answer (target, without EOS), and what names it in outputs.
public struct SupervisedExample: Sendable {
    public var id: String
    /// The language code (or another grouping) counted per group in `dataset.json`.
    public var group: String
    /// E.g. `rationale` or `direct`.
    public var form: String
    public var source: String
    public var target: String

    public init(id: String, group: String, form: String, source: String, target: String) {
        self.id = id; self.group = group; self.form = form; self.source = source; self.target = target
    }
}

/// The original's rule (finetune/train.py `_tokenize_fn` and `preprocess`):
/// - `source` and `source + target + EOS` are tokenized separately, each with the tokenizer's template (BOS for Llama,
///   so both start with it), each truncated to `maxLength` tokens;
/// - the labels are the example's ids with the first `len(source ids)` positions ignored.
/// The EOS is the tokenizer's EOS id, placed right after the text (before any suffix the template adds), where the
/// original appends `tokenizer.eos_token` to the text and the tokenizer turns it into that id.
public struct SupervisedTokenization: Sendable {
    /// What happens to an example longer than `maxLength`.
    public enum OverLength: String, Sendable, Codable {
        /// Left out and listed in `dataset.json` (the default: a cut target loses its answer line and EOS).
        case skip
        /// Cut to its first `maxLength` tokens, as the original does (`--published`).
        case truncate
    }

    public var maxLength: Int
    public var overLength: OverLength
    public var eosID: Int32

    public init(maxLength: Int = 2048, overLength: OverLength = .skip, eosID: Int32) {
        self.maxLength = maxLength; self.overLength = overLength; self.eosID = eosID
    }

    /// An example's sequence. `tokens` is nil for an example left out (`skip`).
    public struct Sequence: Sendable, Equatable {
        /// The ids written (truncated under `truncate`); nil when the example is left out.
        public var tokens: [Int32]?
        /// Positions with loss mask 0 (label -100) at the start of `tokens`: `min(len(source ids), maxLength)`, at most
        /// the sequence's length.
        public var masked: Int
        /// The example's length before truncation.
        public var fullLength: Int
        /// The source's ids (template included) before truncation.
        public var sourceLength: Int
        /// The example's first `sourceLength` ids are the source's ids: the prompt/target boundary falls between tokens.
        public var boundaryMatches: Bool

        public var truncated: Bool { tokens.map { $0.count < fullLength } ?? false }
        public var supervised: Int { (tokens?.count ?? 0) - masked }
    }

    public func sequence(_ example: SupervisedExample, tokenizer: any Tokenizer) -> Sequence {
        let sourceIDs = tokenizer.encode(example.source, addSpecialTokens: true)
        let text = example.source + example.target
        let templated = tokenizer.encode(text, addSpecialTokens: true)
        let plain = tokenizer.encode(text, addSpecialTokens: false)
        // templated = prefix + plain + suffix (Llama: [BOS] + plain); the EOS goes between plain and suffix.
        var full = templated + [eosID]
        let extra = templated.count - plain.count
        if extra >= 0 {
            for start in 0...extra where templated[start..<(start + plain.count)].elementsEqual(plain) {
                full = Array(templated[..<(start + plain.count)]) + [eosID] + Array(templated[(start + plain.count)...])
                break
            }
        }
        let boundary = full.count >= sourceIDs.count && full[..<sourceIDs.count].elementsEqual(sourceIDs)
        if full.count > maxLength && overLength == .skip {
            return Sequence(tokens: nil, masked: 0, fullLength: full.count, sourceLength: sourceIDs.count, boundaryMatches: boundary)
        }
        let tokens = Array(full.prefix(maxLength))
        let masked = min(sourceIDs.count, maxLength, tokens.count)
        return Sequence(tokens: tokens, masked: masked, fullLength: full.count, sourceLength: sourceIDs.count, boundaryMatches: boundary)
    }
}

/// Streams variable-length sequences and their loss masks into Megatron indexed datasets `tokens_NNNNN` (int32) and
/// `loss_mask_NNNNN` (uint8), one Megatron document per sequence, shards of about `shardBytes` of tokens, each file
/// written atomically (temporary file, fsync, rename). Shards beyond the new count, left by an earlier run, are removed.
public final class MegatronSequenceWriter {
    public let directory: String
    public let shardBytes: Int64
    private var shards: [DatasetDescription.Shard] = []
    private var tokens: AtomicFileWriter?
    private var mask: AtomicFileWriter?
    private var lengths: [Int32] = []
    private var shardTokens: Int64 = 0

    public init(directory: String, shardBytes: Int64 = 1 << 30) {
        self.directory = directory
        self.shardBytes = max(4, shardBytes)
    }

    /// Appends one sequence; `mask` has its length (1 = the token is trained).
    public func append(tokens values: [Int32], mask maskValues: [UInt8]) throws {
        precondition(values.count == maskValues.count, "a loss mask must have its sequence's length")
        guard values.count <= Int(Int32.max) else { throw PretrainError("a sequence of \(values.count) tokens does not fit a Megatron index") }
        if tokens != nil, shardTokens > 0, (shardTokens + Int64(values.count)) * 4 > shardBytes { try closeShard() }
        if tokens == nil {
            let index = shards.count
            tokens = try AtomicFileWriter(path: "\(directory)/\(PretrainAssembler.shardName("tokens", index)).bin")
            mask = try AtomicFileWriter(path: "\(directory)/\(PretrainAssembler.shardName("loss_mask", index)).bin")
        }
        try values.withUnsafeBytes { try tokens!.write($0) }
        try maskValues.withUnsafeBytes { try mask!.write($0) }
        lengths.append(Int32(values.count))
        shardTokens += Int64(values.count)
    }

    private func closeShard() throws {
        guard let tokens, let mask else { return }
        let index = shards.count
        let tokensPrefix = PretrainAssembler.shardName("tokens", index), maskPrefix = PretrainAssembler.shardName("loss_mask", index)
        let documents = (0...lengths.count).map(Int64.init)
        try tokens.commit()
        try AtomicFileWriter.write(MegatronIndex(dtype: .int32, sequenceLengths: lengths, documentIndices: documents).serialized(),
                                   to: "\(directory)/\(tokensPrefix).idx")
        try mask.commit()
        try AtomicFileWriter.write(MegatronIndex(dtype: .uint8, sequenceLengths: lengths, documentIndices: documents).serialized(),
                                   to: "\(directory)/\(maskPrefix).idx")
        shards.append(.init(prefix: tokensPrefix, lossMaskPrefix: maskPrefix, sequences: lengths.count, documents: lengths.count, tokens: shardTokens))
        self.tokens = nil
        self.mask = nil
        lengths = []
        shardTokens = 0
    }

    /// Writes the last shard and returns them all. With no sequence at all, one empty shard is written, so that a
    /// trainer finds the files `dataset.json` lists.
    public func finish() throws -> [DatasetDescription.Shard] {
        if tokens == nil && shards.isEmpty {
            tokens = try AtomicFileWriter(path: "\(directory)/\(PretrainAssembler.shardName("tokens", 0)).bin")
            mask = try AtomicFileWriter(path: "\(directory)/\(PretrainAssembler.shardName("loss_mask", 0)).bin")
        }
        try closeShard()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            for kind in ["tokens_", "loss_mask_"] where name.hasPrefix(kind) {
                let digits = name.dropFirst(kind.count).prefix { $0.isNumber }
                if let index = Int(digits), index >= shards.count { removeFile("\(directory)/\(name)") }
            }
        }
        return shards
    }
}

/// `dataset.json` of tokenized SFT data. Its shared keys (`format`, `dtype`, `pad_id`, `eos_id`, `tokenizer`, `shards`,
/// `loss_mask`) have the meaning and shape they have in `mmed pretrain prepare`'s `dataset.json`.
public struct SupervisedDatasetDescription: Codable, Sendable {
    public struct Counts: Codable, Sendable, Equatable {
        /// Examples built from the items.
        public var examples = 0
        /// Sequences written.
        public var sequences = 0
        /// Left out for being longer than `max_length` (`over_length: skip`).
        public var skippedOverLength = 0
        /// Cut to `max_length` (`over_length: truncate`).
        public var truncated = 0
        /// Written with no supervised token (the prompt alone fills `max_length`; only under `truncate`).
        public var withoutSupervisedTokens = 0
        /// Examples whose first ids are not the prompt's ids (a token spans the prompt/target boundary).
        public var boundaryMismatches = 0
        public var tokens: Int64 = 0
        public var supervisedTokens: Int64 = 0
        public var maxSequenceLength = 0

        public init() {}

        enum CodingKeys: String, CodingKey {
            case examples, sequences, truncated, tokens
            case skippedOverLength = "skipped_over_length", withoutSupervisedTokens = "without_supervised_tokens"
            case boundaryMismatches = "boundary_mismatches", supervisedTokens = "supervised_tokens", maxSequenceLength = "max_sequence_length"
        }

        mutating func add(_ sequence: SupervisedTokenization.Sequence) {
            examples += 1
            if !sequence.boundaryMatches { boundaryMismatches += 1 }
            guard let written = sequence.tokens else { skippedOverLength += 1; return }
            sequences += 1
            if sequence.truncated { truncated += 1 }
            if sequence.supervised == 0 { withoutSupervisedTokens += 1 }
            tokens += Int64(written.count)
            supervisedTokens += Int64(sequence.supervised)
            maxSequenceLength = max(maxSequenceLength, written.count)
        }
    }
    /// An example left out for its length.
    public struct Skipped: Codable, Sendable, Equatable {
        public var id: String
        public var group: String
        public var form: String
        public var tokens: Int
    }

    public var format: String
    public var complete = true
    public var mode = "sft"
    /// `paper` (the default rules) or `published` (the original's).
    public var preprocessing: String
    public var maxLength: Int
    public var overLength: SupervisedTokenization.OverLength
    public var padID: Int32
    public var padIDSource: String
    public var eosID: Int32
    public var bosID: Int32?
    public var lossMask = "prompt-masked"
    public var lossMaskRule: String
    public var dtype: String?
    public var tokenizer: DatasetDescription.TokenizerDescription
    public var megatronDocuments: String?
    public var shards: [DatasetDescription.Shard]?
    /// `format: jsonl`: the file with `{"id", "language", "form", "input_ids", "labels"}` lines.
    public var jsonl: String?
    /// `format: megatron`: one line per sequence, in order: id, language, form, tokens, masked.
    public var sequenceIndex: String?
    public var counts: Counts
    public var groups: [String: Counts]
    public var skipped: [Skipped]
    /// Where the examples came from (for `mmed bench prepare`: dataset, split, seed, variant, item counts).
    public var origin: [String: String]
    public var commandLine: [String]

    enum CodingKeys: String, CodingKey {
        case format, complete, mode, preprocessing, dtype, tokenizer, shards, jsonl, counts, skipped, origin
        case groups = "languages"
        case maxLength = "max_length", overLength = "over_length", padID = "pad_id", padIDSource = "pad_id_source", eosID = "eos_id"
        case bosID = "bos_id", lossMask = "loss_mask", lossMaskRule = "loss_mask_rule", megatronDocuments = "megatron_documents"
        case sequenceIndex = "sequence_index", commandLine = "command_line"
    }
}

/// Tokenizes examples and writes them: Megatron shards + `sequences.jsonl`, or `sft.jsonl`; then `dataset.json` (last,
/// so that its presence means the run finished). Every file is written atomically.
public struct SupervisedDatasetWriter {
    public enum Format: String, Sendable, CaseIterable { case megatron, jsonl }

    public var tokenizer: PretrainTokenizer
    public var tokenization: SupervisedTokenization
    public var format: Format
    public var padID: Int32
    public var padIDSource: PadIDSource
    public var published: Bool
    public var shardBytes: Int64 = 1 << 30
    public var origin: [String: String] = [:]
    public var commandLine: [String] = []

    public init(tokenizer: PretrainTokenizer, tokenization: SupervisedTokenization, format: Format, padID: Int32,
                padIDSource: PadIDSource, published: Bool) {
        self.tokenizer = tokenizer; self.tokenization = tokenization; self.format = format
        self.padID = padID; self.padIDSource = padIDSource; self.published = published
    }

    public static let jsonlName = "sft.jsonl"
    public static let sequenceIndexName = "sequences.jsonl"

    /// Writes `examples` (in order) into `directory`, which is created if needed.
    @discardableResult
    public func write(_ examples: [SupervisedExample], to directory: String) throws -> SupervisedDatasetDescription {
        try createDirectories(directory)
        // A stale dataset.json must not describe a half-written run.
        removeFile("\(directory)/dataset.json")
        let sequences = tokenizer.tokenizer.encodeBatchOfExamples(examples, tokenization)
        let vocabulary = tokenizer.tokenizer.vocabularySize
        var counts = SupervisedDatasetDescription.Counts()
        var groups: [String: SupervisedDatasetDescription.Counts] = [:]
        var skipped: [SupervisedDatasetDescription.Skipped] = []
        var shards: [DatasetDescription.Shard]?
        let megatron = format == .megatron ? MegatronSequenceWriter(directory: directory, shardBytes: shardBytes) : nil
        let lines = try AtomicFileWriter(path: "\(directory)/\(format == .megatron ? Self.sequenceIndexName : Self.jsonlName)")
        for (example, sequence) in zip(examples, sequences) {
            counts.add(sequence)
            groups[example.group, default: .init()].add(sequence)
            guard let ids = sequence.tokens else {
                skipped.append(.init(id: example.id, group: example.group, form: example.form, tokens: sequence.fullLength))
                continue
            }
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
                throw PretrainError("\(tokenizer.file): example \(example.id) (\(example.form)) got id \(bad), outside the vocabulary of \(vocabulary)")
            }
            let masked = sequence.masked
            if let megatron {
                var mask = [UInt8](repeating: 1, count: ids.count)
                for index in 0..<masked { mask[index] = 0 }
                try megatron.append(tokens: ids, mask: mask)
                try lines.write(JSONValue.object([
                    ("id", .string(example.id)), ("language", .string(example.group)), ("form", .string(example.form)),
                    ("tokens", .number(Double(ids.count))), ("masked", .number(Double(masked))),
                ]).jsonText + "\n")
            } else {
                var line = "{\"id\":" + JSONValue.string(example.id).jsonText + ",\"language\":" + JSONValue.string(example.group).jsonText
                    + ",\"form\":" + JSONValue.string(example.form).jsonText + ",\"input_ids\":["
                line += ids.map { String($0) }.joined(separator: ",")
                line += "],\"labels\":["
                line += ids.enumerated().map { $0.offset < masked ? "-100" : String($0.element) }.joined(separator: ",")
                line += "]}\n"
                try lines.write(line)
            }
        }
        try lines.commit()
        if let megatron { shards = try megatron.finish() }
        // The other format's files, left by an earlier run into the same folder, would contradict dataset.json.
        if format == .jsonl {
            MegatronSequenceWriter.removeShards(in: directory)
            removeFile("\(directory)/\(Self.sequenceIndexName)")
        } else {
            removeFile("\(directory)/\(Self.jsonlName)")
        }

        let special = tokenizer.tokenizer.specialTokens
        let description = SupervisedDatasetDescription(
            format: format.rawValue,
            preprocessing: published ? "published" : "paper",
            maxLength: tokenization.maxLength,
            overLength: tokenization.overLength,
            padID: padID, padIDSource: padIDSource.rawValue, eosID: tokenization.eosID, bosID: special.bos,
            lossMaskRule: "0 on the first min(len(prompt ids), max_length) positions (the prompt with the tokenizer's BOS), "
                + "1 on the rest (the target and its EOS); labels = ids with -100 where the mask is 0",
            dtype: format == .megatron ? MegatronDType.int32.name : nil,
            tokenizer: .init(file: tokenizer.file, sha256: tokenizer.sha256, vocabSize: vocabulary,
                             specialIDs: .init(bos: special.bos, eos: special.eos, pad: special.pad, unk: special.unk)),
            megatronDocuments: format == .megatron
                ? "one Megatron document per example: one unpadded sequence; loss_mask_* has the same sequence lengths and document indices, dtype uint8"
                : nil,
            shards: shards,
            jsonl: format == .jsonl ? Self.jsonlName : nil,
            sequenceIndex: format == .megatron ? Self.sequenceIndexName : nil,
            counts: counts, groups: groups, skipped: skipped, origin: origin, commandLine: commandLine)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try AtomicFileWriter.write(Array(try encoder.encode(description)) + [0x0A], to: "\(directory)/dataset.json")
        return description
    }
}

extension MegatronSequenceWriter {
    /// Removes every shard in the folder (a run in another format).
    fileprivate static func removeShards(in directory: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where (name.hasPrefix("tokens_") || name.hasPrefix("loss_mask_")) && (name.hasSuffix(".bin") || name.hasSuffix(".idx")) {
            removeFile("\(directory)/\(name)")
        }
    }
}

extension Tokenizer {
    /// `tokenization.sequence` of every example on all cores, in input order.
    fileprivate func encodeBatchOfExamples(_ examples: [SupervisedExample], _ tokenization: SupervisedTokenization) -> [SupervisedTokenization.Sequence] {
        guard !examples.isEmpty else { return [] }
        var results = [SupervisedTokenization.Sequence?](repeating: nil, count: examples.count)
        results.withUnsafeMutableBufferPointer { output in
            nonisolated(unsafe) let target = output.baseAddress!
            let workers = max(1, min(examples.count, ProcessInfo.processInfo.activeProcessorCount))
            let chunk = (examples.count + workers - 1) / workers
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = worker * chunk, end = min(examples.count, start + chunk)
                guard start < end else { return }
                for index in start..<end { target[index] = tokenization.sequence(examples[index], tokenizer: self) }
            }
        }
        return results.map { $0! }
    }
}
