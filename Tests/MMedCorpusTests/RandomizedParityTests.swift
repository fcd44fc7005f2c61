import Foundation
import MMedCorpus
import MMedText
import Testing

/// Differential test against the Python oracle, run at test time on thousands of seeded random texts that mix
/// keywords of the list (in random case) with exotic whitespace, attached punctuation, Greek sigma, Turkish İ,
/// ẞ, combining marks, ligatures and emoji: text no golden file holds.
@Suite struct RandomizedParityTests {
    struct Configuration: CustomTestStringConvertible, Sendable {
        var language: Language
        var mode: MatchMode
        /// Keywords written to a file for both sides; nil: MMedKit's bundled list.
        var keywords: [String]?
        var testDescription: String { "\(language.rawValue)-\(mode.rawValue)\(keywords == nil ? "" : "-custom")" }
    }

    static let configurations: [Configuration] = [
        .init(language: .en, mode: .paper), .init(language: .en, mode: .published),
        .init(language: .zh, mode: .paper), .init(language: .zh, mode: .published),
        .init(language: .ja, mode: .paper), .init(language: .ru, mode: .paper), .init(language: .fr, mode: .published),
        .init(language: .ar, mode: .paper), .init(language: .de, mode: .paper),
        .init(language: .en, mode: .paper, keywords: ["ΟΔΟΣ", "ὈΔΥΣΣΕΎΣ", "Σ", "σ", "ς", "İstanbul", "İSTANBUL HASTANESİ", "straße", "STRAẞE",
                                                       "ﬁlm", "café", "cafe\u{301}", "stem cell", "x ray", "CT scan", "ab", "aba", "abab",
                                                       "Κ", "ǅemal", "🦠", "SIDA", "Sida", "ıi", "Ⅻ century"]),
        .init(language: .zh, mode: .paper, keywords: ["ΟΔΟΣ", "σ", "İ", "aa", "aaa", "癌症", "癌", "高血压", "DNA检测", "🦠病毒", "x ray"]),
    ]

    static let python: String? = {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] + (ProcessInfo.processInfo.environment["PATH"] ?? "")
            .split(separator: ":").map({ "\($0)/python3" }) where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return nil
    }()

    static var enabled: Bool { python != nil || SharedData.isCI }

    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        mutating func pick<T>(_ items: [T]) -> T { items[next(items.count)] }
    }

    static func texts(for configuration: Configuration, keywords: [String], count: Int) -> [String] {
        var random = Generator(state: UInt64(truncatingIfNeeded: configuration.testDescription.unicodeScalars.reduce(7) { $0 &* 31 &+ Int($1.value) }))
        let separators = [" ", " ", " ", " ", "\n", "\t", "\u{A0}", "\u{3000}", "\u{2028}", "\u{2029}", "\u{85}", "\u{1C}", "\u{1F}", "\u{0B}",
                          "\u{200B}", "\u{180E}", "\r\n", "\u{2009}", "\u{FEFF}", "", "\u{1680}", "\u{202F}"]
        let punctuation = ["", "", "", "", ",", ".", "(", ")", "'", "-", "\"", ":", "«", "»", "、", "。"]
        let specials = ["İ", "Σ", "ς", "σ", "ẞ", "ß", "e\u{301}", "\u{301}", "🦠", "ﬁ", "Ⅻ", "\u{212A}", "ǅ", "Ω", "ΑΣ", "Σ.", "\u{345}",
                        "ŉ", "ΐ", "İİ", "i\u{307}", "Ａ", "𐐀", "\u{1E900}", "Ꭰ"]
        let cjk = Array("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严").map(String.init)
        return (0..<count).map { _ in
            var text = ""
            for _ in 0..<(2 + random.next(60)) {
                var piece: String
                switch random.next(10) {
                case 0...3:
                    let keyword = random.pick(keywords)
                    switch random.next(4) {
                    case 0: piece = keyword.uppercased()
                    case 1: piece = keyword.capitalized
                    default: piece = keyword
                    }
                case 4, 5:
                    piece = configuration.language.isUnspaced
                        ? (0..<(1 + random.next(4))).map { _ in random.pick(cjk) }.joined()
                        : String((0..<(1 + random.next(9))).map { _ in Character(Unicode.Scalar(UInt8(97 + random.next(26)))) })
                case 6: piece = random.pick(specials)
                default: piece = random.pick(keywords)
                }
                text += random.pick(punctuation) + piece + random.pick(punctuation)
                text += configuration.language.isUnspaced && random.next(2) == 0 ? "" : random.pick(separators)
            }
            return text
        }
    }

    /// One JSONL record holding `text`, every non-ASCII character escaped, so the oracle reads the exact text.
    static func jsonLine(_ text: String) -> String {
        "{\"text\": " + pythonJSONString(text, asciiOnly: true) + "}\n"
    }

    @Test(.enabled(if: enabled, "needs python3 for the oracle; runs in CI"), arguments: configurations)
    func filterAgreesWithTheOracleOnRandomText(configuration: Configuration) throws {
        let python = try #require(Self.python, "python3 is missing: scripts/setup installs it")
        let directory = NSTemporaryDirectory() + "mmed-random-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let list: KeywordList
        let keywordPath = directory + "/keywords.txt"
        if let keywords = configuration.keywords {
            try keywords.joined(separator: "\n").write(toFile: keywordPath, atomically: true, encoding: .utf8)
            list = KeywordList(name: "custom", keywords: keywords)
        } else {
            list = try KeywordList.bundled(configuration.language)
            try list.keywords.joined(separator: "\n").write(toFile: keywordPath, atomically: true, encoding: .utf8)
        }
        let texts = Self.texts(for: configuration, keywords: list.keywords, count: 1500)
        try texts.map(Self.jsonLine).joined().write(toFile: directory + "/docs.jsonl", atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Repository.root + "/Tests/Oracles/keyword_filter_oracle.py", "score", "--lang", configuration.language.rawValue,
                             "--keywords", keywordPath, "--mode", configuration.mode.rawValue, "--mkc", "2", "--dens", "0.03"]
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: directory + "/docs.jsonl"))
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "the oracle failed")
        let rows = try String(decoding: data, as: UTF8.self).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        try #require(rows.count == texts.count)

        let filter = MedicalKeywordFilter(list: list, language: configuration.language,
                                          thresholds: Thresholds(minKeywordCount: 2, minDensity: 0.03), mode: configuration.mode)
        let scorer = KeywordScorer(matcher: filter.matcher)
        var disagreements: [String] = []
        var kept = 0
        for (index, (text, row)) in zip(texts, rows).enumerated() {
            let score = try scorer.score(text).get()
            let ours = [score.uniqueKeywordCount, score.keywordCharacters, score.length, filter.keeps(score) ? 1 : 0]
            let oracle = [(row["mkc"] as! NSNumber).intValue, (row["chars"] as! NSNumber).intValue,
                          (row["length"] as! NSNumber).intValue, row["keep"] as! Bool ? 1 : 0]
            if ours[3] == 1 { kept += 1 }
            if ours != oracle { disagreements.append("doc \(index) \(Self.jsonLine(text).prefix(200)): ours \(ours), oracle \(oracle)") }
        }
        #expect(kept > 0 && kept < texts.count, "both decisions occur")
        #expect(disagreements.isEmpty, "\(disagreements.count)/\(texts.count) differ: \(disagreements.prefix(3))")
    }

    @Test func randomBytesNeverCrashAndInvalidUTF8IsFoundExactly() throws {
        let filter = MedicalKeywordFilter(list: try KeywordList.bundled(.en), language: .en,
                                          thresholds: Thresholds(minKeywordCount: 1, minDensity: 0), mode: .paper)
        let scorer = KeywordScorer(matcher: filter.matcher)
        var random = Generator(state: 20261125)
        // Bytes biased towards UTF-8 structure: ASCII, lead bytes, continuation bytes, and the edges between them.
        let alphabet: [UInt8] = Array(0x20...0x7E) + [0x09, 0x0A, 0x00, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xCE,
                                                      0xDF, 0xE0, 0xE1, 0xE2, 0xE3, 0xE9, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var invalid = 0
        for _ in 0..<20_000 {
            let bytes = (0..<random.next(48)).map { _ in random.pick(alphabet) }
            let reference = String(validating: bytes, as: UTF8.self)
            let result = bytes.withUnsafeBytes { scorer.score($0) }
            switch result {
            case .success(let score):
                #expect(reference != nil, "accepted invalid UTF-8 \(bytes)")
                #expect(score.length == reference?.unicodeScalars.count)
            case .failure:
                invalid += 1
                #expect(reference == nil, "rejected valid UTF-8 \(bytes)")
            }
        }
        #expect(invalid > 1000 && invalid < 19_000)
    }
}
