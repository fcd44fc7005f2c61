import ArgumentParser
import Dispatch
import Foundation
import MMedCorpus
import MMedIO
import MMedPretrain
import MMedTokenizers

/// `mmed pretrain`: pretraining data (token windows and shards).
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prepare pretraining data: tokenize a corpus into windows and write shards trainers read.",
        subcommands: [PretrainPrepare.self]
    )
}

struct PretrainPrepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenize documents (ids + EOS) into training sequences: 2048-token windows with a 512 overlap as MMedLM, or one per document.",
        discussion: """
        Inputs: JSONL (.jsonl, .ndjson, .json; optionally .gz or .zst) with a text field, Parquet (one document per row), \
        and .txt files (one document each); directories are searched recursively; glob patterns are expanded.
        Window mode (the original's rule): a document of fewer than W tokens is padded to W; a longer one gives windows \
        starting every W - O tokens, the last being its last W tokens.
        Output directory: Megatron tokens_NNNNN.bin/.idx (int32) and loss_mask_NNNNN.bin/.idx (uint8), or with \
        --format mmedlm-npy one int64 npy/<name>_<n>.npy per window and npy-index.jsonl; dataset.json (settings, \
        tokenizer, shards, counts), rejected.jsonl. A re-run with the same settings resumes; a finished run is left as it is.
        """
    )

    @Option(help: "The tokenizer: tokenizer.json, a tiktoken or SentencePiece tokenizer.model, or a directory holding one.")
    var tokenizer: String

    @Option(name: .customLong("input"), parsing: .upToNextOption, help: "Input files, directories or glob patterns.")
    var inputs: [String] = []

    @Option(help: "Output directory.")
    var output: String

    @Option(help: "window (windows of --window tokens, --overlap shared with the previous one) or document (one unpadded sequence per document).")
    var mode: String = "window"

    @Option(help: "Window mode: tokens per window (default 2048).")
    var window: Int?

    @Option(help: "Window mode: tokens shared by consecutive windows (default 512; the stride is window - overlap).")
    var overlap: Int?

    @Option(help: "The id that pads short documents (default: the tokenizer's pad token, else its EOS).")
    var padId: Int32?

    @Option(help: "exclude-padding (no loss on pad tokens) or published (loss on every token, as the original).")
    var lossMask: String = "exclude-padding"

    @Option(help: "megatron (Megatron .bin/.idx shards, int32) or mmedlm-npy (one int64 .npy per window, as the original).")
    var format: String = "megatron"

    @Option(help: "JSON field (or Parquet column) holding the text.")
    var textField: String = "text"

    @Option(help: "JSON field (or Parquet column) holding a language code: counts are also given per language.")
    var langField: String = "lang"

    @Option(help: "Megatron: token bytes per shard, with an optional K, M or G (binary) suffix; shards end between documents.")
    var shardSize: String = "1G"

    @Option(help: "Worker threads tokenizing units (the default is the number of cores).")
    var workers: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Input megabytes per work unit (1/16 to 64, fractions allowed): what a restart may redo.")
    var unitMb: Double = 16

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Exit 0 even when some inputs (corrupt compressed or Parquet files) had to be quarantined.")
    var allowPartial = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one --input") }
        guard let mode = SequenceMode(rawValue: mode) else { throw ValidationError("unknown mode '\(mode)'; use window or document") }
        if mode == .document && (window != nil || overlap != nil) {
            throw ValidationError("--window and --overlap apply to --mode window; document mode writes one unpadded sequence per document")
        }
        if LossMaskMode(rawValue: lossMask) == nil { throw ValidationError("unknown loss mask '\(lossMask)'; use exclude-padding or published") }
        if PretrainOutputFormat(rawValue: format) == nil { throw ValidationError("unknown format '\(format)'; use megatron or mmedlm-npy") }
        let settings = SequenceSettings(mode: mode, windowSize: window ?? 2048, overlap: overlap ?? 512, padID: 0)
        if let problem = settings.problem { throw ValidationError(problem.replacingOccurrences(of: "the window", with: "--window").replacingOccurrences(of: "the overlap", with: "--overlap")) }
        if let padId, padId < 0 { throw ValidationError("--pad-id must be a token id (>= 0)") }
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if !(unitMb >= 1.0 / 16 && unitMb <= 64) { throw ValidationError("--unit-mb must be between 0.0625 and 64") }
        _ = try parseShardSize()
    }

    func parseShardSize() throws -> Int64 {
        var text = shardSize.uppercased()
        if text.hasSuffix("IB") { text = String(text.dropLast(2)) } else if text.hasSuffix("B") { text = String(text.dropLast()) }
        var multiplier: Int64 = 1
        if let last = text.last, let shift = ["K": 10, "M": 20, "G": 30, "T": 40][String(last)] {
            multiplier = 1 << Int64(shift)
            text = String(text.dropLast())
        }
        guard let value = Int64(text), value > 0, value <= Int64.max / multiplier else {
            throw ValidationError("--shard-size must be a positive number of bytes, optionally with K, M, G or T (e.g. 1G, 512M)")
        }
        return value * multiplier
    }

    func run() throws {
        let expanded: (files: [InputFile], skipped: [String])
        do { expanded = try expandInputs(inputs, excluding: [output]) } catch { throw CleanExit.message("error: \(error)", code: 2) }
        if !quiet && !expanded.skipped.isEmpty {
            printError("note: skipped \(expanded.skipped.count) file(s) of unknown kind, e.g. \(expanded.skipped[0])")
        }

        let loaded: any Tokenizer
        let tokenizerFile: String
        do {
            tokenizerFile = try MMedTokenizers.tokenizerFile(at: tokenizer)
            loaded = try loadTokenizer(path: tokenizerFile)
        } catch { throw CleanExit.message("error: \(error)", code: 2) }
        let tokenizerBytes: [UInt8]
        do { tokenizerBytes = try readWholeFile(tokenizerFile) } catch { throw CleanExit.message("error: \(error)", code: 2) }
        guard let (padID, padSource) = resolvePadID(explicit: padId, specialTokens: loaded.specialTokens) else {
            throw CleanExit.message("error: \(tokenizerFile): the tokenizer has neither a pad nor an EOS token; give --pad-id", code: 2)
        }

        let settings = SequenceSettings(mode: SequenceMode(rawValue: mode)!, windowSize: window ?? 2048, overlap: overlap ?? 512,
                                        padID: padID, lossMask: LossMaskMode(rawValue: lossMask)!)
        var configuration = PretrainConfiguration(
            inputs: expanded.files, outputDirectory: output,
            tokenizer: PretrainTokenizer(tokenizer: loaded, file: tokenizerFile, sha256: SHA256.hex(tokenizerBytes)),
            sequences: settings, padIDSource: padSource)
        configuration.format = PretrainOutputFormat(rawValue: format)!
        configuration.textField = textField
        configuration.languageField = langField.isEmpty ? nil : langField
        configuration.workers = workers
        configuration.unitBytes = Int(unitMb * Double(1 << 20))
        configuration.shardBytes = try parseShardSize()
        configuration.commandLine = CommandLine.arguments

        let job: PretrainJob
        do { job = try PretrainJob(configuration: configuration) } catch { throw CleanExit.message("error: \(error)", code: 2) }
        let progress = PretrainProgress()
        let started = DispatchTime.now()
        let status = StatusLine(enabled: !quiet && standardErrorIsTerminal) {
            let elapsed = max(Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9, 1e-9)
            let read = Double(progress.fileBytesRead.load(ordering: .relaxed))
            let total = Double(progress.totalFileBytes.load(ordering: .relaxed))
            let text = Double(progress.textBytes.load(ordering: .relaxed))
            let documents = Double(progress.documents.load(ordering: .relaxed))
            let tokens = Double(progress.tokens.load(ordering: .relaxed))
            let eta = read > 0 && total > read ? elapsed * (total - read) / read : 0
            return "pretrain: \(formatBytes(read)) / \(formatBytes(total)) read, \(formatBytes(text / elapsed))/s of text, "
                + "\(formatCount(documents / elapsed)) docs/s, \(formatCount(tokens / elapsed)) tokens/s, ETA \(formatDuration(eta))"
        }
        let summary: PretrainRunSummary
        do {
            summary = try job.run(progress: progress)
        } catch {
            status.stop()
            throw CleanExit.message("error: \(error)", code: 1)
        }
        status.stop()

        if !quiet {
            let total = summary.total
            if summary.alreadyComplete {
                printError("pretrain: \(output) already holds the finished run; nothing to do")
            }
            let what = configuration.format == .megatron ? "\(summary.outputFiles) shard(s)" : "\(summary.outputFiles) npy file(s)"
            printError("pretrain: \(total.documentsRead) documents read, \(total.documentsTokenized) tokenized, \(total.documentsRejected) rejected; "
                + "\(total.tokens) tokens, \(total.sequences) sequences of \(total.sequenceTokens) tokens, "
                + "padding \(String(format: "%.2f", 100 * total.paddingShare))%; "
                + (summary.alreadyComplete ? "" : "\(summary.unitsProcessed) units processed, \(summary.unitsSkipped) already done; ")
                + "\(what); \(String(format: "%.1f", summary.wallSeconds)) s")
            if !summary.rejectReasons.isEmpty {
                printError("pretrain: rejected: " + summary.rejectReasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                    + " (see \(output)/rejected.jsonl)")
            }
            printError("pretrain: settings and counts in \(output)/dataset.json")
        }
        if !summary.quarantined.isEmpty {
            for entry in summary.quarantined {
                printError("quarantined: \(entry.error) (none of its documents were counted)")
            }
            if !allowPartial {
                throw CleanExit.message("error: \(summary.quarantined.count) input file(s) quarantined; fix or remove them and re-run (finished units are kept), or pass --allow-partial", code: 3)
            }
        }
    }
}
