import Foundation
import MMedIO
import MMedText

/// Re-decides documents from a filter run's attributes with new thresholds, without rescanning the text.
public enum Rethreshold {
    public struct LanguageOutcome: Sendable, Equatable {
        public var documents = 0
        public var keptBefore = 0
        public var keptAfter = 0
    }

    /// Reads `directory/attributes/*.jsonl.zst` in order and applies `thresholds(language)` to each row;
    /// rows of languages for which it returns nil keep their decision.
    public static func evaluate(directory: String, thresholds: (String) -> Thresholds?) throws -> [String: LanguageOutcome] {
        let attributeDirectory = "\(directory)/attributes"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: attributeDirectory) else {
            throw FilterJobError(message: "\(attributeDirectory): not found; point at the --output directory of `mmed corpus filter`")
        }
        var outcomes: [String: LanguageOutcome] = [:]
        var scanner = JSONObjectScanner(keys: ["lang", "mkc", "keyword_chars", "length", "decision"])
        for name in names.filter({ $0.hasSuffix(".jsonl.zst") && !$0.hasPrefix(".") }).sorted() {
            let path = "\(attributeDirectory)/\(name)"
            let reader = LineReader(source: try openByteSource(path: path))
            while let line = try reader.next() {
                func field(_ index: Int) throws -> String {
                    guard let value = scanner.values[index] else {
                        throw FilterJobError(message: "\(path):\(line.number): missing field in attributes row")
                    }
                    return String(decoding: UnsafeRawBufferPointer(rebasing: line.bytes[value.range]), as: UTF8.self)
                }
                do { try scanner.scan(line.bytes) } catch {
                    throw FilterJobError(message: "\(path):\(line.number): \(error)")
                }
                let language = try field(0)
                guard let mkc = Int(try field(1)), let characters = Int(try field(2)), let length = Int(try field(3)) else {
                    throw FilterJobError(message: "\(path):\(line.number): mkc, keyword_chars and length must be integers")
                }
                let keptBefore = try field(4) == "keep"
                var outcome = outcomes[language] ?? LanguageOutcome()
                outcome.documents += 1
                if keptBefore { outcome.keptBefore += 1 }
                let keptAfter: Bool
                if let limits = thresholds(language) {
                    let score = KeywordScorer.Score(uniqueKeywordCount: mkc, keywordCharacters: characters, length: length)
                    keptAfter = score.uniqueKeywordCount >= limits.minKeywordCount && score.keywordDensity >= limits.minDensity
                } else {
                    keptAfter = keptBefore
                }
                if keptAfter { outcome.keptAfter += 1 }
                outcomes[language] = outcome
            }
        }
        return outcomes
    }
}

extension Rethreshold {
    /// Writes `output/kept/<unit>.jsonl.zst` with the documents that `thresholds` keep, without rescanning any
    /// text: a run made with `--write-dropped` holds every scored record in `kept/` or `dropped/`, in input order,
    /// and its attribute rows say which file each record is in. Returns the documents kept per language.
    public static func materialize(directory: String, output: String, thresholds: (String) -> Thresholds?) throws -> [String: LanguageOutcome] {
        guard fileExists("\(directory)/dropped") else {
            throw FilterJobError(message: "\(directory) has no dropped/ folder: re-run `mmed corpus filter` with --write-dropped to re-threshold without rescanning")
        }
        let attributeDirectory = "\(directory)/attributes"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: attributeDirectory)) ?? [])
            .filter { $0.hasSuffix(".jsonl.zst") && !$0.hasPrefix(".") }.sorted()
        try createDirectories("\(output)/kept")
        var outcomes: [String: LanguageOutcome] = [:]
        var scanner = JSONObjectScanner(keys: ["lang", "mkc", "keyword_chars", "length", "decision"])
        for name in names {
            let unit = String(name.dropLast(".jsonl.zst".count))
            let attributes = LineReader(source: try openByteSource(path: "\(attributeDirectory)/\(name)"))
            func records(_ folder: String) throws -> LineReader? {
                let path = "\(directory)/\(folder)/\(unit).jsonl.zst"
                return fileExists(path) ? LineReader(source: try openByteSource(path: path)) : nil
            }
            let kept = try records("kept"), dropped = try records("dropped")
            var writer: ZstdFileWriter?
            while let row = try attributes.next() {
                do { try scanner.scan(row.bytes) } catch {
                    throw FilterJobError(message: "\(attributeDirectory)/\(name):\(row.number): \(error)")
                }
                func field(_ index: Int) -> String {
                    scanner.values[index].map { String(decoding: UnsafeRawBufferPointer(rebasing: row.bytes[$0.range]), as: UTF8.self) } ?? ""
                }
                let language = field(0)
                let wasKept = field(4) == "keep"
                guard let source = wasKept ? kept : dropped, let record = try source.next() else {
                    throw FilterJobError(message: "\(directory): \(wasKept ? "kept" : "dropped")/\(unit).jsonl.zst has fewer records than its attributes")
                }
                guard let mkc = Int(field(1)), let characters = Int(field(2)), let length = Int(field(3)) else {
                    throw FilterJobError(message: "\(attributeDirectory)/\(name):\(row.number): mkc, keyword_chars and length must be integers")
                }
                var keep = wasKept
                if let limits = thresholds(language) {
                    let score = KeywordScorer.Score(uniqueKeywordCount: mkc, keywordCharacters: characters, length: length)
                    keep = score.uniqueKeywordCount >= limits.minKeywordCount && score.keywordDensity >= limits.minDensity
                }
                var outcome = outcomes[language] ?? LanguageOutcome()
                outcome.documents += 1
                if wasKept { outcome.keptBefore += 1 }
                if keep {
                    outcome.keptAfter += 1
                    if writer == nil { writer = try ZstdFileWriter(path: "\(output)/kept/\(unit).jsonl.zst") }
                    try writer!.write(record.bytes)
                    try writer!.write(UnsafeRawBufferPointer(start: [UInt8(0x0A)], count: 1))
                }
                outcomes[language] = outcome
            }
            try writer?.commit()
        }
        return outcomes
    }
}
