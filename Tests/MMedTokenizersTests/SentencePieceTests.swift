import Foundation
import Testing
@testable import MMedTokenizers

/// Where the SentencePiece tests find their data: `../shared/data` beside the checkout (real third-party files),
/// and the Python `sentencepiece` oracle (`Tests/Oracles/sentencepiece_models.py`).
enum SentencePieceTestData {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }   // Tests/MMedTokenizersTests/SentencePieceTests.swift
        return url
    }()
    static let sharedData = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data").path
    static let llamaModel = sharedData + "/tokenizers/llama2/tokenizer.model"
    static let llamaVectors = sharedData + "/tokenizers/llama2/test-vectors/ggml-vocab-llama-spm.gguf"

    static var isCI: Bool { ["true", "1"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "") }
    static var sharedDataPresent: Bool { FileManager.default.fileExists(atPath: llamaModel) }
    /// Tests that need the shared data run when it is there, and always in CI, where its absence must fail them.
    static var sharedDataEnabled: Bool { sharedDataPresent || isCI }

    static let pythonHasSentencePiece: Bool = {
        (try? runPython(["-c", "import sentencepiece"]).status) == 0
    }()
    static var oracleEnabled: Bool { (sharedDataPresent && pythonHasSentencePiece) || isCI }

    static func runPython(_ arguments: [String]) throws -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let errors = errorPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: errors, as: UTF8.self))
    }

    struct Golden: Decodable {
        let sentencepiece: String
        let models: [Model]
    }
    struct Model: Decodable {
        let name: String
        let model: String
        let vocab_size: Int
        let bos: Int32, eos: Int32, pad: Int32, unk: Int32
        let pieces: [String]
        let piece_to_id: [Int32]
        let encodes: [Encode]
        let decodes: [Decode]
    }
    struct Encode: Decodable {
        let text: String
        let ids: [Int32]
        let decoded: String
    }
    struct Decode: Decodable {
        let ids: [Int32]
        let text: String
        let text_without_control: String
    }

    struct OracleOutput {
        let golden: Golden
        /// The model files, read before the oracle's temporary folder is removed.
        let modelBytes: [String: [UInt8]]
    }

    /// The oracle's output, produced once per test process (training the small models takes ~10 s).
    static let oracle: Result<OracleOutput, any Error> = Result {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mmed-sentencepiece-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let script = packageRoot.appendingPathComponent("Tests/Oracles/sentencepiece_models.py").path
        let run = try runPython([script, "--shared", sharedData, "--out", output.path, "--llama", llamaModel])
        guard run.status == 0 else {
            throw TokenizerError(.io, "the sentencepiece oracle failed (\(run.status)): \(run.errors)")
        }
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: output.appendingPathComponent("golden.json")))
        let modelBytes = Dictionary(uniqueKeysWithValues: try golden.models.map {
            ($0.name, try [UInt8](Data(contentsOf: URL(fileURLWithPath: $0.model))))
        })
        return OracleOutput(golden: golden, modelBytes: modelBytes)
    }

    /// Names in the oracle's output, so each model is its own test case.
    static let oracleModelNames = [
        "llama2", "unigram_nfkc", "bpe_byte_fallback", "bpe_identity_unk", "unigram_suffix_bytes", "unigram_no_dummy_prefix",
        "unigram_custom_rules", "bpe_unused", "unigram_unused", "char", "word",
    ]
}

/// A protobuf writer for the hand-made models of the tests below (our own bytes, independent of the reader).
struct SentencePieceProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 { bytes.append(UInt8(value & 0x7F) | 0x80); value >>= 7 }
        bytes.append(UInt8(value))
    }
    mutating func varintField(_ field: Int, _ value: UInt64) { varint(UInt64(field << 3)); varint(value) }
    mutating func lengthDelimited(_ field: Int, _ payload: [UInt8]) {
        varint(UInt64(field << 3 | 2)); varint(UInt64(payload.count)); bytes += payload
    }
    mutating func float(_ field: Int, _ value: Float) {
        varint(UInt64(field << 3 | 5))
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }

    /// A model with the given pieces (text, score, type number) and trainer/normalizer settings.
    static func model(pieces: [(String, Float, Int)], modelType: Int, byteFallback: Bool = false,
                      addDummyPrefix: Bool = true, removeExtraWhitespaces: Bool = true,
                      precompiledCharsMap: [UInt8]? = nil) -> [UInt8] {
        var model = SentencePieceProtoWriter()
        for (text, score, type) in pieces {
            var piece = SentencePieceProtoWriter()
            piece.lengthDelimited(1, Array(text.utf8))
            piece.float(2, score)
            piece.varintField(3, UInt64(type))
            model.lengthDelimited(1, piece.bytes)
        }
        var trainer = SentencePieceProtoWriter()
        trainer.varintField(3, UInt64(modelType))
        trainer.varintField(35, byteFallback ? 1 : 0)
        model.lengthDelimited(2, trainer.bytes)
        var normalizer = SentencePieceProtoWriter()
        normalizer.lengthDelimited(1, Array("identity".utf8))
        normalizer.varintField(3, addDummyPrefix ? 1 : 0)
        normalizer.varintField(4, removeExtraWhitespaces ? 1 : 0)
        if let precompiledCharsMap { normalizer.lengthDelimited(2, precompiledCharsMap) }
        model.lengthDelimited(3, normalizer.bytes)
        return model.bytes
    }

    /// A small BPE vocabulary over "a", "b", "▁": unknown, control, then normal pieces by decreasing score.
    static let smallBPE: [UInt8] = model(pieces: [
        ("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3),
        ("aa", -1, 1), ("▁a", -2, 1), ("ab", -3, 1), ("aaaa", -4, 1), ("▁ab", -5, 1), ("<med>", 0, 4),
        ("▁", -6, 1), ("a", -7, 1), ("b", -8, 1),
    ], modelType: 2, addDummyPrefix: false, removeExtraWhitespaces: false)
}

@Suite("SentencePiece")
struct SentencePieceTests {
    typealias Files = SentencePieceTestData

    // MARK: - Llama 2: llama.cpp's test vectors

    @Test("llama.cpp test vectors for Llama 2 (no BOS)",
          .enabled(if: SentencePieceTestData.sharedDataEnabled, "../shared/data is missing (set CI=true to fail instead)"))
    func llamaCppVectors() throws {
        let tokenizer = try loadTokenizer(path: Files.llamaModel)
        #expect(tokenizer is SentencePieceTokenizer)
        // Inputs are separated by a line "__ggml_vocab_test__" (the file ends with one); outputs are one line each
        // of space-separated ids.
        let inputs = try String(contentsOfFile: Files.llamaVectors + ".inp", encoding: .utf8)
            .components(separatedBy: "\n__ggml_vocab_test__\n").dropLast()
        let outputs = try String(contentsOfFile: Files.llamaVectors + ".out", encoding: .utf8)
            .components(separatedBy: "\n").dropLast()
        #expect(inputs.count == 46)
        #expect(inputs.count == outputs.count)
        for (input, output) in zip(inputs, outputs) {
            let expected = output.split(separator: " ").map { Int32($0)! }
            #expect(tokenizer.encode(input, addSpecialTokens: false) == expected, "input \(input.debugDescription)")
        }
    }

    @Test("Llama 2: special tokens, BOS, piece lookups, unknown ids",
          .enabled(if: SentencePieceTestData.sharedDataEnabled, "../shared/data is missing (set CI=true to fail instead)"))
    func llamaBasics() throws {
        let tokenizer = try loadTokenizer(path: Files.llamaModel)
        #expect(tokenizer.vocabularySize == 32000)
        #expect(tokenizer.specialTokens == SpecialTokenIDs(bos: 1, eos: 2, pad: nil, unk: 0))
        #expect(tokenizer.encode("Hello world", addSpecialTokens: true) == [1, 15043, 3186])
        #expect(tokenizer.encode("Hello world", addSpecialTokens: false) == [15043, 3186])
        #expect(tokenizer.encode("", addSpecialTokens: true) == [1])
        #expect(tokenizer.tokenString(for: 15043) == "▁Hello")
        #expect(tokenizer.tokenString(for: 32000) == nil)
        #expect(tokenizer.tokenString(for: -1) == nil)
        #expect(tokenizer.id(forToken: "▁Hello") == 15043)
        #expect(tokenizer.id(forToken: "<0x0A>") == 13)
        #expect(tokenizer.id(forToken: "no such piece") == nil)
        #expect(try tokenizer.decode([1, 15043, 3186, 2], skipSpecialTokens: true) == "Hello world")
        for bad: Int32 in [-1, 32000, .max] {
            #expect(throws: TokenizerError.self) { try tokenizer.decode([15043, bad], skipSpecialTokens: false) }
            do {
                _ = try tokenizer.decode([bad], skipSpecialTokens: true)
            } catch let error as TokenizerError {
                #expect(error.kind == .unknownID)
            }
        }
    }

    // MARK: - Golden comparison with the Python sentencepiece library

    @Test("encode and decode match Python sentencepiece", .enabled(if: SentencePieceTestData.oracleEnabled,
          "needs ../shared/data and python3 with sentencepiece (set CI=true to fail instead)"),
          arguments: SentencePieceTestData.oracleModelNames)
    func matchesPythonSentencePiece(modelName: String) throws {
        let oracle = try Files.oracle.get()
        // The tokenizer follows sentencepiece 0.2.3 (Tests/Oracles/requirements.txt); other versions encode some
        // long unigram texts differently.
        #expect(oracle.golden.sentencepiece == "0.2.3", "the oracle ran with sentencepiece \(oracle.golden.sentencepiece)")
        let model = try #require(oracle.golden.models.first { $0.name == modelName })
        let bytes = try #require(oracle.modelBytes[modelName])
        let tokenizer = try SentencePieceTokenizer(modelProto: bytes, file: model.model)

        #expect(tokenizer.vocabularySize == model.vocab_size)
        func optional(_ id: Int32) -> Int32? { id < 0 ? nil : id }
        #expect(tokenizer.specialTokens == SpecialTokenIDs(bos: optional(model.bos), eos: optional(model.eos),
                                                           pad: optional(model.pad), unk: optional(model.unk)))
        #expect(model.pieces.count == model.vocab_size)
        var pieceMismatches = 0
        for (id, piece) in model.pieces.enumerated() where pieceMismatches < 5 {
            if tokenizer.tokenString(for: Int32(id)) != piece || tokenizer.id(forToken: piece) != model.piece_to_id[id] {
                pieceMismatches += 1
                Issue.record("piece \(id) \(piece.debugDescription): \(String(describing: tokenizer.tokenString(for: Int32(id)))), id \(String(describing: tokenizer.id(forToken: piece)))")
            }
        }

        #expect(model.encodes.count > 300)
        var mismatches = 0
        for encode in model.encodes where mismatches < 10 {
            let ids = tokenizer.encode(encode.text, addSpecialTokens: false)
            let decoded = try tokenizer.decode(encode.ids, skipSpecialTokens: false)
            if ids != encode.ids || decoded != encode.decoded {
                mismatches += 1
                Issue.record("""
                    \(modelName): \(encode.text.prefix(200).debugDescription)
                      ids ours   \(ids.prefix(60))
                      ids python \(encode.ids.prefix(60))
                      decoded ours   \(decoded.prefix(200).debugDescription)
                      decoded python \(encode.decoded.prefix(200).debugDescription)
                    """)
            }
            if let bos = tokenizer.specialTokens.bos, tokenizer.encode(encode.text, addSpecialTokens: true) != [bos] + encode.ids {
                Issue.record("\(modelName): with BOS, \(encode.text.prefix(100).debugDescription) is not BOS + its ids")
            }
        }

        #expect(model.decodes.count > 100)
        for decode in model.decodes where mismatches < 20 {
            let text = try tokenizer.decode(decode.ids, skipSpecialTokens: false)
            let withoutControl = try tokenizer.decode(decode.ids, skipSpecialTokens: true)
            if text != decode.text || withoutControl != decode.text_without_control {
                mismatches += 1
                Issue.record("""
                    \(modelName): decode \(decode.ids)
                      ours   \(text.debugDescription) / \(withoutControl.debugDescription)
                      python \(decode.text.debugDescription) / \(decode.text_without_control.debugDescription)
                    """)
            }
        }
    }

    // MARK: - Hand-made models

    @Test("BPE merges the best-scoring pair first, the leftmost on a tie, and keeps user-defined pieces whole")
    func bpeMergeOrder() throws {
        let tokenizer = try SentencePieceTokenizer(modelProto: SentencePieceProtoWriter.smallBPE, file: "small")
        // "aaa": both pairs are "aa" (score -1); the left one merges, then "aaa" is no piece.
        #expect(tokenizer.encode("aaa", addSpecialTokens: false) == [3, 10])
        // "aaaa": "aa"+"aa", then "aaaa".
        #expect(tokenizer.encode("aaaa", addSpecialTokens: false) == [6])
        // "ab": "ab" (-3) is the only pair.
        #expect(tokenizer.encode("ab", addSpecialTokens: false) == [5])
        // " ab": "▁a" (-2) beats "ab" (-3); then "▁ab".
        #expect(tokenizer.encode(" ab", addSpecialTokens: false) == [7])
        // A user-defined piece never merges with its neighbours ("a<med>" is no pair even though "a" could merge).
        #expect(tokenizer.encode("a<med>a", addSpecialTokens: false) == [10, 8, 10])
        // Characters without a piece: one unknown id for the whole run (no byte fallback).
        #expect(tokenizer.encode("xyz a zz", addSpecialTokens: false) == [0, 4, 9, 0])
        #expect(try tokenizer.decode([0, 4, 0], skipSpecialTokens: false) == " ⁇  a ⁇ ")
        #expect(try tokenizer.decode([1, 3, 2], skipSpecialTokens: false) == "aa")
    }

    @Test("BPE stays fast on 1 MB without spaces and on long runs of one character")
    func bpeLongInputs() throws {
        let tokenizer = try SentencePieceTokenizer(modelProto: SentencePieceProtoWriter.smallBPE, file: "small")
        let clock = ContinuousClock()
        // A quadratic merge loop would need ~10^12 steps here; the heap needs ~10^7 (even in a debug build, seconds).
        let run = String(repeating: "a", count: 1_000_000)
        var ids: [Int32] = []
        let elapsed = clock.measure { ids = tokenizer.encode(run, addSpecialTokens: false) }
        #expect(ids == [Int32](repeating: 6, count: 250_000))
        #expect(elapsed < .seconds(60), "1 MB of \"a\" took \(elapsed)")
        let mixed = String(repeating: "abaab", count: 200_000)
        let mixedElapsed = clock.measure { ids = tokenizer.encode(mixed, addSpecialTokens: false) }
        #expect(try tokenizer.decode(ids, skipSpecialTokens: false) == mixed)
        #expect(mixedElapsed < .seconds(60), "1 MB of \"abaab\" took \(mixedElapsed)")
    }

    @Test("Llama 2 encodes 1 MB of Chinese without spaces",
          .enabled(if: SentencePieceTestData.sharedDataEnabled, "../shared/data is missing (set CI=true to fail instead)"))
    func llamaLongChinese() throws {
        let tokenizer = try loadTokenizer(path: Files.llamaModel)
        let lines = try String(contentsOfFile: Files.sharedData + "/text/flores200-devtest/zho_Hans.devtest", encoding: .utf8)
            .split(separator: "\n").joined()
        var text = ""
        while text.utf8.count < 1_000_000 { text += lines }
        let clock = ContinuousClock()
        var ids: [Int32] = []
        let elapsed = clock.measure { ids = tokenizer.encode(text, addSpecialTokens: false) }
        #expect(elapsed < .seconds(60), "took \(elapsed)")
        // Llama 2 has byte fallback, so decoding gives every character back.
        #expect(try tokenizer.decode(ids, skipSpecialTokens: false) == text)
    }

    @Test("UNIGRAM takes the best-scoring path and scores unknown characters min score - 10")
    func unigramBestPath() throws {
        // Pieces: "ab" (-1) beats "a"+"b" (-2 + -2); "abc" is reachable as "ab"+"c" (-1 - 3 = -4) or "a"+"bc"
        // (-2 - 1.5 = -3.5): the latter wins. "x" has no piece: unknown.
        let model = SentencePieceProtoWriter.model(pieces: [
            ("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3),
            ("ab", -1, 1), ("a", -2, 1), ("b", -2, 1), ("c", -3, 1), ("bc", -1.5, 1), ("▁", -5, 1),
        ], modelType: 1, addDummyPrefix: false)
        let tokenizer = try SentencePieceTokenizer(modelProto: model, file: "unigram")
        #expect(tokenizer.encode("ab", addSpecialTokens: false) == [3])
        #expect(tokenizer.encode("abc", addSpecialTokens: false) == [4, 7])
        #expect(tokenizer.encode("xxab", addSpecialTokens: false) == [0, 3])
        #expect(tokenizer.encode("ab ab", addSpecialTokens: true) == [1, 3, 8, 3])
        #expect(try tokenizer.decode([3, 8, 3], skipSpecialTokens: false) == "ab ab")

        // "xyz" is "xy" (-20, the lowest score) + "z", or an unknown "x" + "yz" (-1). The unknown costs
        // -20 - 10 = -30, so the second path scores -31: it loses to "z" at -10.5 (-30.5) and wins against "z" at
        // -11.5 (-31.5). A penalty other than 10 (±0.5) would flip one of the two.
        func penaltyModel(zScore: Float) throws -> SentencePieceTokenizer {
            try SentencePieceTokenizer(modelProto: SentencePieceProtoWriter.model(pieces: [
                ("<unk>", 0, 2), ("xy", -20, 1), ("yz", -1, 1), ("z", zScore, 1),
            ], modelType: 1, addDummyPrefix: false), file: "penalty")
        }
        #expect(try penaltyModel(zScore: -10.5).encode("xyz", addSpecialTokens: false) == [1, 3])
        #expect(try penaltyModel(zScore: -11.5).encode("xyz", addSpecialTokens: false) == [0, 2])
    }

    @Test("encodeBatch on all cores gives the same ids as encoding one text at a time (the BPE word caches are per call)")
    func concurrentEncodingMatchesSequential() throws {
        let tokenizer: any Tokenizer
        var texts: [String]
        if Files.sharedDataPresent {
            tokenizer = try loadTokenizer(path: Files.llamaModel)
            texts = []
            for language in ["eng_Latn", "zho_Hans", "deu_Latn", "rus_Cyrl"] {
                texts += try String(contentsOfFile: Files.sharedData + "/text/flores200-devtest/\(language).devtest", encoding: .utf8)
                    .split(separator: "\n").prefix(300).map(String.init)
            }
        } else {
            tokenizer = try SentencePieceTokenizer(modelProto: SentencePieceProtoWriter.smallBPE, file: "small")
            var generator = SentencePieceTestRandom(seed: 7)
            texts = (0..<1000).map { _ in
                String((0..<Int(generator.next() % 60)).map { _ in ["a", "b", " ", "x", "<med>"][Int(generator.next() % 5)] }.joined())
            }
        }
        // Twice, so the second pass runs on caches filled by the first.
        for _ in 0..<2 {
            let batch = tokenizer.encodeBatch(texts, addSpecialTokens: true)
            let sequential = texts.map { tokenizer.encode($0, addSpecialTokens: true) }
            #expect(batch == sequential)
        }
        // A fresh tokenizer (empty caches) agrees too.
        let fresh: any Tokenizer = Files.sharedDataPresent
            ? try loadTokenizer(path: Files.llamaModel)
            : try SentencePieceTokenizer(modelProto: SentencePieceProtoWriter.smallBPE, file: "small")
        #expect(texts.map { fresh.encode($0, addSpecialTokens: true) } == texts.map { tokenizer.encode($0, addSpecialTokens: true) })
    }

    // MARK: - Damaged files

    @Test("damaged protobuf structure is a malformed error naming the byte offset")
    func malformedStructure() throws {
        func expectMalformed(_ bytes: [UInt8], _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try SentencePieceTokenizer(modelProto: bytes, file: "bad.model")
                Issue.record("no error for \(bytes.prefix(20))", sourceLocation: sourceLocation)
            } catch let error as TokenizerError {
                #expect(error.kind == .malformed, sourceLocation: sourceLocation)
                #expect(error.file == "bad.model", sourceLocation: sourceLocation)
                #expect(error.message.contains(needle), "\(error.message)", sourceLocation: sourceLocation)
            } catch {
                Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
            }
        }
        let good = SentencePieceProtoWriter.smallBPE
        // Eleven continuation bytes: no varint is that long.
        expectMalformed([0x08] + [UInt8](repeating: 0xFF, count: 11) + [0x01], "byte offset 1")
        // Ends inside a varint.
        expectMalformed([0x08, 0x80], "byte offset 1")
        // Wire type 7 does not exist; wire type 4 without a group; field number 0.
        expectMalformed([0x0F, 0x00], "byte offset 0")
        expectMalformed([0x0C], "byte offset 0")
        expectMalformed([0x00, 0x00], "byte offset 0")
        // A length that runs past the end.
        expectMalformed(good + [0x0A, 0x05, 0x41], "byte offset \(good.count + 1)")
        // A group without its end, and groups nested too deep.
        expectMalformed(good + [0x33, 0x08, 0x01], "byte offset \(good.count + 1)")
        expectMalformed(good + [UInt8](repeating: 0x33, count: 200), "byte offset")
        // Inside a piece: a 32-bit score cut short.
        expectMalformed([0x0A, 0x03, 0x15, 0x00, 0x00], "byte offset 3")
        // Well-formed protobuf that sentencepiece refuses.
        expectMalformed(SentencePieceProtoWriter.model(pieces: [("a", 0, 1)], modelType: 2), "no unknown piece")
        expectMalformed(SentencePieceProtoWriter.model(pieces: [("<unk>", 0, 2), ("a", 0, 1), ("a", 0, 1)], modelType: 2), "same text")
        expectMalformed(SentencePieceProtoWriter.model(pieces: [("<unk>", 0, 2), ("", 0, 1)], modelType: 2), "empty")
        expectMalformed(SentencePieceProtoWriter.model(pieces: [("<unk>", 0, 2), ("<0x41>", 0, 6)], modelType: 2), "byte_fallback")
        expectMalformed(SentencePieceProtoWriter.model(pieces: [("<unk>", 0, 2), ("<0x41>", 0, 6)], modelType: 2, byteFallback: true),
                        "<0x00>")
        expectMalformed([], "no pieces")
        // Charsmaps that sentencepiece 0.2.3 refuses: too short, a trie that is no multiple of 1024 bytes, strings
        // without a final NUL, and a trie whose root points outside it.
        let pieces: [(String, Float, Int)] = [("<unk>", 0, 2), ("a", 0, 1)]
        func charsMap(trieSize: UInt32, units: [UInt32], strings: [UInt8]) -> [UInt8] {
            var blob = withUnsafeBytes(of: trieSize.littleEndian) { Array($0) }
            for unit in units { blob += withUnsafeBytes(of: unit.littleEndian) { Array($0) } }
            return blob + strings
        }
        expectMalformed(SentencePieceProtoWriter.model(pieces: pieces, modelType: 1, precompiledCharsMap: [1, 2, 3]), "precompiled_charsmap")
        expectMalformed(SentencePieceProtoWriter.model(pieces: pieces, modelType: 1,
                                                       precompiledCharsMap: charsMap(trieSize: 8, units: [0, 0], strings: [0x61, 0])),
                        "multiple of 1024")
        expectMalformed(SentencePieceProtoWriter.model(pieces: pieces, modelType: 1,
                                                       precompiledCharsMap: charsMap(trieSize: 1024, units: [UInt32](repeating: 0, count: 256),
                                                                                     strings: [0x61])),
                        "NUL")
        // Root offset 1 << 10 (1024 units) lies outside a 256-unit trie.
        expectMalformed(SentencePieceProtoWriter.model(pieces: pieces, modelType: 1,
                                                       precompiledCharsMap: charsMap(trieSize: 1024, units: [1 << 20] + [UInt32](repeating: 0, count: 255),
                                                                                     strings: [0x61, 0])),
                        "inconsistent trie")
    }

    @Test("unknown fields of every wire type, including groups, are skipped")
    func unknownFieldsSkipped() throws {
        var extra = SentencePieceProtoWriter()
        extra.varintField(99, 12345)
        extra.varint(UInt64(98 << 3 | 1)); extra.bytes += [UInt8](repeating: 7, count: 8)
        extra.lengthDelimited(97, [1, 2, 3])
        extra.float(96, 1.5)
        extra.varint(UInt64(95 << 3 | 3)); extra.varintField(1, 1); extra.varint(UInt64(95 << 3 | 4))
        // Unknown fields first and last, around a valid model.
        let bytes = extra.bytes + SentencePieceProtoWriter.smallBPE + extra.bytes
        let tokenizer = try SentencePieceTokenizer(modelProto: bytes, file: "extra")
        #expect(tokenizer.encode("aaaa", addSpecialTokens: false) == [6])
        #expect(tokenizer.vocabularySize == 12)
    }

    @Test("every truncation and many bit flips of a model give an error or a working tokenizer, never a crash")
    func truncationsAndBitFlips() throws {
        var models: [[UInt8]] = [SentencePieceProtoWriter.smallBPE]
        if Files.sharedDataPresent { models.append(try [UInt8](Data(contentsOf: URL(fileURLWithPath: Files.llamaModel)))) }
        var generator = SentencePieceTestRandom(seed: 42)
        for model in models {
            // Every cut of the small model; a sample of the large one (each load of it parses up to 500 kB).
            let cuts = model.count < 2000 ? Array(0..<model.count) : (0..<150).map { _ in Int(generator.next() % UInt64(model.count)) }
            var malformed = 0
            for cut in cuts {
                do {
                    let tokenizer = try SentencePieceTokenizer(modelProto: Array(model[..<cut]), file: "cut")
                    exercise(tokenizer)
                } catch let error as TokenizerError {
                    #expect(error.kind == .malformed || error.kind == .unsupported)
                    if error.message.contains("byte offset") { malformed += 1 }
                }
            }
            // Most cuts fall inside a field.
            #expect(malformed > cuts.count / 2)
            for _ in 0..<(model.count < 2000 ? 2000 : 100) {
                var damaged = model
                for _ in 0..<(1 + Int(generator.next() % 4)) {
                    let index = Int(generator.next() % UInt64(damaged.count))
                    damaged[index] ^= 1 << UInt8(generator.next() % 8)
                }
                if let tokenizer = try? SentencePieceTokenizer(modelProto: damaged, file: "flipped") { exercise(tokenizer) }
            }
        }
    }

    /// Encodes and decodes a few texts, to show a damaged-but-loadable model does not trap.
    private func exercise(_ tokenizer: SentencePieceTokenizer) {
        for text in ["", "Hello world", "  a  b ", "中文 😀 \u{3000}", String(repeating: "ab", count: 50)] {
            let ids = tokenizer.encode(text, addSpecialTokens: true)
            _ = try? tokenizer.decode(ids, skipSpecialTokens: false)
            _ = try? tokenizer.decode(ids, skipSpecialTokens: true)
        }
        _ = try? tokenizer.decode(Array(0..<Int32(min(tokenizer.vocabularySize, 400))), skipSpecialTokens: false)
    }
}

/// A seeded generator (SplitMix64), so the damaged files are the same on every run.
struct SentencePieceTestRandom {
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
