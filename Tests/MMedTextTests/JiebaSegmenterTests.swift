import Foundation
import MMedIO
import MMedTestSupport
import Testing

@testable import MMedText

/// The installed jieba package's data, read once for all tests (~0.2 s).
enum InstalledJieba {
    struct LoadFailure: Error, CustomStringConvertible, Sendable {
        var description: String
    }

    static let segmenter: Result<JiebaSegmenter, LoadFailure> = {
        do {
            return .success(try JiebaSegmenter { try PythonPackages.read($0, of: "jieba") })
        } catch {
            return .failure(LoadFailure(description: "\(error)"))
        }
    }()
}

/// A made-up jieba package: a five-word dictionary and small HMM tables. The expected segmentations were produced by
/// jieba 0.42.1 itself, given the same dictionary (`jieba.Tokenizer(path)`) and tables (assigned to
/// `jieba.finalseg.start_P`, `trans_P` and `emit_P`).
enum MadeUpJieba {
    static let dictionary = "甲乙 1\n乙丙 1\n甲 1\n乙 1\n丙 1\n"
    static let start = "P={'B': -0.5, 'E': -3.14e+100, 'M': -3.14e+100, 'S': -1.0}\n"
    static let transition = """
        P={'B': {'E': -0.5, 'M': -1.0},
         'E': {'B': -0.6, 'S': -0.8},
         'M': {'E': -0.3, 'M': -1.3},
         'S': {'B': -0.7, 'S': -0.7}}

        """
    static let emptyEmission = "P={'B': {}, 'M': {}, 'E': {}, 'S': {}}\n"
    static let someEmission = """
        from __future__ import unicode_literals

        P={'B': {'\\u4e01': -1.0},
         'M': {'戊': -2.0},
         'E': {'己': -1.0},
         'S': {'丙': -1.0, '甲': -3.0, '∶': -1.0,},
        }

        """

    static func files(dictionary: String = dictionary, start: String = start, transition: String = transition,
                      emission: String = emptyEmission) -> [String: [UInt8]] {
        ["dict.txt": Array(dictionary.utf8), "finalseg/prob_start.py": Array(start.utf8),
         "finalseg/prob_trans.py": Array(transition.utf8), "finalseg/prob_emit.py": Array(emission.utf8)]
    }

    static func segmenter(_ files: [String: [UInt8]]) throws -> JiebaSegmenter {
        try JiebaSegmenter { path in
            guard let bytes = files[path] else { throw JiebaDataError(file: path, line: 0, reason: "no such made-up file") }
            return bytes
        }
    }
}

/// The made-up package with one file broken, and where the error must point.
struct MalformedPackage: Sendable, CustomTestStringConvertible {
    var name: String
    var files: [String: [UInt8]]
    var file: String
    var line: Int
    var testDescription: String { name }

    static let all: [MalformedPackage] = [
        .init(name: "a line without frequency", files: MadeUpJieba.files(dictionary: "甲 1\n乙 2\n丙\n"), file: "dict.txt", line: 3),
        .init(name: "a frequency that is no integer", files: MadeUpJieba.files(dictionary: "甲 1\n乙 two n\n"), file: "dict.txt", line: 2),
        .init(name: "an empty line", files: MadeUpJieba.files(dictionary: "甲 1\n\n乙 2\n"), file: "dict.txt", line: 2),
        .init(name: "two spaces (an empty frequency)", files: MadeUpJieba.files(dictionary: "甲 1\n乙  2\n"), file: "dict.txt", line: 2),
        .init(name: "invalid UTF-8", files: MadeUpJieba.files().merging(["dict.txt": Array("甲 1\n".utf8) + [0xE4, 0xB9, 0x20, 0x31, 0x0A]]) { $1 },
              file: "dict.txt", line: 2),
        .init(name: "frequencies adding up to 0", files: MadeUpJieba.files(dictionary: "甲 0\n"), file: "dict.txt", line: 1),
        .init(name: "an emission that is no number",
              files: MadeUpJieba.files(emission: "P={'B': {},\n 'M': {'戊': 'x'},\n 'E': {}, 'S': {}}\n"), file: "finalseg/prob_emit.py", line: 2),
        .init(name: "an emission table without S", files: MadeUpJieba.files(emission: "P={'B': {}, 'M': {}, 'E': {}}\n"),
              file: "finalseg/prob_emit.py", line: 1),
        .init(name: "no P in prob_emit.py", files: MadeUpJieba.files(emission: "Q={}\n"), file: "finalseg/prob_emit.py", line: 1),
        .init(name: "a start table without S", files: MadeUpJieba.files(start: "P={'B': -0.5,\n 'E': -1, 'M': -1}\n"),
              file: "finalseg/prob_start.py", line: 1),
        .init(name: "an unterminated transition table",
              files: MadeUpJieba.files(transition: "P={'B': {'E': -0.5, 'M': -1.0},\n 'E': {'B': -0.6, 'S': -0.8\n"),
              file: "finalseg/prob_trans.py", line: 3),
    ]
}

/// Tokens compared as code points: `String ==` would equate canonically equivalent tokens (é and e + U+0301).
private func scalars(_ tokens: [String]) -> [[UInt32]] {
    tokens.map { $0.unicodeScalars.map(\.value) }
}

@Suite struct JiebaSegmenterTests {
    @Test("every text of the oracle's corpus: the tokens of jieba.cut",
          .enabled(if: SharedData.enabled, "needs ../shared/data (the QA sets and FLORES); runs in CI"))
    func matchesJiebaOnCorpus() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/jieba-golden.jsonl"
        try Oracle.run("jieba_oracle.py", [path])
        let golden = try JiebaGolden(path: path)
        #expect(golden.rows.count == golden.count)
        #expect(golden.rows.count > 50_000, "the corpus is smaller than expected: \(golden.rows.count) texts")

        let segmenter = try InstalledJieba.segmenter.get()
        // The prefix dictionary is jieba's FREQ (our trie has the empty key too) and its total.
        #expect(segmenter.dictionary.nodeCount - 1 == golden.prefixDictionaryKeys)
        #expect(segmenter.dictionary.logTotal == log(Double(golden.totalFrequency)))

        var mismatches = 0, tokens = 0
        for row in golden.rows {
            let got = segmenter.segment(row.text)
            tokens += got.count
            guard scalars(got) != scalars(row.tokens) else { continue }
            mismatches += 1
            if mismatches <= 5 {
                Issue.record("""
                    \(row.source): \(row.text.prefix(200).debugDescription)
                      jieba: \(row.tokens.prefix(40).map(\.debugDescription).joined(separator: " "))
                      ours:  \(got.prefix(40).map(\.debugDescription).joined(separator: " "))
                    """)
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(golden.rows.count) texts segmented differently from jieba")
        print("jieba parity: \(golden.rows.count - mismatches)/\(golden.rows.count) texts, \(tokens) tokens")
    }

    @Test("sentences of jieba's README and edge cases, as jieba 0.42.1 segments them", arguments: [
        ("我来到北京清华大学", ["我", "来到", "北京", "清华大学"]),
        // 杭研 is no dictionary word: the HMM joins it.
        ("他来到了网易杭研大厦", ["他", "来到", "了", "网易", "杭研", "大厦"]),
        ("小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
         ["小明", "硕士", "毕业", "于", "中国科学院", "计算所", "，", "后", "在", "日本京都大学", "深造"]),
        ("", []),
        // Only \r\n stays together; every other whitespace character is a token of its own.
        ("\r\n \t中文\u{3000}\r\r\n", ["\r\n", " ", "\t", "中文", "\u{3000}", "\r", "\r\n"]),
        ("99.5%的患者服用12.5mg/kg", ["99.5%", "的", "患者", "服用", "12.5", "mg", "/", "kg"]),
        // Code points, not grapheme clusters: the combining accent and the emoji are tokens of their own.
        ("e\u{301}中\u{1F600}国", ["e", "\u{301}", "中", "\u{1F600}", "国"]),
        ("C++和c#都是AT&T的B超", ["C++", "和", "c#", "都", "是", "AT&T", "的", "B超"]),
        // U+9FD0, U+9FD1 are inside U+4E00–U+9FD5 but unknown to dictionary and HMM.
        ("龘龘\u{9FD0}\u{9FD1}是的", ["龘", "龘", "\u{9FD0}", "\u{9FD1}", "是", "的"]),
    ])
    func knownSentences(_ text: String, _ expected: [String]) throws {
        let segmenter = try InstalledJieba.segmenter.get()
        #expect(scalars(segmenter.segment(text)) == scalars(expected))
    }

    @Test("calc: equal route scores go to the longer word, as Python's max over (score, x) does")
    func routeTiesGoToTheLongerWord() throws {
        // Every word has frequency 1: 甲乙|丙 and 甲|乙丙 score exactly the same.
        let segmenter = try MadeUpJieba.segmenter(MadeUpJieba.files())
        #expect(segmenter.segment("甲乙丙") == ["甲乙", "丙"])
        #expect(segmenter.segment("丙甲乙丙甲") == ["丙", "甲乙", "丙", "甲"])
    }

    @Test("Viterbi: MIN_FLOAT emissions and ties resolved as jieba does", arguments: [
        ("no emissions", "丁己", ["丁", "己"]),
        ("no emissions", "庚辛壬", ["庚", "辛", "壬"]),
        ("no emissions", "丙丁己x1.5%y", ["丙", "丁", "己", "x1.5%", "y"]),
        ("some emissions", "丁己", ["丁己"]),
        ("some emissions", "丁戊", ["丁戊"]),
        ("some emissions", "丁戊戊己丙", ["丁戊戊己", "丙"]),
        ("some emissions", "庚辛", ["庚", "辛"]),
        ("some emissions", "丙丁己x1.5%y", ["丙", "丁己", "x1.5%", "y"]),
        ("some emissions", "a甲", ["a", "甲"]),
    ])
    func hiddenMarkovModel(_ emission: String, _ text: String, _ expected: [String]) throws {
        let table = emission == "no emissions" ? MadeUpJieba.emptyEmission : MadeUpJieba.someEmission
        let segmenter = try MadeUpJieba.segmenter(MadeUpJieba.files(emission: table))
        #expect(segmenter.segment(text) == expected)
    }

    @Test("malformed data: the error names the file and the line", arguments: MalformedPackage.all)
    func malformedData(_ package: MalformedPackage) {
        let error = #expect(throws: JiebaDataError.self) { try MadeUpJieba.segmenter(package.files) }
        #expect(error?.file == package.file)
        #expect(error?.line == package.line)
        #expect(error?.description.contains("\(package.file), line \(package.line)") == true)
    }

    @Test("tokens join to the text and are whole code points, whatever the text")
    func tokensJoinToTheText() throws {
        let segmenter = try InstalledJieba.segmenter.get()
        var generator = SplitMix64(seed: 42)
        let pool: [Unicode.Scalar] = ["中", "国", "人", "a", "Z", "1", ".", "%", "-", " ", "\r", "\n", "\u{3000}", "\u{301}",
                                      "\u{1F600}", "\u{9FD6}", "\u{0}", "，", "ア"]
        for _ in 0..<500 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0..<30, using: &generator) { text.append(pool.randomElement(using: &generator)!) }
            let tokens = segmenter.segment(String(text))
            #expect(tokens.flatMap { $0.unicodeScalars.map(\.value) } == text.map(\.value))
            #expect(!tokens.contains(""))
        }
    }
}

/// The oracle's golden file: a header line, then `{"source", "text", "tokens"}` per text (ASCII JSON).
struct JiebaGolden {
    struct Row {
        var source: String
        var text: String
        var tokens: [String]
    }

    struct MalformedGolden: Error, CustomStringConvertible {
        var description: String
    }

    var count: Int
    var prefixDictionaryKeys: Int
    var totalFrequency: Int
    var rows: [Row] = []

    /// Read with MMedIO's scanner rather than JSONSerialization, which drops U+FEFF from strings.
    init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)[...]
        guard let headerLine = lines.popFirst(),
              let header = try JSONSerialization.jsonObject(with: Data(headerLine)) as? [String: Any],
              let count = header["count"] as? Int, let keys = header["prefix_dictionary_keys"] as? Int,
              let total = header["total_frequency"] as? Int
        else { throw MalformedGolden(description: "\(path): no header line") }
        self.count = count
        prefixDictionaryKeys = keys
        totalFrequency = total
        var scanner = JSONObjectScanner(keys: ["source", "text", "tokens"])
        for (index, line) in lines.enumerated() {
            try Data(line).withUnsafeBytes { bytes in
                do {
                    try scanner.scan(bytes)
                    guard let source = scanner.values[0], let text = scanner.values[1], let tokens = scanner.values[2],
                          source.kind == .string, text.kind == .string, tokens.kind == .array
                    else { throw MalformedGolden(description: "\(path): line \(index + 2) lacks source, text or tokens") }
                    rows.append(Row(source: try Self.string(bytes, source.range), text: try Self.string(bytes, text.range),
                                    tokens: try Self.strings(inArray: bytes, tokens.range)))
                } catch let error as JSONObjectScanner.ScanError {
                    throw MalformedGolden(description: "\(path): line \(index + 2): \(error)")
                }
            }
        }
    }

    /// A JSON string body (between the quotes), unescaped.
    private static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws -> String {
        let body = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard body.contains(UInt8(ascii: "\\")) else { return String(decoding: body, as: UTF8.self) }
        var decoded: [UInt8] = []
        try JSONObjectScanner.unescape(body, into: &decoded)
        return String(decoding: decoded, as: UTF8.self)
    }

    /// The elements of a JSON array of strings (already validated by the scanner).
    private static func strings(inArray bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws -> [String] {
        var result: [String] = []
        var index = range.lowerBound
        while index < range.upperBound {
            guard bytes[index] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            let start = index + 1
            var end = start
            while bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
            result.append(try string(bytes, start..<end))
            index = end + 1
        }
        return result
    }
}

/// A seeded generator, so that the random texts are the same on every run.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
