import Foundation
import Testing
@testable import MMedTokenizers

/// Damaged and unsupported tokenizer files are `TokenizerError`s naming the file and the place, never crashes.
@Suite struct MalformedTokenizerTests {
    @Test func truncatedTokenizerJSONIsAnError() throws {
        guard let path = TokenizerTestData.tokenizerFile("bert-wordpiece/all-MiniLM-L6-v2/tokenizer.json") else { return }
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        var cases = 0
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            #expect(throws: TokenizerError.self) { _ = try HuggingFaceTokenizer(json: Array(bytes[..<length]), file: path) }
            cases += 1
        }
        #expect(cases > 90)
    }

    @Test func unsupportedComponentsAreNamed() throws {
        let cases: [(json: String, names: String)] = [
            (#"{"model": {"type": "Unigram", "vocab": []}, "added_tokens": []}"#, "Unigram"),
            (#"{"normalizer": {"type": "Precompiled"}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "added_tokens": []}"#, "Precompiled"),
            (#"{"pre_tokenizer": {"type": "UnicodeScripts"}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "added_tokens": []}"#, "UnicodeScripts"),
            (#"{"decoder": {"type": "CTC"}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "added_tokens": []}"#, "CTC"),
        ]
        for (json, name) in cases {
            do {
                _ = try HuggingFaceTokenizer(json: Array(json.utf8), file: "x/tokenizer.json")
                Issue.record("\(name) was accepted")
            } catch let error as TokenizerError {
                #expect(error.kind == .unsupported)
                #expect(error.description.contains(name))
                #expect(error.description.hasPrefix("x/tokenizer.json: $."))
            }
        }
    }

    @Test func badTiktokenLinesNameTheLine() throws {
        let file = "MQ== 0\nMg== 1\nnot-base64! 2\n"
        do {
            _ = try TiktokenTokenizer(rankFile: Array(file.utf8), file: "t.model")
            Issue.record("accepted")
        } catch let error as TokenizerError {
            #expect(error.kind == .malformed)
            #expect(error.description.contains("line 3"))
        }
        // A well-formed file of an unknown vocabulary: the split pattern and special tokens are not in the file.
        do {
            _ = try TiktokenTokenizer(rankFile: Array("MQ== 0\nMg== 1\n".utf8), file: "t.model")
            Issue.record("accepted")
        } catch let error as TokenizerError {
            #expect(error.kind == .unsupported)
        }
    }

    @Test func decodingAnUnknownIDIsAnError() throws {
        guard let path = TokenizerTestData.tokenizerFile("llama3/tiktoken/tokenizer.model") else { return }
        let tokenizer = try loadTokenizer(path: path)
        #expect(throws: TokenizerError.self) { _ = try tokenizer.decode([1, 128_256], skipSpecialTokens: false) }
        #expect(throws: TokenizerError.self) { _ = try tokenizer.decode([-1], skipSpecialTokens: false) }
        #expect(tokenizer.vocabularySize == 128_256)
        #expect(tokenizer.specialTokens.bos == 128_000 && tokenizer.specialTokens.eos == 128_001)
    }
}
