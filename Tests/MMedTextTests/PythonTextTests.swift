import Foundation
import Testing
@testable import MMedText

/// Golden tables written by Tests/Oracles/python_text_tables.py (CPython's str.lower and str.isspace).
struct PythonTables: Decodable {
    var python: String
    var unicode: String
    var lower: [[Int]]
    var space: [Int]

    static let shared: (tables: PythonTables, lower: [UInt32: [UInt32]]) = {
        let url = Bundle.module.url(forResource: "python-text-tables", withExtension: "json", subdirectory: "Fixtures")!
        let raw = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var lower: [UInt32: [UInt32]] = [:]
        for entry in raw["lower"] as! [[Any]] {
            lower[UInt32(entry[0] as! Int)] = (entry[1] as! [Int]).map(UInt32.init)
        }
        let tables = PythonTables(python: raw["python"] as! String, unicode: raw["unicode"] as! String, lower: [], space: raw["space"] as! [Int])
        return (tables, lower)
    }()
}

/// Whether a scalar was assigned in the Unicode version of the golden tables (newer letters may have case).
func assigned(_ scalar: Unicode.Scalar, by version: String) -> Bool {
    guard let age = scalar.properties.age else { return false }
    let parts = version.split(separator: ".").compactMap { Int($0) }
    return (age.major, age.minor) <= (parts[0], parts.count > 1 ? parts[1] : 0)
}

@Suite struct PythonLowercaseTests {
    @Test func everyScalarLowercasesAsCPython() throws {
        let (tables, lower) = PythonTables.shared
        var checked = 0
        var mismatches: [String] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value), assigned(scalar, by: tables.unicode) else { continue }
            let expected = lower[value] ?? [value]
            let ours = PythonText.lowercased(String(Character(scalar))).unicodeScalars.map(\.value)
            if ours != expected { mismatches.append(String(value, radix: 16)) }
            checked += 1
        }
        #expect(checked > 140_000)
        #expect(mismatches.isEmpty, "scalars lower-cased differently from CPython \(tables.python): \(mismatches.prefix(20))")
    }

    @Test func whitespaceIsCPythonsIsspace() {
        let (tables, _) = PythonTables.shared
        let expected = Set(tables.space.map(UInt32.init))
        let ours = Set((UInt32(0)...0x10FFFF).filter { PythonText.isWhitespace($0) })
        #expect(ours == expected)
        #expect(!PythonText.isWhitespace(0x200B))  // zero-width space
        #expect(!PythonText.isWhitespace(0x180E))  // Mongolian vowel separator (not since Unicode 6.3)
    }

    @Test(arguments: [
        ("ΟΔΟΣ", "οδος"),                 // final sigma at the end of a word
        ("ΟΔΟΣ ΚΑΙ", "οδος και"),
        ("Σ", "σ"),                       // alone: not final
        ("ΑΣ.", "ας."),                   // '.' is case-ignorable and not cased
        ("Α'Σ", "α'ς"),                   // case-ignorable apostrophe before
        ("ΑΣ'Α", "ασ'α"),                 // cased letter after case-ignorable: not final
        ("1Σ", "1σ"),                     // preceded by a non-cased letter
        ("İstanbul", "i̇stanbul"),        // U+0130 → i + U+0307
        ("ẞ", "ß"),
        ("ÀÉÎÕÜ", "àéîõü"),
        ("ДНК И РНК", "днк и рнк"),
        ("ＡＢＣ", "ａｂｃ"),                 // fullwidth
        ("Ⅻ", "ⅻ"),                       // roman numeral (Other_Uppercase)
        ("𐐀", "𐐨"),                       // Deseret (astral)
        ("医学 DNA 検査", "医学 dna 検査"),
        ("ǅ", "ǆ"),                       // title-case digraph
        ("K", "k"),                       // Kelvin sign
    ])
    func knownCases(input: String, expected: String) {
        #expect(PythonText.lowercased(input) == expected)
    }

    @Test func lowercaseReportsInvalidUTF8AndCountsCodePoints() {
        let bytes: [UInt8] = Array("abc é ".utf8) + [0xFF] + Array("xyz".utf8)
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count * 2 + 16)
        defer { output.deallocate() }
        let result = bytes.withUnsafeBytes { PythonText.lowercase($0, into: output) }
        #expect(result.invalidUTF8Offset == 7)
        let valid = Array("AbC\u{130}\u{1F600}x".utf8)
        let ok = valid.withUnsafeBytes { PythonText.lowercase($0, into: output) }
        #expect(ok.invalidUTF8Offset == nil)
        #expect(ok.codePoints == 6)
        #expect(String(decoding: UnsafeBufferPointer(start: output, count: ok.outputCount), as: UTF8.self) == "abci\u{307}\u{1F600}x")
    }

    @Test(arguments: [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80]] as [[UInt8]])
    func rejectsOverlongSurrogateAndTruncatedSequences(bytes: [UInt8]) {
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        defer { output.deallocate() }
        let result = (Array("ok ".utf8) + bytes).withUnsafeBytes { PythonText.lowercase($0, into: output) }
        #expect(result.invalidUTF8Offset == 3)
    }

    @Test func splitMatchesPythonOnUnicodeWhitespace() {
        let text = "a\u{A0}b\u{3000}c\u{2028}d\u{85}e\u{1C}f\u{200B}g\r\nh\u{180E}i"
        #expect(PythonText.split(text) == ["a", "b", "c", "d", "e", "f\u{200B}g", "h\u{180E}i"])
        #expect(PythonText.split("  ") == [])
    }
}

@Suite struct LanguageTests {
    @Test func parsesCodesAndTheOriginalJapaneseCode() {
        #expect(Language(code: "jp") == .ja)
        #expect(Language(code: "EN") == .en)
        #expect(Language(code: "xx") == nil)
        #expect(Language.allCases.count == 8)
    }
}
