import ArgumentParser
import Dispatch
import Foundation
import MMedCorpus
import MMedIO
import MMedText

struct CorpusFilter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter",
        abstract: "Keep medical documents: MKC (distinct keywords found) and DENS (keyword characters / text length) against per-language thresholds.",
        discussion: """
        Inputs: JSONL (.jsonl, .ndjson, .json; optionally .gz or .zst) with a text field, Parquet (.parquet, e.g. \
        CulturaX or FineWeb shards: one document per row, the text in a string column, each row group a work unit), \
        and .txt files (one document each); directories are searched recursively; glob patterns are expanded.
        Output directory: kept/*.jsonl.zst (input records unchanged, in input order; Parquet rows as JSON objects of \
        their flat columns), attributes/*.jsonl.zst (one row per document: file, line, offset (a Parquet row's index), \
        id, lang, mkc, keyword_chars, length, density, decision), rejected.jsonl, stats.json, and dropped/*.jsonl.zst \
        with --write-dropped. A re-run with the same settings resumes.
        """
    )

    @Option(name: .customLong("input"), parsing: .upToNextOption, help: "Input files, directories or glob patterns.")
    var inputs: [String] = []

    @Option(help: "Output directory.")
    var output: String

    @Option(help: "Language of every document: \(Language.supportedCodes) (jp is accepted for ja); with --lang-field, of documents without that field.")
    var lang: String?

    @Option(help: "Take each document's language from this JSON field (or Parquet column) instead of --lang.")
    var langField: String?

    @Option(help: "A keyword list (one keyword per line, # comments) instead of MMedKit's bundled list; needs --lang.")
    var keywords: String?

    @Option(help: "Use a published keyword preset: mmedlm (the original MMedLM lists and thresholds; needs --keywords-file).")
    var keywordsPreset: String?

    @Option(help: "The preset's file (for mmedlm: a JSON shaped like the original's mmedlm-keywords.json).")
    var keywordsFile: String?

    @Option(help: "Matching mode: paper (the paper's intent) or published (the original code's behaviour).")
    var mode: String = "paper"

    @Option(help: "Override the MKC threshold (distinct keywords a document must contain).")
    var minMkc: Int?

    @Option(help: "Override the DENS threshold (keyword characters per character of text).")
    var minDensity: Double?

    @Option(help: "JSON field (or Parquet column) holding the text.")
    var textField: String = "text"

    @Option(help: "JSON field (or Parquet column) holding a document id, copied into the attributes.")
    var idField: String = "id"

    @Option(help: "Worker threads scoring units (the default is the number of cores).")
    var workers: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Process only shard i of N (0-based, e.g. 3/16); default from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT.")
    var shard: String?

    @Option(help: "Input megabytes per work unit (1-64): what a restart may redo.")
    var unitMb: Int = 16

    @Flag(help: "Also write the dropped documents to dropped/.")
    var writeDropped = false

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Exit 0 even when some inputs (corrupt compressed or Parquet files) had to be quarantined.")
    var allowPartial = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one --input") }
        if lang == nil && langField == nil { throw ValidationError("give --lang, --lang-field, or both") }
        if let lang, Language(code: lang) == nil {
            throw ValidationError("unknown language '\(lang)'; supported: \(Language.supportedCodes)")
        }
        if keywords != nil && keywordsPreset != nil { throw ValidationError("give --keywords or --keywords-preset, not both") }
        if keywords != nil && langField != nil { throw ValidationError("--keywords FILE is one language's list: use it with --lang") }
        if let preset = keywordsPreset {
            guard preset == "mmedlm" else { throw ValidationError("unknown keyword preset '\(preset)'; available: mmedlm") }
            guard keywordsFile != nil else {
                throw ValidationError("--keywords-preset mmedlm needs --keywords-file PATH to the original lists (mmedlm-keywords.json); they are not bundled (CC BY-SA)")
            }
        } else if keywordsFile != nil {
            throw ValidationError("--keywords-file goes with --keywords-preset")
        }
        if MatchMode(rawValue: mode) == nil { throw ValidationError("unknown mode '\(mode)'; use paper or published") }
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if !(1...64).contains(unitMb) { throw ValidationError("--unit-mb must be between 1 and 64") }
        if let minDensity, !(minDensity >= 0) { throw ValidationError("--min-density must be a number >= 0") }
        _ = try parseShard()
    }

    func parseShard() throws -> (Int, Int) {
        if let shard {
            let parts = shard.split(separator: "/")
            guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (0..<count).contains(index) else {
                throw ValidationError("--shard must be i/N with 0 <= i < N, e.g. 0/4")
            }
            return (index, count)
        }
        let environment = ProcessInfo.processInfo.environment
        if let id = environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init),
           let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init), count >= 1 {
            let minimum = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
            let index = id - minimum
            guard (0..<count).contains(index) else {
                throw ValidationError("SLURM_ARRAY_TASK_ID \(id) is outside the array of \(count) tasks starting at \(minimum)")
            }
            return (index, count)
        }
        return (0, 1)
    }

    func run() throws {
        let matchMode = MatchMode(rawValue: mode)!
        let (shardIndex, shardCount) = try parseShard()
        let expanded: (files: [InputFile], skipped: [String])
        do { expanded = try expandInputs(inputs, excluding: [output]) } catch { throw CleanExit.message("error: \(error)", code: 2) }
        if lang == nil, let text = expanded.files.first(where: { $0.format == .text }) {
            throw CleanExit.message("error: \(text.path): text files carry no language field; give --lang (the language of documents without one)", code: 2)
        }
        if !quiet && !expanded.skipped.isEmpty {
            printError("note: skipped \(expanded.skipped.count) file(s) of unknown kind, e.g. \(expanded.skipped[0])")
        }

        let languages: [Language] = langField == nil ? [Language(code: lang!)!] : Language.allCases
        var filters: [Language: MedicalKeywordFilter] = [:]
        do {
            for language in languages {
                let list: KeywordList
                if let keywords {
                    list = try KeywordList.load(path: keywords)
                } else if keywordsPreset == "mmedlm" {
                    do { list = try KeywordList.mmedlm(jsonPath: keywordsFile!, language: language) } catch {
                        if langField != nil { continue }  // per-document languages: those without a list are rejected
                        throw error
                    }
                } else {
                    list = try KeywordList.bundled(language)
                }
                let base = list.thresholds ?? Thresholds.paper(language)
                guard let mkc = minMkc ?? base?.minKeywordCount, let density = minDensity ?? base?.minDensity else {
                    throw CleanExit.message("error: no thresholds for '\(language.rawValue)' with \(list.name); give --min-mkc and --min-density", code: 2)
                }
                filters[language] = MedicalKeywordFilter(list: list, language: language,
                                                         thresholds: Thresholds(minKeywordCount: mkc, minDensity: density), mode: matchMode)
            }
        } catch let error as KeywordListError {
            throw CleanExit.message("error: \(error)", code: 2)
        }

        var configuration = FilterJobConfiguration(inputs: expanded.files, outputDirectory: output,
                                                   language: lang.flatMap(Language.init(code:)), languageField: langField, filters: filters)
        configuration.textField = textField
        configuration.idField = idField
        configuration.workers = workers
        configuration.shardIndex = shardIndex
        configuration.shardCount = shardCount
        configuration.writeDropped = writeDropped
        configuration.unitBytes = unitMb << 20

        let job = CorpusFilterJob(configuration: configuration)
        let progress = FilterProgress()
        let started = DispatchTime.now()
        let status = StatusLine(enabled: !quiet && standardErrorIsTerminal) {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            let read = Double(progress.fileBytesRead.load(ordering: .relaxed))
            let total = Double(progress.totalFileBytes.load(ordering: .relaxed))
            let processed = Double(progress.bytesProcessed.load(ordering: .relaxed))
            let documents = Double(progress.documentsScored.load(ordering: .relaxed))
            let kept = Double(progress.documentsKept.load(ordering: .relaxed))
            let eta = read > 0 && total > read ? elapsed * (total - read) / read : 0
            return "filter: \(formatBytes(read)) / \(formatBytes(total)) read, "
                + "\(formatBytes(processed / max(elapsed, 1e-9)))/s, \(formatCount(documents / max(elapsed, 1e-9))) docs/s, "
                + "kept \(String(format: "%.2f", documents > 0 ? 100 * kept / documents : 0))%, ETA \(formatDuration(eta))"
        }
        let summary: FilterRunSummary
        do {
            summary = try job.run(progress: progress)
        } catch {
            status.stop()
            throw CleanExit.message("error: \(error)", code: 1)
        }
        status.stop()

        let total = summary.total
        if !quiet {
            printError("filter: \(total.documentsRead) documents read, \(total.documentsKept) kept (\(String(format: "%.2f", 100 * total.keepRate))%), "
                + "\(total.documentsDropped) dropped, \(total.documentsRejected) rejected; "
                + "\(summary.unitsProcessed) units processed, \(summary.unitsSkipped) already done"
                + (summary.unitsOfOtherShards > 0 ? ", \(summary.unitsOfOtherShards) left to other shards; " : "; ")
                + "\(String(format: "%.1f", summary.wallSeconds)) s\(summary.complete ? "" : " (other shards pending)")")
            printError("filter: statistics in \(output)/stats.json")
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

/// Ends the command with a message on standard error and an exit code.
enum CleanExit {
    static func message(_ text: String, code: Int32) -> ExitCode {
        printError(text)
        return ExitCode(code)
    }
}
