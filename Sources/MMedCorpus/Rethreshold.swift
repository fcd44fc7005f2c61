import Foundation
import MMedIO
import MMedText

/// Re-decides documents from a filter run's attributes with new thresholds, without rescanning the text.
public enum Rethreshold {
    private static let newline: [UInt8] = [0x0A]

    public struct LanguageOutcome: Sendable, Equatable {
        public var documents = 0
        public var keptBefore = 0
        public var keptAfter = 0
    }

    /// Reads `directory/attributes/*.jsonl.zst` in order and applies `thresholds(language)` to each row; rows of
    /// languages for which it returns nil keep their decision.
    ///
    /// With `output`, also writes `output/kept/<unit>.jsonl.zst` with the documents now kept: a run made with
    /// `--write-dropped` holds every scored record in `kept/` or `dropped/`, in input order, and its attribute
    /// rows say which of the two each record is in, so the records are taken from there, not rescanned.
    public static func run(directory: String, output: String? = nil, thresholds: (String) -> Thresholds?) throws -> [String: LanguageOutcome] {
        let attributeDirectory = "\(directory)/attributes"
        guard let listing = try? FileManager.default.contentsOfDirectory(atPath: attributeDirectory) else {
            throw FilterJobError(message: "\(attributeDirectory): not found; point at the --output directory of `mmed corpus filter`")
        }
        if output != nil && !fileExists("\(directory)/dropped") {
            throw FilterJobError(message: "\(directory) has no dropped/ folder: re-run `mmed corpus filter` with --write-dropped to re-threshold without rescanning")
        }
        if let output { try createDirectories("\(output)/kept") }
        var outcomes: [String: LanguageOutcome] = [:]
        var scanner = JSONObjectScanner(keys: ["lang", "mkc", "keyword_chars", "length", "decision"])
        for name in listing.filter({ $0.hasSuffix(".jsonl.zst") && !$0.hasPrefix(".") }).sorted() {
            let path = "\(attributeDirectory)/\(name)"
            let unit = String(name.dropLast(".jsonl.zst".count))
            let attributes = LineReader(source: try openByteSource(path: path))
            func records(_ folder: String) throws -> LineReader? {
                let recordPath = "\(directory)/\(folder)/\(unit).jsonl.zst"
                return output != nil && fileExists(recordPath) ? LineReader(source: try openByteSource(path: recordPath)) : nil
            }
            let kept = try records("kept"), dropped = try records("dropped")
            var writer: ZstdFileWriter?
            while let row = try attributes.next() {
                do { try scanner.scan(row.bytes) } catch {
                    throw FilterJobError(message: "\(path):\(row.number): \(error)")
                }
                func field(_ index: Int) -> String {
                    scanner.values[index].map { String(decoding: UnsafeRawBufferPointer(rebasing: row.bytes[$0.range]), as: UTF8.self) } ?? ""
                }
                guard let mkc = Int(field(1)), let characters = Int(field(2)), let length = Int(field(3)) else {
                    throw FilterJobError(message: "\(path):\(row.number): mkc, keyword_chars and length must be integers")
                }
                let language = field(0)
                let keptBefore = field(4) == "keep"
                var keep = keptBefore
                if let limits = thresholds(language) {
                    let score = KeywordScorer.Score(uniqueKeywordCount: mkc, keywordCharacters: characters, length: length)
                    keep = score.uniqueKeywordCount >= limits.minKeywordCount && score.keywordDensity >= limits.minDensity
                }
                var outcome = outcomes[language] ?? LanguageOutcome()
                outcome.documents += 1
                if keptBefore { outcome.keptBefore += 1 }
                if keep { outcome.keptAfter += 1 }
                outcomes[language] = outcome

                guard let output else { continue }
                guard let source = keptBefore ? kept : dropped, let record = try source.next() else {
                    throw FilterJobError(message: "\(directory): \(keptBefore ? "kept" : "dropped")/\(unit).jsonl.zst has fewer records than its attributes")
                }
                if keep {
                    if writer == nil { writer = try ZstdFileWriter(path: "\(output)/kept/\(unit).jsonl.zst") }
                    try writer!.write(record.bytes)
                    try newline.withUnsafeBytes { try writer!.write($0) }
                }
            }
            try writer?.commit()
        }
        return outcomes
    }
}
