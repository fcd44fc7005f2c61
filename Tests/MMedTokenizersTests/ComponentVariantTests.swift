import Foundation
import MMedIO
import Testing
@testable import MMedTokenizers

/// Variants of the three real tokenizer.json files with every normalizer, pre-tokenizer, model option,
/// post-processor, decoder and added-token option MMedTokenizers reads, written and encoded by HF `tokenizers`
/// (`Tests/Oracles/tokenizer_variants.py`) once per test run, over ~2,400 texts.
enum ComponentVariantOracle {
    /// The variants `tokenizer_variants.py generate` writes, in its order (the test checks the two lists agree).
    static let names = [
        "norm-nfc", "norm-nfd", "norm-nfkc-lowercase-stripaccents", "norm-nfkd-stripaccents", "norm-strip-left",
        "norm-strip-right-replace-regex", "norm-replace-prepend", "norm-bert-options",
        "split-removed", "split-isolated", "split-merged-with-previous", "split-merged-with-next", "split-contiguous",
        "pre-whitespace-digits", "pre-whitespacesplit-digits-individual", "pre-bert-cased",
        "metaspace-always-split", "metaspace-first-nosplit", "metaspace-never-split", "metaspace-first-after-split",
        "metaspace-first-normalized", "metaspace-first-prepend",
        "bytelevel-prefix-regex", "bytelevel-noprefix-noregex-nfc", "bytelevel-split-prefix-ignore-merges",
        "bytelevel-then-split",
        "wordpiece-prefix-maxchars", "wordpiece-template-suffix",
        "bpe-prefix-suffix-unk", "bpe-bytefallback-prefix", "bpe-bytefallback-partial",
        "regex-qwen2", "regex-oniguruma-dialect", "regex-empty-matches",
        "strip-decoder",
        "added-llama2", "added-llama3", "added-bert",
    ]

    struct Golden: Sendable {
        var ids: [Int32]
        /// nil where HF panicked while decoding.
        var decoded: String?
        var decodedSkippingSpecial: String?
    }

    static let directory = NSTemporaryDirectory() + "mmed-tokenizer-variants-\(getpid())"

    static func run(_ arguments: [String]) throws { try TokenizerTestData.runOracle("tokenizer_variants.py", arguments) }

    /// Runs the oracle once: the variant files, the texts and every variant's golden file.
    static let prepared: Result<[(source: String, text: String)], any Error> = Result {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let started = Date()
        try run(["generate", "--shared", TokenizerTestData.shared.path, "--output", directory])
        let generated = Date()
        try run(["golden", "--tokenizers", directory, "--texts", directory + "/texts.jsonl", "--output", directory])
        print("tokenizer_variants.py: generate \(String(format: "%.1f", generated.timeIntervalSince(started))) s, golden \(String(format: "%.1f", Date().timeIntervalSince(generated))) s")
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/variants.json"))) as? [[String: Any]] ?? []
        let written = manifest.compactMap { $0["name"] as? String }
        guard written == names else {
            throw TokenizerError(.malformed, file: directory + "/variants.json", "the oracle's variants \(written) are not the test's \(names)")
        }
        return try readLines(directory + "/texts.jsonl", keys: ["source", "text"]).map { ($0[0]!, $0[1]!) }
    }

    static func golden(_ name: String, count: Int) throws -> [Golden] {
        let path = directory + "/\(name).golden.jsonl"
        let lines = try readLines(path, keys: ["ids", "decode", "decode_skip"])
        guard lines.count == count else { throw TokenizerError(.malformed, file: path, "\(lines.count) golden lines for \(count) texts") }
        return lines.map { line in
            Golden(ids: line[0]!.dropFirst().dropLast().split(separator: ",").map { Int32($0.trimmingCharacters(in: .whitespaces))! },
                   decoded: line[1], decodedSkippingSpecial: line[2])
        }
    }

    /// The given fields of each JSON line: strings decoded, null as nil, other values as their JSON text (MMedIO's
    /// scanner, not JSONSerialization, which drops U+FEFF from strings).
    static func readLines(_ path: String, keys: [String]) throws -> [[String?]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var scanner = JSONObjectScanner(keys: keys)
        var rows: [[String?]] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            try Data(line).withUnsafeBytes { bytes in
                try scanner.scan(bytes)
                rows.append(try keys.indices.map { index -> String? in
                    guard let value = scanner.values[index] else { throw TokenizerError(.malformed, file: path, "no field \(keys[index])") }
                    if value.kind == .null { return nil }
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

@Suite(.serialized) struct ComponentVariantTests {
    @Test("each component variant matches HF tokenizers: ids, decode, decode skipping special tokens",
          arguments: ComponentVariantOracle.names)
    func variant(_ name: String) throws {
        // The variants are built from these three files (skipped with a message without them, a failure under CI).
        let bases = ["llama3/hf/tokenizer.json", "llama2/hf/tokenizer.json", "bert-wordpiece/all-MiniLM-L6-v2/tokenizer.json"]
        guard bases.allSatisfy({ TokenizerTestData.tokenizerFile($0) != nil }) else { return }
        let texts = try ComponentVariantOracle.prepared.get()
        let goldens = try ComponentVariantOracle.golden(name, count: texts.count)
        let started = Date()
        let tokenizer = try loadTokenizer(path: ComponentVariantOracle.directory + "/\(name).json")
        let loaded = Date()
        var idMismatches = 0, decodeMismatches = 0, panics = 0, reported = 0
        func report(_ message: String) {
            reported += 1
            if reported <= 4 { Issue.record(Comment(rawValue: "\(name): \(message)")) }
        }
        for (text, golden) in zip(texts, goldens) {
            let ids = tokenizer.encode(text.text, addSpecialTokens: true)
            if ids != golden.ids {
                idMismatches += 1
                let at = (0..<min(ids.count, golden.ids.count)).first { ids[$0] != golden.ids[$0] } ?? min(ids.count, golden.ids.count)
                report("\(text.source) \(text.text.prefix(80).debugDescription): ids differ at \(at): \(ids[max(0, at - 3)..<min(ids.count, at + 8)]) ≠ \(golden.ids[max(0, at - 3)..<min(golden.ids.count, at + 8)]) (\(ids.count) vs \(golden.ids.count) ids)")
                continue
            }
            for (skip, expected) in [(false, golden.decoded), (true, golden.decodedSkippingSpecial)] {
                // HF panics decoding some texts (strip-decoder: a token made only of the stripped character).
                guard let expected else { panics += 1; continue }
                let decoded = try tokenizer.decode(ids, skipSpecialTokens: skip)
                if decoded != expected {
                    decodeMismatches += 1
                    report("\(text.source) \(text.text.prefix(60).debugDescription): decode(skip: \(skip)) \(decoded.prefix(80).debugDescription) ≠ \(expected.prefix(80).debugDescription)")
                    break
                }
            }
        }
        print("\(name): \(goldens.count) texts, \(goldens.reduce(0) { $0 + $1.ids.count }) tokens; mismatches: ids \(idMismatches), decode \(decodeMismatches); HF panicked decoding \(panics); load \(String(format: "%.2f", loaded.timeIntervalSince(started))) s, encode+decode \(String(format: "%.2f", Date().timeIntervalSince(loaded))) s")
        #expect(goldens.count > 1000)
        #expect(idMismatches == 0)
        #expect(decodeMismatches == 0)
        if idMismatches == 0 && decodeMismatches == 0 {   // keep a failing variant's files for a look
            for file in ["\(name).json", "\(name).golden.jsonl"] {
                try? FileManager.default.removeItem(atPath: ComponentVariantOracle.directory + "/" + file)
            }
        }
    }
}
