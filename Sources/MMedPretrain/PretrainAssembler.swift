import Foundation
import MMedCorpus
import MMedIO

/// `dataset.json`: what a run wrote and how, for trainers and for people.
public struct DatasetDescription: Codable, Sendable {
    public struct TokenizerDescription: Codable, Sendable {
        public var file: String
        public var sha256: String
        public var vocabSize: Int
        public var specialIDs: SpecialIDs
        enum CodingKeys: String, CodingKey { case file, sha256, vocabSize = "vocab_size", specialIDs = "special_ids" }
    }
    public struct SpecialIDs: Codable, Sendable {
        public var bos: Int32?
        public var eos: Int32?
        public var pad: Int32?
        public var unk: Int32?
        // Nil ids are written as null: "the tokenizer has none" is information.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(bos, forKey: .bos)
            try container.encode(eos, forKey: .eos)
            try container.encode(pad, forKey: .pad)
            try container.encode(unk, forKey: .unk)
        }
        enum CodingKeys: String, CodingKey { case bos, eos, pad, unk }
    }
    /// One Megatron shard: `<prefix>.bin/.idx` (tokens) and `<lossMaskPrefix>.bin/.idx` (loss mask).
    public struct Shard: Codable, Sendable, Equatable {
        public var prefix: String
        public var lossMaskPrefix: String
        public var sequences: Int
        public var documents: Int
        public var tokens: Int64
        enum CodingKeys: String, CodingKey { case prefix, lossMaskPrefix = "loss_mask_prefix", sequences, documents, tokens }
    }
    public struct NpyFiles: Codable, Sendable {
        public var directory: String
        public var files: Int
        /// One row per window in sequence order: file, input, line, row, window, tokens, padding.
        public var index: String
    }
    public struct Counts: Codable, Sendable {
        public var total: PretrainTally
        public var rejectReasons: [String: Int]
        public var blankLines: Int
        enum CodingKeys: String, CodingKey { case total, rejectReasons = "reject_reasons", blankLines = "blank_lines" }
    }

    public var format: String
    /// Every input was read: nothing was quarantined.
    public var complete: Bool
    public var mode: String
    public var window: Int?
    public var overlap: Int?
    public var stride: Int?
    public var padID: Int32
    public var padIDSource: String
    public var eosID: Int32
    public var lossMask: String
    public var lossMaskRule: String
    public var dtype: String
    public var tokenizer: TokenizerDescription
    public var megatronDocuments: String?
    public var shards: [Shard]?
    public var npy: NpyFiles?
    public var counts: Counts
    /// By the value of the language field, where documents have one.
    public var languages: [String: PretrainTally]?
    public var inputs: [String: PretrainTally]
    public var quarantined: [Quarantine]
    public var itemsPlanned: Int
    public var itemsDone: Int
    public var unitsDone: Int
    public var commandLine: [String]
    public var timings: [String: Double]

    enum CodingKeys: String, CodingKey {
        case format, complete, mode, window, overlap, stride, dtype, tokenizer, shards, npy, counts, languages, inputs, quarantined, timings
        case padID = "pad_id", padIDSource = "pad_id_source", eosID = "eos_id", lossMask = "loss_mask", lossMaskRule = "loss_mask_rule"
        case megatronDocuments = "megatron_documents", itemsPlanned = "items_planned", itemsDone = "items_done", unitsDone = "units_done"
        case commandLine = "command_line"
    }
}

/// A shard's plan and its marker `shards/<n>.json`: which documents of which units it holds. A shard whose marker
/// equals its plan and whose files have the planned sizes is not written again.
struct ShardPlan: Codable, Equatable {
    /// A run of consecutive documents of one unit.
    struct Segment: Codable, Equatable {
        var unit: String
        var firstDocument: Int
        var endDocument: Int
        var firstSequence: Int
        var endSequence: Int
        /// Where the segment's tokens sit in the unit's token part.
        var byteOffset: Int64
        var byteCount: Int64

        enum CodingKeys: String, CodingKey {
            case unit, firstDocument = "first_document", endDocument = "end_document", firstSequence = "first_sequence"
            case endSequence = "end_sequence", byteOffset = "byte_offset", byteCount = "byte_count"
        }
    }
    var shard: Int
    var segments: [Segment] = []
    var sequences = 0
    var documents = 0
    var tokens: Int64 = 0
}

/// Turns the parts of finished units into the run's outputs, in unit (= input) order: Megatron shards or the npy index,
/// `rejected.jsonl`, and `dataset.json`. Everything but `command_line` and `timings` depends only on the inputs and the
/// settings. Token parts are removed once the run is complete (nothing quarantined); until then they stay, so that a
/// re-run that reads a repaired file can rebuild the shards.
struct PretrainAssembler {
    let job: PretrainJob

    struct Result {
        var total: PretrainTally
        var rejectReasons: [String: Int]
        var complete: Bool
        var quarantined: [Quarantine]
        var outputFiles: Int
    }

    var output: String { job.output }
    var configuration: PretrainConfiguration { job.configuration }

    static func shardName(_ kind: String, _ index: Int) -> String {
        let text = String(index)
        return kind + "_" + String(repeating: "0", count: max(0, 5 - text.count)) + text
    }

    private func load<T: Decodable>(_ type: T.Type, _ directory: String) throws -> [T] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: "\(output)/\(directory)")) ?? [])
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
        return try names.map { name in
            let bytes = try readWholeFile("\(output)/\(directory)/\(name)")
            do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
                throw PretrainError("\(output)/\(directory)/\(name): unreadable marker (\(error)); delete it to redo that part")
            }
        }
    }

    func assemble(wallSeconds: Double) throws -> Result {
        let itemReports = try load(ItemReport.self, "items")
        let finishedItems = Set(itemReports.map(\.item))
        let itemQuarantines = try load(Quarantine.self, "quarantine")
        // Only units of finished items count, so that a file is counted wholly or not at all; names sort in input order.
        let units = try load(PretrainUnitReport.self, "units").filter { finishedItems.contains($0.item) }.sorted { $0.unit < $1.unit }

        var total = PretrainTally()
        var languages: [String: PretrainTally] = [:]
        var inputs: [String: PretrainTally] = [:]
        var reasons: [String: Int] = [:]
        var blankLines = 0
        var unitSeconds = 0.0
        var quarantined = itemQuarantines
        for unit in units {
            total.add(unit.total)
            for (key, tally) in unit.languages { languages[key, default: PretrainTally()].add(tally) }
            for (key, tally) in unit.inputs { inputs[key, default: PretrainTally()].add(tally) }
            for (key, count) in unit.rejectReasons { reasons[key, default: 0] += count }
            blankLines += unit.blankLines
            unitSeconds += unit.seconds
            quarantined += unit.quarantined
        }
        let complete = quarantined.isEmpty && job.items.allSatisfy { finishedItems.contains($0.index) }

        var shards: [DatasetDescription.Shard]?
        var npy: DatasetDescription.NpyFiles?
        let outputFiles: Int
        switch configuration.format {
        case .megatron:
            shards = try writeShards(units: units, complete: complete)
            outputFiles = shards!.count
        case .mmedlmNpy:
            npy = try writeNpyIndex(units: units)
            outputFiles = npy!.files
        }

        // rejected.jsonl: every unit's rejects in input order.
        let merged = try AtomicFileWriter(path: "\(output)/rejected.jsonl")
        for unit in units where unit.outputs.contains("rejected/\(unit.unit).jsonl") {
            try merged.write(try readWholeFile("\(output)/rejected/\(unit.unit).jsonl"))
        }
        try merged.commit()

        let settings = configuration.sequences
        let tokenizer = configuration.tokenizer
        let special = tokenizer.tokenizer.specialTokens
        let description = DatasetDescription(
            format: configuration.format.rawValue,
            complete: complete,
            mode: settings.mode.rawValue,
            window: settings.mode == .window ? settings.windowSize : nil,
            overlap: settings.mode == .window ? settings.overlap : nil,
            stride: settings.mode == .window ? settings.stride : nil,
            padID: settings.padID,
            padIDSource: configuration.padIDSource.rawValue,
            eosID: job.eos,
            lossMask: settings.lossMask.rawValue,
            lossMaskRule: settings.lossMask == .published
                ? "1 on every token, padding included (the original: labels = input ids)"
                : "1 on the document's tokens, 0 on the padding at the end of a window",
            dtype: configuration.format == .megatron ? MegatronDType.int32.name : "int64",
            tokenizer: .init(file: tokenizer.file, sha256: tokenizer.sha256, vocabSize: tokenizer.tokenizer.vocabularySize,
                             specialIDs: .init(bos: special.bos, eos: special.eos, pad: special.pad, unk: special.unk)),
            megatronDocuments: configuration.format == .megatron
                ? "one Megatron document per source document: its sequences (windows), in order; loss_mask_* has the same sequence lengths and document indices, dtype uint8"
                : nil,
            shards: shards,
            npy: npy,
            counts: .init(total: total, rejectReasons: reasons, blankLines: blankLines),
            languages: languages.isEmpty ? nil : languages,
            inputs: inputs,
            quarantined: quarantined,
            itemsPlanned: job.items.count,
            itemsDone: finishedItems.count,
            unitsDone: units.count,
            commandLine: configuration.commandLine,
            timings: ["this_run_wall_seconds": (wallSeconds * 1000).rounded() / 1000, "unit_seconds_total": (unitSeconds * 1000).rounded() / 1000])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try AtomicFileWriter.write(Array(try encoder.encode(description)) + [0x0A], to: "\(output)/dataset.json")

        if complete { removeLeftovers() }
        return Result(total: total, rejectReasons: reasons, complete: complete, quarantined: quarantined, outputFiles: outputFiles)
    }

    /// A finished run re-run: checks that what `dataset.json` lists is there, and removes what an interrupted clean-up
    /// left.
    func verifyFinished() throws -> Result {
        let path = "\(output)/dataset.json"
        let description: DatasetDescription
        do { description = try JSONDecoder().decode(DatasetDescription.self, from: Data(try readWholeFile(path))) } catch {
            throw PretrainError("\(path): unreadable (\(error)); delete it to assemble the outputs again")
        }
        for shard in description.shards ?? [] {
            for file in [shard.prefix + ".bin", shard.prefix + ".idx", shard.lossMaskPrefix + ".bin", shard.lossMaskPrefix + ".idx"] where !fileExists("\(output)/\(file)") {
                throw PretrainError("\(output)/\(file) is missing, and the parts it was made from were removed when the run completed; delete \(output) to start over")
            }
        }
        if let npy = description.npy, !fileExists("\(output)/\(npy.index)") {
            throw PretrainError("\(output)/\(npy.index) is missing; delete \(output)/dataset.json to write it again")
        }
        removeLeftovers()
        return Result(total: description.counts.total, rejectReasons: description.counts.rejectReasons, complete: true, quarantined: [],
                      outputFiles: description.shards?.count ?? description.npy?.files ?? 0)
    }

    /// Once every item is done no writer can be active: the token parts (now in the shards) and temporary files that
    /// interrupted runs left can go. The small per-unit index parts (`.sequences`, `.npy.jsonl`) stay, so that a unit
    /// whose marker is lost can be redone and the shards checked against their plan without the token parts.
    private func removeLeftovers() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(output)/parts")) ?? [] where name.hasSuffix(".tokens") {
            removeFile("\(output)/parts/\(name)")
        }
        for sub in ["", "parts", "rejected", "units", "items", "quarantine", "shards", "npy"] {
            let directory = sub.isEmpty ? output : "\(output)/\(sub)"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
                removeFile("\(directory)/\(name)")
            }
        }
    }

    // MARK: Megatron

    /// Cuts the documents of `units` into shards of about `shardBytes` of tokens (a shard ends before the document that
    /// would take it past the limit; a larger document has a shard to itself) and writes those whose marker does not
    /// match. With `complete`, each unit's token part is removed once the shards holding its documents are written.
    private func writeShards(units: [PretrainUnitReport], complete: Bool) throws -> [DatasetDescription.Shard] {
        // The sequence parts are read one unit at a time (twice: to plan, then to build), so that memory holds one unit's
        // and one shard's index, whatever the size of the corpus.
        var cached: (unit: String, sequences: UnitSequences)?
        func sequences(of unit: String) throws -> UnitSequences {
            if let cached, cached.unit == unit { return cached.sequences }
            let path = "\(output)/parts/\(unit).sequences"
            guard fileExists(path) else {
                throw PretrainError("\(path) is missing; delete units/\(unit).json to redo that unit, or delete \(output) to start over")
            }
            let loaded = try UnitSequences(parsing: try readWholeFile(path), file: path)
            cached = (unit, loaded)
            return loaded
        }
        var documentsOfUnit: [String: Int] = [:]
        let plans = try planShards(units: units.map(\.unit)) { unit in
            let loaded = try sequences(of: unit)
            documentsOfUnit[unit] = loaded.documentSequenceCounts.count
            return loaded
        }

        let copyBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
        defer { copyBuffer.deallocate() }
        var shards: [DatasetDescription.Shard] = []
        let unitIndex = Dictionary(uniqueKeysWithValues: units.enumerated().map { ($1.unit, $0) })
        var tokenPartsRemoved = 0
        for plan in plans {
            let tokensPrefix = Self.shardName("tokens", plan.shard), maskPrefix = Self.shardName("loss_mask", plan.shard)
            let markerPath = "\(output)/shards/\(Self.shardName("shard", plan.shard)).json"
            let sequenceCount = plan.sequences, documentIndexCount = plan.documents + 1
            let indexBytes = Int64(34 + sequenceCount * 12 + documentIndexCount * 8)
            let existing = (try? readWholeFile(markerPath)).flatMap { try? JSONDecoder().decode(ShardPlan.self, from: Data($0)) }
            let upToDate = existing == plan
                && fileSize("\(output)/\(tokensPrefix).bin") == plan.tokens * 4 && fileSize("\(output)/\(tokensPrefix).idx") == indexBytes
                && fileSize("\(output)/\(maskPrefix).bin") == plan.tokens && fileSize("\(output)/\(maskPrefix).idx") == indexBytes
            if !upToDate {
                removeFile(markerPath)
                var lengths: [Int32] = [], padding: [Int32] = [], documentIndices: [Int64] = [0]
                lengths.reserveCapacity(sequenceCount)
                padding.reserveCapacity(sequenceCount)
                documentIndices.reserveCapacity(documentIndexCount)
                let tokens = try AtomicFileWriter(path: "\(output)/\(tokensPrefix).bin")
                for segment in plan.segments {
                    let unitSequences = try sequences(of: segment.unit)
                    lengths += unitSequences.lengths[segment.firstSequence..<segment.endSequence]
                    padding += unitSequences.padding[segment.firstSequence..<segment.endSequence]
                    for count in unitSequences.documentSequenceCounts[segment.firstDocument..<segment.endDocument] {
                        documentIndices.append(documentIndices.last! + Int64(count))
                    }
                    let part = "\(output)/parts/\(segment.unit).tokens"
                    guard fileExists(part) else {
                        throw PretrainError("\(part) is missing (removed after an earlier run completed); delete \(output) to start over")
                    }
                    try copyFileRange(part, offset: segment.byteOffset, count: segment.byteCount, to: tokens, buffer: copyBuffer)
                }
                try tokens.commit()
                try AtomicFileWriter.write(MegatronIndex(dtype: .int32, sequenceLengths: lengths, documentIndices: documentIndices).serialized(),
                                           to: "\(output)/\(tokensPrefix).idx")
                try writeLossMask(lengths: lengths, padding: padding, to: "\(output)/\(maskPrefix).bin")
                try AtomicFileWriter.write(MegatronIndex(dtype: .uint8, sequenceLengths: lengths, documentIndices: documentIndices).serialized(),
                                           to: "\(output)/\(maskPrefix).idx")
                try AtomicFileWriter.write(Array(try JSONEncoder.sorted.encode(plan)), to: markerPath)
            }
            shards.append(.init(prefix: tokensPrefix, lossMaskPrefix: maskPrefix, sequences: plan.sequences, documents: plan.documents, tokens: plan.tokens))
            if complete, let last = plan.segments.last {
                // Units before the shard's last one are wholly in this or earlier shards; so is the last one if its final
                // document is here. Their token parts are no longer needed.
                let lastIndex = unitIndex[last.unit]!
                let end = last.endDocument == documentsOfUnit[last.unit] ? lastIndex + 1 : lastIndex
                while tokenPartsRemoved < end {
                    removeFile("\(output)/parts/\(units[tokenPartsRemoved].unit).tokens")
                    tokenPartsRemoved += 1
                }
            }
        }
        // Shards of an earlier assembly beyond the new count.
        for directory in [output, "\(output)/shards"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                for kind in ["tokens_", "loss_mask_", "shard_"] where name.hasPrefix(kind) {
                    let digits = name.dropFirst(kind.count).prefix { $0.isNumber }
                    if let index = Int(digits), index >= plans.count { removeFile("\(directory)/\(name)") }
                }
            }
        }
        return shards
    }

    /// Cuts the documents of `units` (in order) into shards: a shard ends before the document that would take it past
    /// `shardBytes` of tokens, so no document is split; a document larger than that has a shard to itself.
    func planShards(units: [String], sequences: (String) throws -> UnitSequences) throws -> [ShardPlan] {
        let limit = max(1, configuration.shardBytes / 4)
        var plans: [ShardPlan] = []
        var current = ShardPlan(shard: 0)
        for unit in units {
            let parts = try sequences(unit)
            var sequence = 0
            var byteOffset: Int64 = 0
            for (document, count) in parts.documentSequenceCounts.enumerated() {
                let end = sequence + Int(count)
                let tokens = parts.lengths[sequence..<end].reduce(Int64(0)) { $0 + Int64($1) }
                if current.tokens > 0 && current.tokens + tokens > limit {
                    plans.append(current)
                    current = ShardPlan(shard: plans.count)
                }
                if var last = current.segments.last, last.unit == unit {
                    last.endDocument = document + 1
                    last.endSequence = end
                    last.byteCount += tokens * 4
                    current.segments[current.segments.count - 1] = last
                } else {
                    current.segments.append(.init(unit: unit, firstDocument: document, endDocument: document + 1, firstSequence: sequence,
                                                  endSequence: end, byteOffset: byteOffset, byteCount: tokens * 4))
                }
                current.sequences += Int(count)
                current.documents += 1
                current.tokens += tokens
                sequence = end
                byteOffset += tokens * 4
            }
        }
        if current.documents > 0 { plans.append(current) }
        return plans
    }

    /// The loss mask of sequences given by their lengths and trailing padding.
    private func writeLossMask(lengths: [Int32], padding: [Int32], to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        let chunk = 1 << 16
        let ones = [UInt8](repeating: 1, count: chunk), zeros = [UInt8](repeating: 0, count: chunk)
        func repeated(_ value: [UInt8], _ count: Int) throws {
            var left = count
            while left > 0 {
                let take = min(left, chunk)
                try value.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<take])) }
                left -= take
            }
        }
        for (length, pad) in zip(lengths, padding) {
            let masked = configuration.sequences.lossMask == .excludePadding ? Int(pad) : 0
            try repeated(ones, Int(length) - masked)
            try repeated(zeros, masked)
        }
        try writer.commit()
    }

    // MARK: npy

    private func writeNpyIndex(units: [PretrainUnitReport]) throws -> DatasetDescription.NpyFiles {
        let index = try AtomicFileWriter(path: "\(output)/npy-index.jsonl")
        var files = 0
        for unit in units {
            let path = "\(output)/parts/\(unit.unit).npy.jsonl"
            guard fileExists(path) else {
                throw PretrainError("\(path) is missing; delete units/\(unit.unit).json to redo that unit")
            }
            let bytes = try readWholeFile(path)
            files += bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            try index.write(bytes)
        }
        try index.commit()
        return .init(directory: "npy", files: files, index: "npy-index.jsonl")
    }
}
