import Foundation
import MMedIO
import MMedText

/// The sources `mmed bench import` converts, and how each maps onto MMedBench (docs/mmedbench-sources.md).
public enum BenchSource: String, Sendable, CaseIterable {
    case medqa, igakuqa, frenchmedmcqa, rumeddanet, headqa, mmlu, medmcqa, pubmedqa

    /// Which MMedBench split a source file corresponds to, from its name; nil for files MMedBench did not use
    /// (those are imported only with an explicit `--split`).
    public func split(forFile path: String) -> BenchSplit? {
        let name = (path as NSString).lastPathComponent.lowercased()
        switch self {
        case .igakuqa:
            // MMedBench does not publish which IgakuQA questions form its 199-item test split.
            return nil
        case .mmlu, .medmcqa, .pubmedqa:
            // English benchmarks: evaluation sets.
            return .test
        case .rumeddanet:
            // RuMedDaNet's test answers are not public: MMedBench's 256 Russian test items are its dev set.
            if name.contains("train") { return .train }
            if name.contains("dev") || name.contains("valid") { return .test }
            return nil
        case .medqa, .frenchmedmcqa, .headqa:
            if name.contains("train") { return .train }
            if name.contains("test") { return .test }
            return nil
        }
    }
}

public struct ImportOptions: Sendable {
    /// Put every file into this split instead of the source's mapping.
    public var split: BenchSplit?
    /// The language, where the source has two (MedQA: en or zh); told from the text otherwise.
    public var language: Language?
    /// Keep questions that need an image (HEAD-QA, IgakuQA); they are excluded and counted by default.
    public var includeImageQuestions = false

    public init(split: BenchSplit? = nil, language: Language? = nil, includeImageQuestions: Bool = false) {
        self.split = split
        self.language = language
        self.includeImageQuestions = includeImageQuestions
    }
}

/// What an import did with every question it read: imported, or excluded with a reason.
public struct ImportReport: Sendable {
    public struct FileReport: Sendable {
        public var path: String
        public var split: BenchSplit?
        public var language: Language?
        public var read = 0
        public var imported = 0
        public var excluded: [String: Int] = [:]
    }

    public var source: BenchSource
    public var files: [FileReport] = []

    public var read: Int { files.reduce(0) { $0 + $1.read } }
    public var imported: Int { files.reduce(0) { $0 + $1.imported } }
    public var excluded: [String: Int] {
        files.reduce(into: [:]) { total, file in for (reason, count) in file.excluded { total[reason, default: 0] += count } }
    }
}

/// One converted question, or why it was left out.
enum ImportedQuestion {
    case item(BenchItem)
    case excluded(String)
}

public enum BenchImporter {
    /// Converts `paths` (files, or folders searched for the source's files) and writes `output/Train|Test/<Language>.jsonl`.
    public static func run(source: BenchSource, paths: [String], output: String, options: ImportOptions) throws -> ImportReport {
        var report = ImportReport(source: source)
        var collected: [BenchSplit: [Language: [BenchItem]]] = [:]
        for path in try sourceFiles(source: source, paths: paths) {
            var fileReport = ImportReport.FileReport(path: path)
            guard let split = options.split ?? source.split(forFile: path) else {
                fileReport.excluded["file not part of MMedBench (pass --split to import it)"] = 1
                report.files.append(fileReport)
                continue
            }
            fileReport.split = split
            let (language, questions) = try convert(source: source, path: path, options: options)
            fileReport.language = language
            for question in questions {
                fileReport.read += 1
                switch question {
                case .item(let item):
                    fileReport.imported += 1
                    collected[split, default: [:]][language, default: []].append(item)
                case .excluded(let reason):
                    fileReport.excluded[reason, default: 0] += 1
                }
            }
            report.files.append(fileReport)
        }
        for (split, languages) in collected {
            let folder = output + "/" + split.folder
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (language, items) in languages {
                var seen = Set<String>()
                var text = ""
                for var item in items {
                    // Ids must be unique within a file; sources that reuse them (several exams) get a suffix.
                    var id = item.id
                    var n = 2
                    while seen.contains(id) { id = "\(item.id)-\(n)"; n += 1 }
                    item.id = id
                    seen.insert(id)
                    text += item.jsonLine + "\n"
                }
                try AtomicFileWriter.write(text, to: folder + "/" + language.englishName + ".jsonl")
            }
        }
        return report
    }

    /// The files of a source: given files as they are; folders searched (sorted) for the source's file names.
    static func sourceFiles(source: BenchSource, paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw BenchFormatError(file: path, "no such file or folder")
            }
            guard isDirectory.boolValue else { files.append(path); continue }
            let found = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted().filter { relative in
                let name = (relative as NSString).lastPathComponent
                switch source {
                case .igakuqa:
                    // 112-A.jsonl; not *_translate.jsonl, *_metadata.jsonl or baseline predictions.
                    return name.hasSuffix(".jsonl") && !name.contains("_") && !relative.contains("baseline_results")
                case .headqa, .frenchmedmcqa, .pubmedqa: return name.hasSuffix(".json")
                case .mmlu: return name.hasSuffix(".jsonl") || name.hasSuffix(".csv")
                default: return name.hasSuffix(".jsonl") || name.hasSuffix(".json")
                }
            }
            files += found.map { path + "/" + $0 }
        }
        return files
    }

    static func readJSON(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw BenchFormatError(file: path, "cannot read the file") }
        do { return try JSONValue.parse([UInt8](data)) } catch { throw BenchFormatError(file: path, "not valid JSON (\(error))") }
    }

    static let letters = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]

    /// Whether a text is mostly Han characters (MedQA MCMLE) rather than Latin (USMLE).
    static func looksChinese(_ text: String) -> Bool {
        let han = text.unicodeScalars.filter { (0x4E00...0x9FFF).contains($0.value) }.count
        return han * 4 > text.unicodeScalars.count
    }
}
