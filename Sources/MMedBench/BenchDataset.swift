import Foundation
import MMedIO
import MMedText

/// The six MMedBench languages, in the paper's column order, and the split folders of the release.
public enum BenchSplit: String, CaseIterable, Sendable {
    case train, test

    /// `Train` or `Test`: the release's folder names.
    public var folder: String { self == .train ? "Train" : "Test" }
}

public enum BenchLanguages {
    /// The paper's column order.
    public static let all: [Language] = [.en, .zh, .ja, .fr, .ru, .es]

    /// The language of a release file name (`English.jsonl` → en), or of a code (`en`, `jp`).
    public static func language(named name: String) -> Language? {
        if let language = all.first(where: { $0.englishName.lowercased() == name.lowercased() }) { return language }
        if let language = Language(code: name), all.contains(language) { return language }
        return nil
    }
}

/// The items of one language and split of a dataset folder.
public struct BenchFile: Sendable {
    public var language: Language
    public var split: BenchSplit
    public var path: String
    public var items: [BenchItem]
}

/// A dataset folder in the release layout: `Train/<Language>.jsonl` and `Test/<Language>.jsonl`.
public struct BenchDataset: Sendable {
    public var directory: String
    public var files: [BenchFile]

    /// Reads every `<Language>.jsonl` of the split folders present; a malformed line is an error naming the file,
    /// line and field. Blank lines are skipped.
    public init(directory: String, splits: [BenchSplit] = BenchSplit.allCases, languages: [Language] = BenchLanguages.all) throws {
        self.directory = directory
        var files: [BenchFile] = []
        var sawFolder = false
        for split in splits {
            let folder = directory + "/" + split.folder
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            sawFolder = true
            for language in languages {
                let path = folder + "/" + language.englishName + ".jsonl"
                guard FileManager.default.fileExists(atPath: path) else { continue }
                files.append(BenchFile(language: language, split: split, path: path, items: try Self.readItems(path: path, language: language)))
            }
        }
        guard sawFolder else {
            throw BenchFormatError(file: directory, "not an MMedBench folder: expected Train/ or Test/ with <Language>.jsonl files")
        }
        self.files = files
    }

    public static func readItems(path: String, language: Language) throws -> [BenchItem] {
        var items: [BenchItem] = []
        var seen: [String: Int] = [:]
        for (lineNumber, value) in try readJSONLines(path) {
            let item = try BenchItem.parse(
                value, file: path, lineNumber: lineNumber, fallbackID: "\(language.englishName)-\(lineNumber)")
            if let first = seen[item.id] {
                throw BenchFormatError(file: path, line: lineNumber, field: "id", "'\(item.id)' repeats line \(first)")
            }
            seen[item.id] = lineNumber
            items.append(item)
        }
        return items
    }

    public func file(_ language: Language, _ split: BenchSplit) -> BenchFile? {
        files.first { $0.language == language && $0.split == split }
    }
}

/// `mmed bench stats`: counts and average lengths (in code points) per language and split.
public struct BenchStatistics: Sendable {
    public struct Row: Sendable {
        public var language: Language
        public var split: BenchSplit
        public var items: Int
        public var multiAnswer: Int
        public var withRationale: Int
        public var humanChecked: Int
        public var humanCheckPassed: Int
        public var averageQuestionLength: Double
        public var averageOptionCount: Double
        public var averageRationaleLength: Double
    }

    public var rows: [Row]

    public init(_ dataset: BenchDataset) {
        rows = dataset.files.map { file in
            let n = max(1, file.items.count)
            func average(_ value: (BenchItem) -> Int) -> Double { Double(file.items.reduce(0) { $0 + value($1) }) / Double(n) }
            return Row(
                language: file.language, split: file.split, items: file.items.count,
                multiAnswer: file.items.filter { $0.answer.count > 1 }.count,
                withRationale: file.items.filter { !$0.rationale.isEmpty }.count,
                humanChecked: file.items.filter(\.humanChecked).count,
                humanCheckPassed: file.items.filter(\.humanCheckPassed).count,
                averageQuestionLength: average { $0.question.unicodeScalars.count },
                averageOptionCount: average { $0.options.count },
                averageRationaleLength: average { $0.rationale.unicodeScalars.count })
        }
    }

    /// A plain-text table.
    public var table: String {
        var lines = ["split  language   items  multi  rationale  checked  passed  avg question  avg options  avg rationale"]
        for split in BenchSplit.allCases {
            let splitRows = rows.filter { $0.split == split }
            guard !splitRows.isEmpty else { continue }
            for row in splitRows {
                lines.append(
                    pad(split.folder, 6) + " " + pad(row.language.englishName, 9) + " " + pad("\(row.items)", 6, right: true) + " "
                        + pad("\(row.multiAnswer)", 6, right: true) + " " + pad("\(row.withRationale)", 10, right: true) + " "
                        + pad("\(row.humanChecked)", 8, right: true) + " " + pad("\(row.humanCheckPassed)", 7, right: true) + " "
                        + pad(fixed(row.averageQuestionLength, 1), 13, right: true) + " "
                        + pad(fixed(row.averageOptionCount, 2), 12, right: true) + " "
                        + pad(fixed(row.averageRationaleLength, 1), 14, right: true))
            }
            let total = splitRows.reduce(0) { $0 + $1.items }
            lines.append(pad(split.folder, 6) + " " + pad("total", 9) + " " + pad("\(total)", 6, right: true))
        }
        return lines.joined(separator: "\n")
    }
}

func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let count = text.count
    guard count < width else { return text }
    let space = String(repeating: " ", count: width - count)
    return right ? space + text : text + space
}

func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}
