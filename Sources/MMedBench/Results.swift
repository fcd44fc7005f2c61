import Foundation
import MMedIO
import MMedText

/// One line of a results file: what a model runner wrote for one test item and what the scorer reads. The file is
/// JSONL, one object per item:
///
///     {"id": "...", "language": "en", "mode": "rationale", "prompt": "...", "response": "...", "gold": ["A"],
///      "options": ["A", "B", "C", "D"], "reference_rationale": "...", "human_check_passed": true,
///      "model": "...", "backend": "...", "timing": {"seconds": 1.2, "prompt_tokens": 310, "generated_tokens": 95}}
///
/// `mode` is `rationale` (the prompt asks for a rationale first), `direct` or `loglikelihood`; rationale metrics are
/// computed for items that are not `direct`, have a reference rationale and did not fail the human check.
public struct BenchResult: Sendable {
    public var id: String
    public var language: Language
    public var mode: String?
    public var prompt: String
    public var response: String
    public var gold: [String]
    public var optionKeys: [String]
    public var referenceRationale: String
    /// nil when unknown (the original `*_res.txt` files do not say).
    public var humanCheckPassed: Bool?
    public var model: String
    public var backend: String
    public var timing: JSONValue

    public init(
        id: String, language: Language, mode: String?, prompt: String, response: String, gold: [String],
        optionKeys: [String], referenceRationale: String, humanCheckPassed: Bool?, model: String, backend: String,
        timing: JSONValue = .null
    ) {
        self.id = id
        self.language = language
        self.mode = mode
        self.prompt = prompt
        self.response = response
        self.gold = gold
        self.optionKeys = optionKeys
        self.referenceRationale = referenceRationale
        self.humanCheckPassed = humanCheckPassed
        self.model = model
        self.backend = backend
        self.timing = timing
    }

    public var jsonLine: String {
        var members: [(key: String, value: JSONValue)] = [
            ("id", .string(id)), ("language", .string(language.rawValue)),
        ]
        if let mode { members.append(("mode", .string(mode))) }
        members += [
            ("prompt", .string(prompt)), ("response", .string(response)),
            ("gold", .array(gold.map { .string($0) })), ("options", .array(optionKeys.map { .string($0) })),
            ("reference_rationale", .string(referenceRationale)),
            ("human_check_passed", humanCheckPassed.map { .bool($0) } ?? .null),
            ("model", .string(model)), ("backend", .string(backend)), ("timing", timing),
        ]
        return JSONValue.object(members).jsonText
    }
}

/// A results file of either kind, read whole.
public struct BenchResultsFile: Sendable {
    public var path: String
    public var results: [BenchResult]
    /// The original `*_res.txt` format (`response[SPLIT]gold[SPLIT]rationale` per line).
    public var isPublishedFormat: Bool

    /// Reads a results JSONL file, or an original `*_res.txt` (told by the name ending in `.txt`). For the latter the
    /// language comes from the file name (`USMLE_en_res.txt`, `lgakuQA_res.txt`, `English.jsonl_res.txt`, ...) or
    /// `language`.
    public init(path: String, language: Language? = nil) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BenchFormatError(file: path, "cannot read the file")
        }
        if path.hasSuffix(".txt") {
            isPublishedFormat = true
            guard let language = language ?? Self.publishedLanguage(fileName: (path as NSString).lastPathComponent) else {
                throw BenchFormatError(file: path, "cannot tell the language from the file name: pass --language")
            }
            results = try Self.readPublished(data: data, path: path, language: language)
        } else {
            isPublishedFormat = false
            results = try Self.readJSONL(path: path, language: language)
        }
    }

    /// The language of an original results file: inference.py names it after the test file
    /// (`English.jsonl_res.txt`); metrics/*.py lists `USMLE_en_res.txt`, `USMLE_zh_res.txt`, `lgakuQA_res.txt`,
    /// `FrenchMedMCQA_res.txt`, `RuMedDaNet_res.txt`, `Head-QA_res.txt`.
    public static func publishedLanguage(fileName: String) -> Language? {
        let name = fileName.lowercased()
        let known: [(String, Language)] = [
            ("usmle_en", .en), ("usmle_zh", .zh), ("lgakuqa", .ja), ("igakuqa", .ja), ("frenchmedmcqa", .fr),
            ("rumeddanet", .ru), ("head-qa", .es), ("headqa", .es),
        ]
        for (marker, language) in known where name.contains(marker) { return language }
        for language in BenchLanguages.all where name.hasPrefix(language.englishName.lowercased()) { return language }
        return nil
    }

    static func readPublished(data: Data, path: String, language: Language) throws -> [BenchResult] {
        var results: [BenchResult] = []
        var lineNumber = 0
        for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = PythonText.strip(String(decoding: raw, as: UTF8.self))
            if line.isEmpty { continue }
            let parts = PythonText.split(line, separator: "[SPLIT]")
            guard parts.count >= 3 else {
                throw BenchFormatError(file: path, line: lineNumber, "expected response[SPLIT]answer[SPLIT]rationale")
            }
            results.append(BenchResult(
                id: "\(language.englishName)-\(lineNumber)", language: language, mode: nil, prompt: "",
                response: parts[0], gold: PythonText.split(parts[1], separator: ","), optionKeys: [],
                referenceRationale: parts[2], humanCheckPassed: nil, model: "", backend: "published-res-txt"))
        }
        return results
    }

    static func readJSONL(path: String, language fallback: Language?) throws -> [BenchResult] {
        var results: [BenchResult] = []
        for (lineNumber, value) in try readJSONLines(path) {
            func fail(_ field: String?, _ message: String) -> BenchFormatError {
                BenchFormatError(file: path, line: lineNumber, field: field, message)
            }
            guard value.members != nil else { throw fail(nil, "expected a JSON object") }
            func string(_ key: String, required: Bool) throws -> String {
                guard let field = value[key], !field.isNull else {
                    if required { throw fail(key, "missing") }
                    return ""
                }
                guard let text = field.string else { throw fail(key, "expected a string") }
                return text
            }
            func keys(_ key: String, required: Bool) throws -> [String] {
                switch value[key] {
                case .string(let text)?: return PythonText.split(text, separator: ",").map(PythonText.strip)
                case .array(let values)?:
                    return try values.map { element in
                        guard let text = element.string else { throw fail(key, "expected option keys") }
                        return text
                    }
                case nil, .null?:
                    if required { throw fail(key, "missing") }
                    return []
                default: throw fail(key, "expected an option key or a list of them")
                }
            }
            let languageText = try string("language", required: fallback == nil)
            guard let language = languageText.isEmpty ? fallback : BenchLanguages.language(named: languageText) else {
                throw fail("language", "'\(languageText)' is not an MMedBench language (en, zh, ja, fr, ru, es)")
            }
            let passed: Bool?
            switch value["human_check_passed"] {
            case .bool(let flag)?: passed = flag
            case nil, .null?: passed = nil
            default: throw fail("human_check_passed", "expected true, false or null")
            }
            let mode = try string("mode", required: false)
            results.append(BenchResult(
                id: try string("id", required: true), language: language, mode: mode.isEmpty ? nil : mode,
                prompt: try string("prompt", required: false), response: try string("response", required: true),
                gold: try keys("gold", required: true), optionKeys: try keys("options", required: false),
                referenceRationale: try string("reference_rationale", required: false), humanCheckPassed: passed,
                model: try string("model", required: false), backend: try string("backend", required: false),
                timing: value["timing"] ?? .null))
        }
        return results
    }
}
