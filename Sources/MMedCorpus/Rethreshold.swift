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
