import ArgumentParser
import Foundation
import MMedBench
import MMedIO
import MMedText

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
        abstract: "Write SFT data: both forms of every item (rationale, direct answer), shuffled with a seed, as Alpaca JSONL and chat messages."
    )

    @Argument(help: "A dataset folder.")
    var directory: String

    @Option(help: "The split to export.")
    var split: BenchSplit = .train

    @Option(help: "The Alpaca JSONL file to write; chat messages go beside it as <name>.chat.jsonl (see --format).")
    var output: String

    @Option(help: "alpaca, chat, or both.")
    var format: String = "both"

    @Option(help: "The shuffle seed.")
    var seed: UInt64 = 42

    @Option(help: "Text appended to every target, e.g. </s> (default: none; trainers append their tokenizer's EOS).")
    var eos: String = ""

    @Option(help: "The instruction text: training (finetune/train.py) or inference (inference.py: two spaces).")
    var variant: BenchPrompt.Variant = .training

    @Option(parsing: .upToNextOption, help: "Languages to include (default: all six).")
    var languages: [String] = []

    func run() throws {
        guard ["alpaca", "chat", "both"].contains(format) else { throw ValidationError("--format must be alpaca, chat or both") }
        let wanted = languages.isEmpty ? BenchLanguages.all : try languages.map(benchLanguage)
        let dataset = try loadDataset(directory, splits: [split], languages: wanted)
        guard !dataset.files.isEmpty else { throw ValidationError("\(directory)/\(split.folder): no <Language>.jsonl files") }
        let stem = output.hasSuffix(".jsonl") ? String(output.dropLast(6)) : output
        let alpaca = format == "chat" ? nil : output
        let chat = format == "alpaca" ? nil : (format == "chat" ? output : stem + ".chat.jsonl")
        let report = try SFTExport(seed: seed, eos: eos, variant: variant).write(dataset.files, alpacaPath: alpaca, chatPath: chat)
        print("\(report.items) items → \(report.records) records (\(report.withoutRationale) items without a rationale: direct form only)")
        for path in [alpaca, chat].compactMap({ $0 }) { print("wrote \(path)") }
    }
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
