import Foundation
import Testing
@testable import MMedTokenizers

/// llama.cpp's tokenizer test vectors (independent golden ids, without BOS) for each tokenizer file.
@Suite struct LlamaCppVectorTests {
    static let cases: [(tokenizer: String, vectors: String)] = [
        ("llama3/tiktoken/tokenizer.model", "llama3/test-vectors/ggml-vocab-llama-bpe.gguf"),

    ]

    @Test(arguments: cases.indices)
    func vectorsMatch(_ index: Int) throws {
        let (tokenizerPath, vectorsPath) = Self.cases[index]
        guard let file = TokenizerTestData.tokenizerFile(tokenizerPath), let vectors = try TokenizerTestData.llamaCppVectors(vectorsPath) else { return }
        let tokenizer = try loadTokenizer(path: file)
        #expect(vectors.count > 40)
        var mismatches = 0
        for (text, expected) in vectors {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            if ids != expected {
                mismatches += 1
                Issue.record("\(tokenizerPath): \(text.debugDescription): got \(ids), expected \(expected)")
            }
        }
        #expect(mismatches == 0)
    }
}
