import Dispatch
import Foundation
import MMedCorpus
import MMedIO
import MMedTokenizers
import Parquet
import Synchronization

/// The shard formats `mmed pretrain prepare` writes.
public enum PretrainOutputFormat: String, Sendable, Codable, CaseIterable {
    /// Megatron-Core indexed datasets: `tokens_NNNNN.bin/.idx` (int32) and `loss_mask_NNNNN.bin/.idx` (uint8).
    case megatron
    /// The original's one int64 `.npy` per window.
    case mmedlmNpy = "mmedlm-npy"
}

/// Where the pad id came from.
public enum PadIDSource: String, Sendable, Codable {
    case option = "--pad-id"
    case tokenizerPad = "tokenizer pad token"
    case tokenizerEOS = "tokenizer EOS token (the tokenizer has no pad token)"
}

/// The pad id to use: `explicit` if given, else the tokenizer's pad token, else its EOS (Llama 2 and 3 have no pad token,
/// where the original fails). Nil when there is none of the three.
public func resolvePadID(explicit: Int32?, specialTokens: SpecialTokenIDs) -> (id: Int32, source: PadIDSource)? {
    if let explicit { return (explicit, .option) }
    if let pad = specialTokens.pad { return (pad, .tokenizerPad) }
    if let eos = specialTokens.eos { return (eos, .tokenizerEOS) }
    return nil
}

/// The tokenizer of a run, with what identifies it in the manifest and `dataset.json`.
public struct PretrainTokenizer: Sendable {
    public var tokenizer: any Tokenizer
    /// The file it was loaded from.
    public var file: String
    /// SHA-256 of that file, hex.
    public var sha256: String

    public init(tokenizer: any Tokenizer, file: String, sha256: String) {
        self.tokenizer = tokenizer
        self.file = file
        self.sha256 = sha256
    }
}

/// Everything a `mmed pretrain prepare` run needs.
public struct PretrainConfiguration: Sendable {
    public var inputs: [InputFile]
    public var outputDirectory: String
    public var tokenizer: PretrainTokenizer
    public var sequences: SequenceSettings
    public var padIDSource: PadIDSource
    public var format: PretrainOutputFormat = .megatron
    /// JSON field (Parquet column) holding the text.
    public var textField = "text"
    /// JSON field (Parquet column) holding a language code, counted per language where present.
    public var languageField: String? = "lang"
    public var workers = 1
    /// Input bytes per work unit (at most 64 MiB): what a restart may redo.
    public var unitBytes = 16 << 20
    /// Megatron: token bytes per shard; a shard ends at the first document boundary that reaches it.
    public var shardBytes: Int64 = 1 << 30
    /// The command line, recorded in `dataset.json`.
    public var commandLine: [String] = []

    public init(inputs: [InputFile], outputDirectory: String, tokenizer: PretrainTokenizer, sequences: SequenceSettings,
                padIDSource: PadIDSource) {
        self.inputs = inputs
        self.outputDirectory = outputDirectory
        self.tokenizer = tokenizer
        self.sequences = sequences
        self.padIDSource = padIDSource
    }
}

/// Why a run cannot start or finish; the message names the file and says what to do.
public struct PretrainError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Live counters for a progress display.
public final class PretrainProgress: WorkProgressReporting {
    public let totalFileBytes: Atomic<Int64> = .init(0)
    public let fileBytesRead: Atomic<Int64> = .init(0)
    public let textBytes: Atomic<Int64> = .init(0)
    public let documents: Atomic<Int> = .init(0)
    public let tokens: Atomic<Int64> = .init(0)
    public init() {}

    public func setTotalFileBytes(_ bytes: Int64) { totalFileBytes.store(bytes, ordering: .relaxed) }
    public func addFileBytesRead(_ bytes: Int64) { fileBytesRead.add(bytes, ordering: .relaxed) }
}

/// What a run did, for the command line.
public struct PretrainRunSummary: Sendable {
    public var total: PretrainTally
    public var rejectReasons: [String: Int]
    /// Every input was read (none is quarantined).
    public var complete: Bool
    /// The output directory already held the finished run: nothing was done.
    public var alreadyComplete: Bool
    public var quarantined: [Quarantine]
    public var unitsProcessed: Int
    public var unitsSkipped: Int
    /// Megatron shards (token files) written, or npy files.
    public var outputFiles: Int
    public var wallSeconds: Double
}

/// Tokenizes a corpus into training sequences: plans work units (MMedCorpus' `WorkRunner`), tokenizes each unit's
/// documents on worker threads into per-unit parts, then assembles the parts in input order into shards. Re-running
/// redoes only unfinished units; outputs do not depend on the number of workers.
public final class PretrainJob: Sendable {
    public let configuration: PretrainConfiguration
    let items: [PlanItem]
    let eos: Int32
    let naming: NpyNaming

    public init(configuration: PretrainConfiguration) throws {
        guard 1.littleEndian == 1 else { throw PretrainError("token files are written little-endian from memory: a big-endian host is not supported") }
        if let problem = configuration.sequences.problem { throw PretrainError(problem) }
        guard let eos = configuration.tokenizer.tokenizer.specialTokens.eos else {
            throw PretrainError("\(configuration.tokenizer.file): the tokenizer has no EOS token, which ends every document")
        }
        let vocabulary = configuration.tokenizer.tokenizer.vocabularySize
        let pad = configuration.sequences.padID
        if pad < 0 || (vocabulary > 0 && Int(pad) >= vocabulary) {
            throw PretrainError("pad id \(pad) is outside the tokenizer's vocabulary (0..<\(vocabulary)); give --pad-id with an id of the tokenizer")
        }
        guard configuration.unitBytes > 0 && configuration.unitBytes <= 64 << 20 else { throw PretrainError("the unit size must be between 1 byte and 64 MiB") }
        guard configuration.shardBytes > 0 else { throw PretrainError("the shard size must be positive") }
        self.configuration = configuration
        self.eos = eos
        items = PlanItem.plan(configuration.inputs, unitBytes: configuration.unitBytes)
        naming = NpyNaming(inputs: configuration.inputs.map(\.path))
    }

    var output: String { configuration.outputDirectory }

    /// The settings that must match for a re-run to reuse an output directory.
    func manifest() -> [String: Any] {
        let settings = configuration.sequences
        return [
            "format": "mmedkit-pretrain-prepare/1",
            "inputs": configuration.inputs.map { ["path": $0.path, "format": $0.format.rawValue, "compression": $0.compression.rawValue] },
            "output_format": configuration.format.rawValue,
            "mode": settings.mode.rawValue,
            "window": settings.mode == .window ? settings.windowSize as Any : NSNull(),
            "overlap": settings.mode == .window ? settings.overlap as Any : NSNull(),
            "pad_id": Int(settings.padID),
            "loss_mask": settings.lossMask.rawValue,
            "tokenizer_sha256": configuration.tokenizer.sha256,
            "text_field": configuration.textField,
            "lang_field": configuration.languageField ?? NSNull(),
            "unit_bytes": configuration.unitBytes,
            "shard_bytes": configuration.format == .megatron ? configuration.shardBytes as Any : NSNull(),
        ]
    }

    private func prepareOutputDirectory() throws {
        for sub in ["", "parts", "rejected", "units", "items", "quarantine"] + (configuration.format == .mmedlmNpy ? ["npy"] : ["shards"]) {
            try createDirectories(sub.isEmpty ? output : "\(output)/\(sub)")
        }
        let manifestPath = "\(output)/run.json"
        let data = try JSONSerialization.data(withJSONObject: manifest(), options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        if fileExists(manifestPath) {
            let existing = try readWholeFile(manifestPath)
            if existing != Array(data) {
                let old = (try? JSONSerialization.jsonObject(with: Data(existing))) as? [String: Any] ?? [:]
                let new = manifest()
                let differing = new.keys.sorted().filter { key in
                    let a = try? JSONSerialization.data(withJSONObject: [key: new[key]!], options: .sortedKeys)
                    let b = old[key].flatMap { try? JSONSerialization.data(withJSONObject: [key: $0], options: .sortedKeys) }
                    return a != b
                }
                throw PretrainError("\(output) holds a run made with other settings (\(differing.isEmpty ? "run.json" : differing.joined(separator: ", ")) differ); use a new --output directory, or delete it to start over")
            }
        } else if fileExists("\(output)/dataset.json") || !((try? FileManager.default.contentsOfDirectory(atPath: "\(output)/units")) ?? []).isEmpty {
            throw PretrainError("\(output) holds output without its run.json; use a new --output directory, or delete it to start over")
        } else {
            try AtomicFileWriter.write(Array(data), to: manifestPath)
        }
    }

    /// Makes the runner redo what is not wholly done: an item whose marker lists a unit that has no marker (deleted by
    /// hand), and a unit that quarantined a corrupt file of its group (the file may have been repaired since).
    private func reopenUnfinishedItems() {
        let decoder = JSONDecoder()
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: "\(output)/units")) ?? []) where name.hasSuffix(".json") && !name.hasPrefix(".") {
            guard let bytes = try? readWholeFile("\(output)/units/\(name)"),
                  let report = try? decoder.decode(PretrainUnitReport.self, from: Data(bytes)) else { continue }
            if !report.quarantined.isEmpty {
                removeFile("\(output)/units/\(name)")
                removeFile("\(output)/items/\(PlanItem.name(report.item)).json")
            }
        }
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: "\(output)/items")) ?? []) where name.hasSuffix(".json") && !name.hasPrefix(".") {
            guard let bytes = try? readWholeFile("\(output)/items/\(name)"),
                  let report = try? decoder.decode(ItemReport.self, from: Data(bytes)) else { continue }
            if !report.units.allSatisfy({ fileExists("\(output)/units/\($0).json") }) { removeFile("\(output)/items/\(name)") }
        }
    }

    /// Whether `dataset.json` records a finished run and every item is done: a re-run has nothing to do.
    private func isAlreadyComplete() -> Bool {
        guard let bytes = try? readWholeFile("\(output)/dataset.json"),
              let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              object["complete"] as? Bool == true else { return false }
        return items.allSatisfy { fileExists("\(output)/items/\(PlanItem.name($0.index)).json") }
    }

    /// Runs the job: the units that are not done, then the assembly of the shards.
    public func run(progress: PretrainProgress? = nil) throws -> PretrainRunSummary {
        let started = DispatchTime.now()
        try prepareOutputDirectory()
        reopenUnfinishedItems()
        if isAlreadyComplete() {
            let assembled = try PretrainAssembler(job: self).verifyFinished()
            return PretrainRunSummary(total: assembled.total, rejectReasons: assembled.rejectReasons, complete: true, alreadyComplete: true,
                                      quarantined: [], unitsProcessed: 0, unitsSkipped: 0, outputFiles: assembled.outputFiles,
                                      wallSeconds: seconds(since: started))
        }
        var settings = WorkPlanSettings(inputs: configuration.inputs, outputDirectory: output)
        settings.workers = configuration.workers
        settings.unitBytes = configuration.unitBytes
        let runner = WorkRunner(settings: settings, items: items, processor: PretrainUnitProcessor(job: self, progress: progress))
        let counts: WorkRunCounts
        do { counts = try runner.run(progress: progress) } catch let error as WorkRunError {
            throw PretrainError(error.message)
        }
        let assembled = try PretrainAssembler(job: self).assemble(wallSeconds: seconds(since: started))
        return PretrainRunSummary(total: assembled.total, rejectReasons: assembled.rejectReasons, complete: assembled.complete,
                                  alreadyComplete: false, quarantined: assembled.quarantined, unitsProcessed: counts.unitsProcessed,
                                  unitsSkipped: counts.unitsSkipped, outputFiles: assembled.outputFiles, wallSeconds: seconds(since: started))
    }

    /// Removes what the units of a quarantined item wrote, npy windows included.
    func removeUnitOutputs(ofItem item: Int) {
        let prefix = PlanItem.name(item) + "-"
        if configuration.format == .mmedlmNpy {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: "\(output)/parts")) ?? []) where name.hasPrefix(prefix) && name.hasSuffix(".npy.jsonl") {
                for file in npyFiles(listedIn: "\(output)/parts/\(name)") { removeFile("\(output)/\(file)") }
            }
        }
        removeFiles(in: "\(output)/parts", withPrefix: prefix)
        removeFiles(in: "\(output)/rejected", withPrefix: prefix)
    }

    /// The `file` values of an npy index (part), relative to the output directory.
    func npyFiles(listedIn path: String) -> [String] {
        guard let bytes = try? readWholeFile(path) else { return [] }
        return bytes.split(separator: 0x0A).compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])?["file"] as? String
        }
    }
}

/// The job's side of the work-unit machinery.
struct PretrainUnitProcessor: WorkUnitProcessor {
    let job: PretrainJob
    let progress: PretrainProgress?

    func prepareParquet(_ file: ParquetFile, input: InputFile) throws -> PretrainParquetColumns {
        try PretrainParquetColumns(file: file, textField: job.configuration.textField, languageField: job.configuration.languageField)
    }

    func process(_ unit: WorkUnit<PretrainParquetColumns>) throws -> PretrainUnitReport {
        let writer = try PretrainUnitWriter(job: job, unit: unit.name, item: unit.item, progress: progress)
        do {
            switch unit.source {
            case .lines(let chunk, let file):
                try writer.readLines(chunk.bytes, firstLine: chunk.firstLine, firstOffset: chunk.firstOffset,
                                     lastLineHasNewline: chunk.lastLineHasNewline, file: file)
            case .files(let files):
                try writer.readFiles(files)
            case .parquetRowGroup(let group):
                try writer.readRowGroup(group)
            }
            return try writer.finish()
        } catch {
            // Parts not committed vanish with their writers; the npy windows are already in place and must go too.
            writer.discardWrittenFiles()
            throw error
        }
    }

    func removeOutputs(ofItem item: Int) { job.removeUnitOutputs(ofItem: item) }
}

