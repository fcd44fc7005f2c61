import ArgumentParser
import Foundation
import MMedBench
import MMedIO
import MMedPretrain
import MMedText
import MMedTokenizers

/// `mmed bench`: the MMedBench dataset, its importers, SFT data, and scoring.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "MMedBench: import the source benchmarks, prepare SFT data, score results files, compare runs.",
        subcommands: [BenchImport.self, BenchStats.self, BenchPrepare.self, BenchPrompts.self, BenchScoreCommand.self,
                      BenchCompare.self, BenchImportResults.self, BenchRun.self]
    )
}

extension BenchSource: ExpressibleByArgument {}
extension BenchSplit: ExpressibleByArgument {}
extension ScoreMode: ExpressibleByArgument {}
extension AnswerExtraction: ExpressibleByArgument {}
extension BenchPrompt.Variant: ExpressibleByArgument {}

func benchLanguage(_ code: String) throws -> Language {
    guard let language = BenchLanguages.language(named: code) else {
        throw ValidationError("'\(code)' is not an MMedBench language (en, zh, ja, fr, ru, es)")
    }
    return language
}

/// A dataset folder, its format errors as usage errors (they name the file, line and field).
func loadDataset(_ directory: String, splits: [BenchSplit] = BenchSplit.allCases, languages: [Language] = BenchLanguages.all) throws -> BenchDataset {
    do { return try BenchDataset(directory: directory, splits: splits, languages: languages) } catch let error as BenchFormatError {
        throw ValidationError(error.description)
    }
}

struct BenchImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a source benchmark's native files into MMedBench records (Train/ and Test/ <Language>.jsonl).",
        discussion: "Each source file goes to the MMedBench split it corresponds to (docs/mmedbench-sources.md); files MMedBench did not use are reported and skipped unless --split is given. Questions that need an image are excluded and counted unless --include-image-questions."
    )

    @Option(help: "The source: \(BenchSource.allCases.map(\.rawValue).joined(separator: ", ")).")
    var source: BenchSource

    @Argument(help: "Source files, or folders to search for them.")
    var paths: [String]

    @Option(help: "The dataset folder to write.")
    var output: String

    @Option(help: "Put every file into this split (train or test) instead of the source's mapping.")
    var split: BenchSplit?

    @Option(help: "The language where a source has two (MedQA: en or zh; HEAD-QA: es or en); told from the data otherwise.")
    var language: String?

    @Flag(help: "Keep questions that need an image (HEAD-QA, IgakuQA).")
    var includeImageQuestions = false

    func run() throws {
        let options = ImportOptions(split: split, language: try language.map(benchLanguage), includeImageQuestions: includeImageQuestions)
        let report: ImportReport
        do {
            report = try BenchImporter.run(source: source, paths: paths, output: output, options: options)
        } catch let error as BenchFormatError {
            throw ValidationError(error.description)
        }
        var files: [JSONValue] = []
        for file in report.files {
            let excluded = file.excluded.sorted { $0.key < $1.key }
            let target = file.split.map { "\($0.folder)/\(file.language?.englishName ?? "?").jsonl" } ?? "skipped"
            print("\(file.path): read \(file.read), imported \(file.imported) → \(target)"
                + excluded.map { ", \($0.value) \($0.key)" }.joined())
            files.append(.object([
                ("path", .string(file.path)), ("split", file.split.map { .string($0.rawValue) } ?? .null),
                ("language", file.language.map { .string($0.rawValue) } ?? .null),
                ("read", .number(Double(file.read))), ("imported", .number(Double(file.imported))),
                ("excluded", .object(excluded.map { ($0.key, JSONValue.number(Double($0.value))) })),
            ]))
        }
        print("total: read \(report.read), imported \(report.imported)"
            + report.excluded.sorted { $0.key < $1.key }.map { ", \($0.value) \($0.key)" }.joined())
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        try AtomicFileWriter.write(JSONValue.object([
            ("source", .string(source.rawValue)), ("files", .array(files)),
        ]).jsonText + "\n", to: output + "/import-\(source.rawValue).json")
    }
}

struct BenchStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Counts per language and split, and average lengths (code points).")

    @Argument(help: "A dataset folder (Train/ and Test/ with <Language>.jsonl).")
    var directory: String

    func run() throws {
        print(BenchStatistics(try loadDataset(directory)).table)
    }
}

struct BenchPrepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Write SFT data: both forms of every item (rationale, direct answer), shuffled with a seed, as Alpaca JSONL and chat messages, or tokenized.",
        discussion: """
            Text (default): --output is the Alpaca JSONL file; --format alpaca, chat or both.
            Tokenized (--tokenized --tokenizer PATH): --output is a folder; --format megatron (tokens_NNNNN and loss_mask_NNNNN \
            .bin/.idx, sequences.jsonl, dataset.json) or jsonl (sft.jsonl: id, language, form, input_ids, labels with -100 on \
            the prompt; dataset.json). Each example is tokenized as MMedLM's finetune/train.py does: the prompt and \
            prompt + target + EOS, each with the tokenizer's BOS; the prompt's positions are not trained. Examples longer than \
            --max-length are left out and listed in dataset.json; --published cuts them as the original does and also gives \
            items without a rationale the rationale form (empty rationale).
            """
    )

    @Argument(help: "A dataset folder.")
    var directory: String

    @Option(help: "The split to export.")
    var split: BenchSplit = .train

    @Option(help: "Text: the Alpaca JSONL file to write (chat messages go beside it as <name>.chat.jsonl). Tokenized: the folder to write.")
    var output: String

    @Option(help: "Text: alpaca, chat, or both (default). Tokenized: megatron (default) or jsonl.")
    var format: String?

    @Option(help: "The shuffle seed.")
    var seed: UInt64 = 42

    @Option(help: "Text only: appended to every target, e.g. </s> (default: none; trainers append their tokenizer's EOS).")
    var eos: String = ""

    @Option(help: "The instruction text: training (finetune/train.py) or inference (inference.py: two spaces).")
    var variant: BenchPrompt.Variant = .training

    @Option(parsing: .upToNextOption, help: "Languages to include (default: all six).")
    var languages: [String] = []

    @Flag(help: "Write token ids and loss masks (needs --tokenizer) instead of text.")
    var tokenized = false

    @Option(help: "Tokenized: tokenizer.json, a tiktoken or SentencePiece tokenizer.model, or a directory holding one.")
    var tokenizer: String?

    @Option(help: "Tokenized: the longest sequence, in tokens (the original's model_max_length, 2048).")
    var maxLength: Int = 2048

    @Option(help: "Tokenized, megatron: shard size in bytes of tokens, optionally with K, M or G (default 1G).")
    var shardSize: String = "1G"

    @Flag(help: "The original's behaviour: over-long examples cut to --max-length, and the rationale form for items without a rationale.")
    var published = false

    func run() throws {
        let wanted = languages.isEmpty ? BenchLanguages.all : try languages.map(benchLanguage)
        if tokenized {
            try runTokenized(wanted)
            return
        }
        let format = self.format ?? "both"
        guard ["alpaca", "chat", "both"].contains(format) else {
            throw ValidationError("--format must be alpaca, chat or both (megatron and jsonl need --tokenized)")
        }
        guard tokenizer == nil else { throw ValidationError("--tokenizer needs --tokenized") }
        let dataset = try loadDataset(directory, splits: [split], languages: wanted)
        guard !dataset.files.isEmpty else { throw ValidationError("\(directory)/\(split.folder): no <Language>.jsonl files") }
        let stem = output.hasSuffix(".jsonl") ? String(output.dropLast(6)) : output
        let alpaca = format == "chat" ? nil : output
        let chat = format == "alpaca" ? nil : (format == "chat" ? output : stem + ".chat.jsonl")
        let report = try SFTExport(seed: seed, eos: eos, variant: variant, published: published).write(dataset.files, alpacaPath: alpaca, chatPath: chat)
        print("\(report.items) items → \(report.records) records (\(report.withoutRationale) items without a rationale: "
            + (published ? "rationale form with an empty rationale too)" : "direct form only)"))
        for path in [alpaca, chat].compactMap({ $0 }) { print("wrote \(path)") }
    }

    private func runTokenized(_ wanted: [Language]) throws {
        let format = self.format ?? "megatron"
        guard let outputFormat = SupervisedDatasetWriter.Format(rawValue: format) else {
            throw ValidationError("--format must be megatron or jsonl with --tokenized")
        }
        guard let tokenizer else { throw ValidationError("--tokenized needs --tokenizer") }
        guard eos.isEmpty else { throw ValidationError("--eos is for text output; tokenized targets end with the tokenizer's EOS id") }
        guard maxLength > 0 else { throw ValidationError("--max-length must be positive") }
        let shardBytes = try parseShardSize(shardSize)
        let dataset = try loadDataset(directory, splits: [split], languages: wanted)
        guard !dataset.files.isEmpty else { throw ValidationError("\(directory)/\(split.folder): no <Language>.jsonl files") }

        let loaded: any Tokenizer
        let file: String
        let bytes: [UInt8]
        do {
            file = try MMedTokenizers.tokenizerFile(at: tokenizer)
            loaded = try loadTokenizer(path: file)
            bytes = try readWholeFile(file)
        } catch { throw CleanExit.message("error: \(error)", code: 2) }
        guard let eosID = loaded.specialTokens.eos else {
            throw CleanExit.message("error: \(file): the tokenizer has no EOS token, which every target ends with", code: 2)
        }
        let (padID, padSource) = resolvePadID(explicit: nil, specialTokens: loaded.specialTokens)!

        let export = SFTExport(seed: seed, variant: variant, published: published)
        let (records, report) = export.examples(dataset.files)
        let examples = records.map {
            SupervisedExample(id: $0.item.id, group: $0.language.rawValue, form: $0.form, source: $0.source, target: $0.target)
        }
        var writer = SupervisedDatasetWriter(
            tokenizer: PretrainTokenizer(tokenizer: loaded, file: file, sha256: SHA256.hex(bytes)),
            tokenization: SupervisedTokenization(maxLength: maxLength, overLength: published ? .truncate : .skip, eosID: eosID),
            format: outputFormat, padID: padID, padIDSource: padSource, published: published)
        writer.shardBytes = shardBytes
        writer.origin = [
            "dataset": directory, "split": split.rawValue, "seed": String(seed), "variant": variant.rawValue,
            "languages": dataset.files.map(\.language.rawValue).joined(separator: ","),
            "items": String(report.items), "items_without_rationale": String(report.withoutRationale),
            "order": "SplitMix64 shuffle of (item, form) with the seed; the same order as the text export",
        ]
        writer.commandLine = CommandLine.arguments
        let description: SupervisedDatasetDescription
        do { description = try writer.write(examples, to: output) } catch { throw CleanExit.message("error: \(error)", code: 1) }
        let counts = description.counts
        print("\(report.items) items → \(counts.examples) examples → \(counts.sequences) sequences, \(counts.tokens) tokens "
            + "(\(counts.supervisedTokens) trained), longest \(counts.maxSequenceLength)")
        if counts.skippedOverLength > 0 {
            print("\(counts.skippedOverLength) examples longer than \(maxLength) tokens left out (listed in dataset.json; --published cuts them)")
        }
        if counts.truncated > 0 { print("\(counts.truncated) examples cut to \(maxLength) tokens, \(counts.withoutSupervisedTokens) of them with no trained token") }
        if counts.boundaryMismatches > 0 {
            print("note: in \(counts.boundaryMismatches) examples a token spans the prompt/target boundary (the mask follows the prompt's token count, as the original)")
        }
        print("wrote \(output)/dataset.json")
    }
}

/// `1G`, `512M`, `4096`: a positive byte count.
func parseShardSize(_ value: String) throws -> Int64 {
    var text = value.uppercased()
    var multiplier: Int64 = 1
    if let last = text.last, let shift = ["K": 10, "M": 20, "G": 30, "T": 40][String(last)] {
        multiplier = 1 << Int64(shift)
        text = String(text.dropLast())
    }
    guard let number = Int64(text), number > 0, number <= Int64.max / multiplier else {
        throw ValidationError("--shard-size must be a positive number of bytes, optionally with K, M, G or T (e.g. 1G, 512M)")
    }
    return number * multiplier
}

struct BenchPrompts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prompts",
        abstract: "Write a results file to be filled in: one line per test item with its prompt, gold answer and reference, and an empty response.",
        discussion: "For model runners outside MMedKit (vLLM, an API): fill in `response` (and model, backend, timing) on each line and pass the file to `mmed bench score`."
    )

    @Argument(help: "A dataset folder.")
    var directory: String

    @Option(help: "The split.")
    var split: BenchSplit = .test

    @Option(help: "rationale (the prompt asks for a rationale, then the answer) or direct.")
    var mode: String = "rationale"

    @Option(help: "The instruction text: inference (inference.py, as published) or training (finetune/train.py).")
    var variant: BenchPrompt.Variant = .inference

    @Option(parsing: .upToNextOption, help: "Languages to include (default: all six).")
    var languages: [String] = []

    @Option(help: "The results JSONL file to write.")
    var output: String

    func run() throws {
        guard mode == "rationale" || mode == "direct" else { throw ValidationError("--mode must be rationale or direct") }
        let wanted = languages.isEmpty ? BenchLanguages.all : try languages.map(benchLanguage)
        let dataset = try loadDataset(directory, splits: [split], languages: wanted)
        var text = ""
        var count = 0
        for file in dataset.files {
            for item in file.items {
                let result = BenchResult(
                    id: item.id, language: file.language, mode: mode,
                    prompt: BenchPrompt.prompt(item, language: file.language, withRationale: mode == "rationale", variant: variant),
                    response: "", gold: item.answer, optionKeys: item.options.map(\.key), referenceRationale: item.rationale,
                    humanCheckPassed: item.humanChecked ? item.humanCheckPassed : nil, model: "", backend: "")
                text += result.jsonLine + "\n"
                count += 1
            }
        }
        try AtomicFileWriter.write(text, to: output)
        print("wrote \(count) prompts to \(output)")
    }
}

struct BenchScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score results files: accuracy per language and averaged over languages, BLEU and ROUGE of rationales.",
        discussion: "RESULTS are results JSONL files (one line per test item, as `mmed bench run` writes them) or the original *_res.txt files. --mode paper reports BLEU-1 and ROUGE-1 F with robust answer extraction (the paper's metrics); --mode published reproduces metrics/*.py (BLEU-4, ROUGE-L F, their answer extraction). Writes score.json, score.csv, score.md, score.svg and items.jsonl into --output."
    )

    @Argument(help: "Results files (JSONL, or the original *_res.txt).")
    var results: [String]

    @Option(help: "paper or published.")
    var mode: ScoreMode = .paper

    @Option(help: "Answer extraction: robust or published (default: robust in paper mode, published in published mode).")
    var extraction: AnswerExtraction?

    @Option(help: "The language of *_res.txt files whose name does not say it.")
    var language: String?

    @Option(help: "The report folder (default: <first results file>.score).")
    var output: String?

    @Option(help: "The run's name in reports (default: the model recorded in the results, else the file name).")
    var name: String?

    func run() throws {
        let fallback = try language.map(benchLanguage)
        var all: [BenchResult] = []
        do {
            for path in results { all += try BenchResultsFile(path: path, language: fallback).results }
        } catch let error as BenchFormatError {
            throw ValidationError(error.description)
        }
        let scorer = BenchScorer(mode: mode, extraction: extraction, segmenters: Segmenters())
        let score: BenchScore
        do { score = try scorer.score(all, sources: results) } catch {
            throw ValidationError("\(error)")
        }
        let runName = name ?? (score.model.isEmpty ? ((results[0] as NSString).lastPathComponent as NSString).deletingPathExtension : score.model)
        let row = ReportRow(name: runName, score: score)
        print(BenchReport.table([row]))
        for entry in score.languages where entry.unparseable > 0 || entry.emptyRationales > 0 {
            print("\(entry.language.englishName): \(entry.unparseable) of \(entry.items) answers unparseable (scored wrong)"
                + (entry.emptyRationales > 0 ? ", \(entry.emptyRationales) empty rationales (scored 0)" : ""))
        }
        let folder = output ?? (results[0].hasSuffix(".jsonl") ? String(results[0].dropLast(6)) : results[0]) + ".score"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try AtomicFileWriter.write(BenchReport.json(score, name: runName).jsonText + "\n", to: folder + "/score.json")
        try AtomicFileWriter.write(BenchReport.csv([row]), to: folder + "/score.csv")
        try AtomicFileWriter.write(BenchReport.markdown([row]), to: folder + "/score.md")
        try AtomicFileWriter.write(BenchReport.svg([row]), to: folder + "/score.svg")
        try AtomicFileWriter.write(BenchReport.itemLines(score), to: folder + "/items.jsonl")
        printError("scored \(all.count) items in \(String(format: "%.2f", score.seconds)) s; reports in \(folder)/")
    }
}

struct BenchCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "A leaderboard of several runs: score.json files (or their folders) written by `mmed bench score`."
    )

    @Argument(help: "score.json files or the folders holding them.")
    var runs: [String]

    @Option(help: "Write leaderboard.md, leaderboard.csv and leaderboard.svg into this folder.")
    var output: String?

    func run() throws {
        var rows: [ReportRow] = []
        for run in runs {
            var isDirectory: ObjCBool = false
            let path = FileManager.default.fileExists(atPath: run, isDirectory: &isDirectory) && isDirectory.boolValue ? run + "/score.json" : run
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot read the file") }
            do {
                rows.append(try BenchReport.row(fromScoreJSON: try JSONValue.parse([UInt8](data)), file: path))
            } catch {
                throw ValidationError("\(path): \(error)")
            }
        }
        if Set(rows.map(\.mode)).count > 1 { printError("note: the runs were scored in different modes; BLEU/ROUGE columns are not comparable") }
        rows.sort { ($0.averageAccuracy ?? -1) > ($1.averageAccuracy ?? -1) }
        print(BenchReport.table(rows))
        if let output {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            try AtomicFileWriter.write(BenchReport.markdown(rows), to: output + "/leaderboard.md")
            try AtomicFileWriter.write(BenchReport.csv(rows), to: output + "/leaderboard.csv")
            try AtomicFileWriter.write(BenchReport.svg(rows, title: "MMedBench leaderboard: accuracy (%)"), to: output + "/leaderboard.svg")
        }
    }
}

struct BenchImportResults: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-results",
        abstract: "Turn other tools' predictions into a results JSONL file: IgakuQA's baseline_results ({problem_id, prediction}); score them with --extraction exact.",
        discussion: "Each prediction is joined by id with the items of --data (a dataset folder from `mmed bench import --source igakuqa`); predictions whose question is not in the dataset (excluded questions) are counted and left out."
    )

    @Argument(help: "Prediction files (JSONL with problem_id and prediction, e.g. baseline_results/2018/112-A_gpt4.jsonl).")
    var predictions: [String]

    @Option(help: "The dataset folder holding the questions.")
    var data: String

    @Option(help: "The results JSONL file to write.")
    var output: String

    @Option(help: "The model name recorded in the results (default: from the file name, e.g. gpt4).")
    var model: String?

    func run() throws {
        let dataset = try loadDataset(data)
        var byID: [String: (BenchItem, Language)] = [:]
        for file in dataset.files { for item in file.items { byID[item.id] = (item, file.language) } }
        var text = ""
        var written = 0, missing = 0
        for path in predictions {
            guard let contents = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot read the file") }
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            let modelName = model ?? String(stem.split(separator: "_", maxSplits: 1).last ?? Substring(stem))
            var lineNumber = 0
            for raw in contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                if raw.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
                guard let value = try? JSONValue.parse([UInt8](raw)), let id = value["problem_id"]?.string ?? value["problem_id"]?.int.map(String.init),
                      let prediction = value["prediction"]?.string else {
                    throw ValidationError("\(path):\(lineNumber): expected a JSON object with problem_id and prediction")
                }
                guard let (item, language) = byID[id] else { missing += 1; continue }
                let result = BenchResult(
                    id: id, language: language, mode: "direct", prompt: "",
                    response: prediction, gold: item.answer,
                    optionKeys: item.options.map(\.key), referenceRationale: item.rationale, humanCheckPassed: nil,
                    model: modelName, backend: "igakuqa-baseline")
                text += result.jsonLine + "\n"
                written += 1
            }
        }
        try AtomicFileWriter.write(text, to: output)
        print("wrote \(written) results to \(output); \(missing) predictions for questions not in \(data) left out")
    }
}
