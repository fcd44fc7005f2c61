import Foundation
import MMedIO
import Testing
@testable import MMedTokenizers

/// Golden ids from the independent implementations (HF `tokenizers`, `tiktoken`, `sentencepiece`), written by
/// `Tests/Oracles/tokenizer_oracle.py` once per test run over every text in ../shared/data/text and
/// ../shared/data/qa, llama.cpp's vector inputs and adversarial inputs.
enum TokenizerOracle {
    struct Golden: Sendable {
        var source: String
        var text: String
        var ids: [Int32]
        var decoded: String
        var decodedSkippingSpecial: String
    }

    static let cases: [(name: String, kind: String, file: String)] = [
        ("llama3-tiktoken", "tiktoken-llama3", "llama3/tiktoken/tokenizer.model"),
        ("llama3-hf", "hf", "llama3/hf/tokenizer.json"),
        ("llama2-hf", "hf", "llama2/hf/tokenizer.json"),
        ("llama2-sentencepiece", "sentencepiece", "llama2/tokenizer.model"),
        ("bert-wordpiece", "hf", "bert-wordpiece/all-MiniLM-L6-v2/tokenizer.json"),
    ]

    static let directory = NSTemporaryDirectory() + "mmed-tokenizer-oracle-\(getpid())"

    static func run(_ arguments: [String]) throws { try TokenizerTestData.runOracle("tokenizer_oracle.py", arguments) }

    static let texts: Result<[(source: String, text: String)], any Error> = Result {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/texts.jsonl"
        try run(["corpus", "--shared", TokenizerTestData.shared.path, "--output", path])
        return try readLines(path, keys: ["source", "text"]).map { ($0[0], $0[1]) }
    }

    static func golden(_ index: Int) throws -> [Golden] {
        let texts = try self.texts.get()
        let (name, kind, file) = cases[index]
        let output = directory + "/\(name).jsonl"
        try run(["encode", "--kind", kind, "--tokenizer", TokenizerTestData.shared.path + "/tokenizers/" + file,
                 "--input", directory + "/texts.jsonl", "--output", output])
        let lines = try readLines(output, keys: ["ids", "decode", "decode_skip"])
        guard lines.count == texts.count else {
            throw TokenizerError(.malformed, file: output, "\(lines.count) golden lines for \(texts.count) texts")
        }
        return zip(texts, lines).map { text, line in
            Golden(source: text.source, text: text.text,
                   ids: line[0].dropFirst().dropLast().split(separator: ",").map { Int32($0.trimmingCharacters(in: .whitespaces))! },
                   decoded: line[1], decodedSkippingSpecial: line[2])
        }
    }

    /// The given fields of each JSON line: strings decoded, other values as their JSON text. (MMedIO's scanner, not
    /// JSONSerialization, which drops U+FEFF from strings.)
    static func readLines(_ path: String, keys: [String]) throws -> [[String]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var scanner = JSONObjectScanner(keys: keys)
        var rows: [[String]] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            try Data(line).withUnsafeBytes { bytes in
                try scanner.scan(bytes)
                rows.append(try keys.indices.map { index in
                    guard let value = scanner.values[index] else { throw TokenizerError(.malformed, file: path, "no field \(keys[index])") }
                    let body = UnsafeRawBufferPointer(rebasing: bytes[value.range])
                    guard value.kind == .string, value.hasEscapes else { return String(decoding: body, as: UTF8.self) }
                    var decoded: [UInt8] = []
                    try JSONObjectScanner.unescape(body, into: &decoded)
                    return String(decoding: decoded, as: UTF8.self)
                })
            }
        }
        return rows
    }
}

@Suite(.serialized) struct OracleParityTests {
    @Test("ids, decode and round trip match the independent implementation", arguments: TokenizerOracle.cases.indices)
    func parity(_ index: Int) throws {
        let (name, _, file) = TokenizerOracle.cases[index]
        guard TokenizerTestData.tokenizerFile(file) != nil else { return }
        let goldens = try TokenizerOracle.golden(index)
        let tokenizer = try loadTokenizer(path: TokenizerTestData.shared.path + "/tokenizers/" + file)
        // Byte-level BPE loses nothing: decoding the ids gives the text back.
        let promisesRoundTrip = name.hasPrefix("llama3")
        var idMismatches = 0, decodeMismatches = 0, roundTripFailures = 0, reported = 0
        func report(_ message: String) {
            reported += 1
            if reported <= 8 { Issue.record(Comment(rawValue: "\(name): \(message)")) }
        }
        for golden in goldens {
            let ids = tokenizer.encode(golden.text, addSpecialTokens: true)
            if ids != golden.ids {
                idMismatches += 1
                report("\(golden.source) \(golden.text.prefix(80).debugDescription): ids \(ids.prefix(40)) ≠ \(golden.ids.prefix(40))")
                continue
            }
            let decoded = try tokenizer.decode(ids, skipSpecialTokens: false)
            let skipped = try tokenizer.decode(ids, skipSpecialTokens: true)
            if decoded != golden.decoded || skipped != golden.decodedSkippingSpecial {
                decodeMismatches += 1
                report("\(golden.source) \(golden.text.prefix(80).debugDescription): decode \(decoded.prefix(80).debugDescription) / \(skipped.prefix(80).debugDescription) ≠ \(golden.decoded.prefix(80).debugDescription) / \(golden.decodedSkippingSpecial.prefix(80).debugDescription)")
            }
            // Text that spells a special token encodes to that token, which skipping drops: no round trip promised.
            let spellsSpecialToken = name.hasSuffix("-hf") && golden.text.contains("<|") && golden.text.contains("|>")
            if promisesRoundTrip, !spellsSpecialToken, skipped != golden.text {
                roundTripFailures += 1
                report("\(golden.source): decode(encode(x)) ≠ x for \(golden.text.prefix(80).debugDescription)")
            }
        }
        print("\(name): \(goldens.count) texts, \(goldens.reduce(0) { $0 + $1.ids.count }) tokens; mismatches: ids \(idMismatches), decode \(decodeMismatches), round trip \(roundTripFailures)")
        #expect(goldens.count > 1000)
        #expect(idMismatches == 0)
        #expect(decodeMismatches == 0)
        #expect(roundTripFailures == 0)
    }
}
