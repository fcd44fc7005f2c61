import Foundation
import Testing
@testable import MMedTokenizers

/// llama.cpp's tokenizer test vectors (independent golden ids, without BOS) for each tokenizer file.
@Suite struct LlamaCppVectorTests {
    static let cases: [(tokenizer: String, vectors: String)] = [
        ("llama3/tiktoken/tokenizer.model", "llama3/test-vectors/ggml-vocab-llama-bpe.gguf"),
        ("llama3/hf/tokenizer.json", "llama3/test-vectors/ggml-vocab-llama-bpe.gguf"),
        ("llama2/hf/tokenizer.json", "llama2/test-vectors/ggml-vocab-llama-spm.gguf"),
        ("bert-wordpiece/all-MiniLM-L6-v2/tokenizer.json", "bert-wordpiece/test-vectors/ggml-vocab-bert-bge.gguf"),

    ]

    @Test(arguments: cases.indices)
    func vectorsMatch(_ index: Int) throws {
        let (tokenizerPath, vectorsPath) = Self.cases[index]
        guard let file = TokenizerTestData.tokenizerFile(tokenizerPath), let vectors = try TokenizerTestData.llamaCppVectors(vectorsPath) else { return }
        // This Llama 3 tokenizer.json lacks `ignore_merges` (HF tokenizers then splits "Việt" differently from Meta's
        // tiktoken model, and so do we: see HuggingFaceParityTests); llama.cpp's vectors are Meta's tokenization.
        let tokenizer: any Tokenizer = tokenizerPath == "llama3/hf/tokenizer.json"
            ? try HuggingFaceTokenizer(json: Array(FileManager.default.contents(atPath: file)!), file: file, ignoreMerges: true)
            : try loadTokenizer(path: file)
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
