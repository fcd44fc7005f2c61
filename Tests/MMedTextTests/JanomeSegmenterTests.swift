import Foundation
import MMedIO
import MMedTestSupport
import Testing
import MMedText

/// janome's system dictionary from the installed janome package (scripts/setup pins it), loaded once per test
/// process: loading takes about a second.
enum JanomeTestData {
    static let loaded: Result<JanomeSegmenter, any Error> = Result {
        try JanomeSegmenter(packageFile: { try PythonPackages.read($0, of: "janome") })
    }

    static var segmenter: JanomeSegmenter {
        get throws { try loaded.get() }
    }

    struct MalformedGolden: Error, CustomStringConvertible {
        var description: String
    }

    struct Golden {
        var source: String
        var text: String
        var surfaces: [String]
    }

    /// The rows `janome_oracle.py` writes: `{"source", "text", "surfaces"}`. Read with MMedIO's scanner, not
    /// JSONSerialization, which drops U+FEFF from strings.
    static func readGolden(_ path: String) throws -> [Golden] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var scanner = JSONObjectScanner(keys: ["source", "text", "surfaces"])
        var rows: [Golden] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            try Data(line).withUnsafeBytes { bytes in
                try scanner.scan(bytes)
                guard let source = scanner.values[0], source.kind == .string, let text = scanner.values[1],
                    text.kind == .string, let surfaces = scanner.values[2], surfaces.kind == .array
                else { throw MalformedGolden(description: "\(path): line \(number + 1) lacks source, text or surfaces") }
                rows.append(Golden(
                    source: try string(bytes, source.range), text: try string(bytes, text.range),
                    surfaces: try strings(inArray: bytes, surfaces.range)))
            }
        }
        return rows
    }

    /// A JSON string body (between the quotes), escapes decoded.
    private static func string(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) throws -> String {
        let body = UnsafeRawBufferPointer(rebasing: line[range])
        guard body.contains(UInt8(ascii: "\\")) else { return String(decoding: body, as: UTF8.self) }
        var decoded: [UInt8] = []
        try JSONObjectScanner.unescape(body, into: &decoded)
        return String(decoding: decoded, as: UTF8.self)
    }

    /// The strings of a JSON array of strings (the scanner has validated it).
    private static func strings(inArray line: UnsafeRawBufferPointer, _ range: Range<Int>) throws -> [String] {
        var result: [String] = []
        var index = range.lowerBound
        while index < range.upperBound {
            guard line[index] == UInt8(ascii: "\"") else { index += 1; continue }
            var end = index + 1
            while line[end] != UInt8(ascii: "\"") { end += line[end] == UInt8(ascii: "\\") ? 2 : 1 }
            result.append(try string(line, (index + 1)..<end))
            index = end + 1
        }
        return result
    }
}

@Suite struct JanomeSegmenterTests {
    /// Every text of `janome_oracle.py` (IgakuQA, FLORES, Chinese and English texts, adversarial and seeded random
    /// texts) must split into exactly janome's surfaces.
    @Test(.enabled(if: SharedData.enabled, "needs ../shared/data (IgakuQA, FLORES); runs in CI"))
    func everyOracleTextSplitsAsJanome() throws {
        let path = temporaryDirectory() + "/janome-golden.jsonl"
        let summary = try Oracle.run("janome_oracle.py", [path, "--shared", SharedData.root])
        let golden = try JanomeTestData.readGolden(path)
        let segmenter = try JanomeTestData.segmenter
        let sources = Set(golden.map(\.source))
        for expected in ["igakuqa-question", "igakuqa-choice", "flores-jpn", "ties", "split-offset", "block", "random"] {
            #expect(sources.contains(expected), "the oracle wrote no \(expected) texts")
        }

        let started = Date()
        let splits = golden.map { segmenter.segment($0.text) }
        let seconds = Date().timeIntervalSince(started)
        var mismatches: [String] = []
        for (row, ours) in zip(golden, splits) where ours != row.surfaces {
            let first = zip(ours, row.surfaces).prefix { $0 == $1 }.count
            mismatches.append("[\(row.source)] \(row.text.prefix(80).debugDescription): from word \(first), "
                + "ours \(ours[first...].prefix(6)), janome \(row.surfaces[first...].prefix(6))")
        }
        let characters = golden.reduce(0) { $0 + $1.text.unicodeScalars.count }
        let words = golden.reduce(0) { $0 + $1.surfaces.count }
        print(summary.trimmingCharacters(in: .whitespacesAndNewlines))
        print("JanomeSegmenter: \(golden.count - mismatches.count)/\(golden.count) texts identical (\(words) words, "
            + "\(characters) characters) in \(String(format: "%.2f", seconds)) s")
        #expect(golden.count > 10_000)
        #expect(mismatches.isEmpty, "\(mismatches.count) texts differ from janome; first: \(mismatches.prefix(5).joined(separator: "\n"))")
    }

    @Test func documentedExampleAndTieBreaks() throws {
        let segmenter = try JanomeTestData.segmenter
        // janome's docstring example.
        #expect(segmenter.segment("すもももももももものうち") == ["すもも", "も", "もも", "も", "もも", "の", "うち"])
        // On an equal path cost the dictionary word with the smaller entry id wins...
        #expect(segmenter.segment("一の越もつれあお") == ["一の越", "も", "つれあお"])
        // ...and otherwise the predecessor added first.
        #expect(segmenter.segment("谷河内買い戻せよ") == ["谷河内", "買い戻せよ"])
    }

    @Test func stripsPythonWhitespaceOnly() throws {
        let segmenter = try JanomeTestData.segmenter
        #expect(segmenter.segment("") == [])
        #expect(segmenter.segment(" \t\n\u{3000}\u{A0}\u{1C}\u{85}") == [])
        #expect(segmenter.segment("\u{3000} 肺癌の患者\n") == ["肺癌", "の", "患者"])
        // Inside the text whitespace is a word; U+200B and U+FEFF are not whitespace for Python.
        #expect(segmenter.segment("日本\u{A0}語") == ["日本", "\u{A0}", "語"])
        #expect(segmenter.segment("医師\u{200B}です") == ["医師", "\u{200B}", "です"])
        #expect(segmenter.segment("\u{FEFF}") == ["\u{FEFF}"])
    }

    @Test func unknownWordsFollowCharacterCategories() throws {
        let segmenter = try JanomeTestData.segmenter
        #expect(segmenter.segment("ＣＯＶＩＤ－１９のPCR検査は陽性。")
            == ["ＣＯＶＩＤ", "－", "１", "９", "の", "PCR", "検査", "は", "陽性", "。"])
        // Astral characters have no category (DEFAULT); kanji beyond U+9FA5 neither.
        #expect(segmenter.segment("𠮷野家で😀😀") == ["𠮷", "野家", "で", "😀😀"])
        #expect(segmenter.segment("龘靐齉鿦") == ["龘靐齉", "鿦"])
        // Ð is both SPACE and ALPHA in janome's chardef, so a run of spaces continues through it.
        #expect(segmenter.segment("Ðð ÐÐ") == ["Ðð", " ÐÐ"])
        #expect(segmenter.segment("〇〇〇二〇二三年") == ["〇", "〇", "〇", "二", "〇", "二", "三", "年"])
        #expect(segmenter.segment("αβγ Привет") == ["α", "β", "γ", " ", "Привет"])
    }

    @Test func longTextsAreCutIntoChunks() throws {
        let segmenter = try JanomeTestData.segmenter
        // One unknown word could run to 1,025 characters; the chunk ends at 1,024.
        #expect(segmenter.segment(String(repeating: "a", count: 1030)).map(\.unicodeScalars.count) == [1024, 6])
        let texts = [
            String(repeating: "これはテストです。", count: 300), String(repeating: "漢字", count: 1500),
            String(repeating: "医学\n", count: 400), String(repeating: "あ", count: 2100),
            String(repeating: "患者", count: 250) + "\r\n\r\n" + String(repeating: "検査", count: 300),
        ]
        for text in texts {
            let words = segmenter.segment(text)
            #expect(words.joined() == text.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(!words.contains(""))
        }
    }

    @Test func segmentsConcurrently() async throws {
        let segmenter = try JanomeTestData.segmenter
        let texts = ["肝硬変を母地として発生した肝細胞癌", "筋強直性ジストロフィーでみられるのはどれか。", "嚥下障害", "COVID-19"]
        let expected = texts.map(segmenter.segment)
        let results = await withTaskGroup(of: (Int, [String]).self) { group in
            for round in 0..<32 {
                let index = round % texts.count
                group.addTask { (index, segmenter.segment(texts[index])) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 32)
        for (index, words) in results { #expect(words == expected[index]) }
    }
}

/// A made-up dictionary in janome's package layout: あ, い and あい, a 3×3 matrix of zero connection costs, and
/// one category (DEFAULT) for everything else.
struct TinyJanomePackage {
    var files: [String: String] = [
        "sysdic/connections1.py": "DATA=[[0, 0, 0], [0, 0, 0]]",
        "sysdic/connections2.py": "DATA=[[0, 0, 0]]",
        "sysdic/entries_buckets.py": "DATA={0: (0, 3)}",
        "sysdic/entries_compact0.py": #"DATA={0:(u'\u3042',   1,   1,  100),1:(u'\u3044',   1,   1,  100),2:(u'\u3042\u3044',   1,   1,  250),}"#,
        "sysdic/chardef.py": "DATA=({'DEFAULT': {'INVOKE': False, 'GROUP': True, 'LENGTH': 0}}, [])",
        "sysdic/unknowns.py": "DATA={'DEFAULT': [(2, 2, 1000, '\\u540d\\u8a5e,\\u4e00\\u822c,*,*')]}",
    ]

    struct Missing: Error {}

    func load() throws -> JanomeSegmenter {
        try JanomeSegmenter(packageFile: { path in
            guard let text = files[path] else { throw Missing() }
            return Array(text.utf8)
        })
    }

    /// This package with the entries' words, connection ids and costs replaced.
    static func entries(_ words: [(surface: String, cost: Int)]) -> TinyJanomePackage {
        var package = TinyJanomePackage()
        let body = words.enumerated().map { id, word in
            let escaped = word.surface.unicodeScalars.map { "\\u" + String($0.value, radix: 16) }.joined()
            return "\(id):(u'\(escaped)',   1,   1,  \(word.cost)),"
        }.joined()
        package.files["sysdic/entries_compact0.py"] = "DATA={\(body)}"
        package.files["sysdic/entries_buckets.py"] = "DATA={0: (0, \(words.count))}"
        return package
    }
}

@Suite struct JanomeDictionaryTests {
    /// janome's lattice on a dictionary small enough to follow by hand (checked against janome's own `Tokenizer`
    /// with this dictionary swapped in).
    @Test func cheapestPathAndEntryIdTieBreak() throws {
        #expect(try TinyJanomePackage().load().segment("あい") == ["あ", "い"])
        #expect(try TinyJanomePackage.entries([("あ", 100), ("い", 100), ("あい", 150)]).load().segment("あい") == ["あい"])
        // Equal costs: い (id 1) beats あい (id 2), though あい was added first...
        #expect(try TinyJanomePackage.entries([("あ", 100), ("い", 100), ("あい", 200)]).load().segment("あい") == ["あ", "い"])
        // ...but not あい with id 0.
        #expect(try TinyJanomePackage.entries([("あい", 200), ("あ", 100), ("い", 100)]).load().segment("あい") == ["あい"])
        // Without character ranges everything is DEFAULT, whose unknown words group spaces too.
        #expect(try TinyJanomePackage().load().segment(" あいう x") == ["あ", "い", "う x"])
    }

    @Test(arguments: [
        ("sysdic/entries_compact0.py", "DATA={0:(u'\\u3042',1,1,100),\n1:(u'\\u3044',1,1,oops),\n2:(u'\\u3042\\u3044',1,1,250)}", "line 2"),
        ("sysdic/entries_compact0.py", "DATA={0:(u'\\u3042',1,1,100),\n7:(u'\\u3044',1,1,100)}", "id 7 is outside"),
        ("sysdic/entries_compact0.py", "DATA={0:(u'\\u3042',1,1,100),1:(u'\\u3044',5,1,100),\n2:(u'',1,1,1)}", "outside the 3×3"),
        ("sysdic/entries_compact0.py", "DATA={0:(u'\\u3042',1,1,100),1:(u'\\u3044',1,1,100),\n2:(u'',1,1,1)}", "line 2"),
        ("sysdic/entries_compact0.py", "DATA={0:(u'\\u3042',1,1,100),1:(u'\\u3044',1,1,100)}", "entry 2 is missing"),
        ("sysdic/connections2.py", "# costs\nDATA=[[0, 0]]", "line 2"),
        ("sysdic/connections1.py", "DATA=[[0, 0, 0],\n [0, 0, 0]", "line 2"),
        ("sysdic/chardef.py", "DATA=({'DEFAULT': {'INVOKE': False, 'GROUP': True, 'LENGTH': 0}}, [{'from': 'a', 'to': 'z', 'cate': 'ALPHA'}])", "ALPHA"),
        ("sysdic/chardef.py", "DATA=({'DEFAULT': {'INVOKE': False, 'GROUP': True}}, [])", "LENGTH"),
        ("sysdic/unknowns.py", "DATA={'SPACE': [(2, 2, 1000, 'x')]}", "no entries for category DEFAULT"),
        ("sysdic/unknowns.py", "DATA={'DEFAULT': [(2, 9, 1000, 'x')]}", "outside the 3×3"),
    ])
    func malformedDataNamesTheFileAndLine(file: String, content: String, phrase: String) throws {
        var package = TinyJanomePackage()
        package.files[file] = content
        do {
            _ = try package.load()
            Issue.record("\(file) was accepted: \(content)")
        } catch {
            let message = "\(error)"
            #expect(message.contains(file), "\(message)")
            #expect(message.contains(phrase), "\(message)")
            #expect(message.contains("line "), "\(message)")
        }
    }

    @Test func missingFileIsTheReadersError() throws {
        var withoutChardef = TinyJanomePackage()
        withoutChardef.files["sysdic/chardef.py"] = nil
        let package = withoutChardef
        #expect(throws: TinyJanomePackage.Missing.self) { try package.load() }
    }
}
