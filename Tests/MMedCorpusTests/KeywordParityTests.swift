import Foundation
import MMedCorpus
import MMedIO
import MMedText
import Testing

/// Golden files written by Tests/Oracles/keyword_filter_oracle.py (an independent Python implementation of the
/// filter semantics): per document MKC, keyword characters, length and decision, on real text from
/// ../shared/data and on edge cases. The Swift filter must agree on every document.
struct ParityGolden: CustomTestStringConvertible, Sendable {
    let url: URL
    var testDescription: String { url.deletingPathExtension().lastPathComponent }

    static let all: [ParityGolden] = {
        let directory = Bundle.module.url(forResource: "keyword-parity", withExtension: nil, subdirectory: "Fixtures")!
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") }.sorted().map { ParityGolden(url: directory.appendingPathComponent($0)) }
    }()
}

enum ParityDocuments {
    static func lines(_ path: String) throws -> [String] {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let endsWithNewline = data.last == 0x0A
        if endsWithNewline { data.removeLast() }
        return data.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    static func documents(corpus: String, rule: String) throws -> [String] {
        let path = SharedData.path(corpus)
        if rule == "lines" { return try lines(path) }
        if rule.hasPrefix("blocks:") {
            let size = Int(rule.dropFirst("blocks:".count))!
            let all = try lines(path)
            return stride(from: 0, to: all.count, by: size).map { all[$0..<min($0 + size, all.count)].joined(separator: "\n") }
        }
        if rule == "flores-articles" {
            let all = try lines(path)
            let urls = try lines(SharedData.path("text/flores200-devtest/metadata_devtest.tsv")).dropFirst()
                .map { String($0.split(separator: "\t", omittingEmptySubsequences: false)[0]) }
            #expect(urls.count == all.count)
            return group(zip(urls, all).map { ($0, $1) })
        }
        if rule.hasPrefix("jsonl:") {
            let field = String(rule.dropFirst("jsonl:".count))
            let bytes = try readAll(openByteSource(path: path))
            return try bytes.split(separator: 0x0A).filter { $0.contains { ![0x20, 0x09, 0x0D, 0x0B, 0x0C].contains($0) } }.map {
                let object = try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any]
                return object[field] as! String
            }
        }
        if rule == "rudrec-sentences" {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let rows = parseCSV(text)
            let header = rows[0]
            let sentence = header.firstIndex(of: "Sentence#")!, word = header.firstIndex(of: "Word")!
            return group(rows.dropFirst().map { ($0[sentence], $0[word]) })
        }
        throw ParityError(message: "unknown document rule \(rule)")
    }

    /// Joins the values of consecutive rows with the same key by " ".
    static func group(_ rows: [(String, String)]) -> [String] {
        var documents: [[String]] = []
        var last: String?
        for (key, value) in rows {
            if key == last { documents[documents.count - 1].append(value) } else { documents.append([value]) }
            last = key
        }
        return documents.map { $0.joined(separator: " ") }
    }

    /// RFC 4180 CSV as Python's csv module reads it (quoted fields, doubled quotes, CRLF).
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = String.UnicodeScalarView()
        var quoted = false
        var iterator = Array(text.unicodeScalars)[...]
        while let c = iterator.popFirst() {
            if quoted {
                if c == "\"" {
                    if iterator.first == "\"" { field.append("\""); iterator.removeFirst() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(String(field)); field = .init()
            } else if c == "\n" || c == "\r" {
                if c == "\r" && iterator.first == "\n" { iterator.removeFirst() }
                row.append(String(field)); field = .init()
                rows.append(row); row = []
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(String(field)); rows.append(row) }
        return rows
    }
}

struct ParityError: Error { var message: String }

/// One golden file read and resolved: the filter it describes, its documents and the oracle's rows.
struct ParityCase {
    var language: Language
    var mode: MatchMode
    var thresholds: Thresholds
    var list: KeywordList
    var documents: [String]
    var rows: [[String: Any]]

    var filter: MedicalKeywordFilter { MedicalKeywordFilter(list: list, language: language, thresholds: thresholds, mode: mode) }

    init(_ golden: ParityGolden) throws {
        let lines = try String(contentsOf: golden.url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
        let header = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        rows = try lines.dropFirst().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        language = try #require(Language(code: header["lang"] as! String))
        mode = try #require(MatchMode(rawValue: header["mode"] as! String))
        let limits = header["thresholds"] as! [String: Any]
        thresholds = Thresholds(minKeywordCount: (limits["mkc"] as! NSNumber).intValue, minDensity: (limits["dens"] as! NSNumber).doubleValue)
        switch header["keywords"] {
        case let name as String where name == "mmedlm":
            try #require(SharedData.available, "../shared/data is missing: CI must have it beside the checkout")
            list = try KeywordList.mmedlm(jsonPath: SharedData.path("reference/mmedlm-keywords.json"), language: language)
        case let name as String where name == "mmedkit":
            list = try KeywordList.bundled(language)
        case let inline as [String: Any]:
            list = KeywordList(name: "inline", keywords: inline["inline"] as! [String])
        default:
            throw ParityError(message: "unknown keyword source in \(golden.testDescription)")
        }
        if header["documents"] as? String == "inline" {
            documents = rows.map { $0["text"] as! String }
        } else {
            try #require(SharedData.available, "../shared/data is missing: CI must have it beside the checkout")
            documents = try ParityDocuments.documents(corpus: header["corpus"] as! String, rule: header["documents"] as! String)
        }
        try #require(documents.count == rows.count, "document count differs from the golden")
    }

    /// The oracle's (mkc, keyword characters, length, keep) for document `index`.
    func expected(_ index: Int) -> [Int] {
        let row = rows[index]
        return [(row["mkc"] as! NSNumber).intValue, (row["chars"] as! NSNumber).intValue,
                (row["length"] as! NSNumber).intValue, row["keep"] as! Bool ? 1 : 0]
    }
}

func readAll(_ source: ByteSource) throws -> [UInt8] {
    var result: [UInt8] = []
    while let chunk = try source.nextChunk() { result.append(contentsOf: chunk) }
    return result
}

@Suite struct BundledListTests {
    @Test(arguments: Language.allCases)
    func embeddedListsMatchTheTextFiles(language: Language) throws {
        let path = Repository.root + "/Sources/MMedCorpus/Resources/keywords/\(language.rawValue).txt"
        let fromFile = try KeywordList.load(path: path)
        let embedded = try KeywordList.bundled(language)
        #expect(embedded.keywords == fromFile.keywords, "run scripts/embed-keywords after editing \(path)")
        #expect(embedded.thresholds == (fromFile.thresholds ?? Thresholds.paper(language)))
        #expect(Set(embedded.prepared(mode: .paper).map { Array($0.utf8) }).count >= 200, "at least 200 distinct keywords")
    }
}

@Suite struct KeywordParityTests {
    @Test func goldensExistForEveryLanguageAndBothModes() {
        let headers = ParityGolden.all.compactMap { golden -> [String: Any]? in
            guard let line = try? String(contentsOf: golden.url, encoding: .utf8).split(separator: "\n").first else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        let languages = Set(headers.compactMap { $0["lang"] as? String })
        #expect(languages.isSuperset(of: ["en", "zh", "ja", "fr", "ru", "es", "de", "ar"]))
        #expect(Set(headers.compactMap { $0["mode"] as? String }) == ["paper", "published"])
        #expect(ParityGolden.all.count >= 50)
    }

    @Test(.enabled(if: SharedData.enabled, "needs ../shared/data (real text); runs in CI"), arguments: ParityGolden.all)
    func filterAgreesWithTheOracleOnEveryDocument(golden: ParityGolden) throws {
        let parity = try ParityCase(golden)
        let filter = parity.filter
        let scorer = KeywordScorer(matcher: filter.matcher)
        var disagreements: [String] = []
        for (index, text) in parity.documents.enumerated() {
            let score = try scorer.score(text).get()
            let ours = [score.uniqueKeywordCount, score.keywordCharacters, score.length, filter.keeps(score) ? 1 : 0]
            if ours != parity.expected(index) {
                disagreements.append("doc \(index): ours \(ours), oracle \(parity.expected(index))")
            }
        }
        let documents = parity.documents
        #expect(disagreements.isEmpty, "\(disagreements.count)/\(documents.count) documents differ: \(disagreements.prefix(5))")
    }
}
