import Foundation
import MMedTestSupport
import Testing
@testable import MMedModel

@Suite struct GenerationTests {
    static let model = try! LanguageModel.load(path: Repository.path("Tests/MMedModelTests/Fixtures/models/llama2-style"))

    @Test func samplingIsSeededAndTopKOneIsGreedy() throws {
        let generator = Generator(model: Self.model)
        let prompt = [1, 17, 42, 99]
        let greedy = try generator.generate(GenerationRequest(prompt: prompt, maxNewTokens: 16, stopTokenIDs: [-1])).tokens
        let topOne = try generator.generate(GenerationRequest(
            prompt: prompt, maxNewTokens: 16, sampling: SamplingParameters(temperature: 1.5, topK: 1, seed: 3), stopTokenIDs: [-1])).tokens
        #expect(topOne == greedy)
        let hot = SamplingParameters(temperature: 2, topK: 50, topP: 0.95, seed: 7)
        let a = try generator.generate(GenerationRequest(prompt: prompt, maxNewTokens: 16, sampling: hot, stopTokenIDs: [-1])).tokens
        let b = try generator.generate(GenerationRequest(prompt: prompt, maxNewTokens: 16, sampling: hot, stopTokenIDs: [-1])).tokens
        var other = hot
        other.seed = 8
        let c = try generator.generate(GenerationRequest(prompt: prompt, maxNewTokens: 16, sampling: other, stopTokenIDs: [-1])).tokens
        #expect(a == b && a != c && a != greedy)
    }

    @Test func stopTokensAndLength() throws {
        let generator = Generator(model: Self.model)
        let prompt = [1, 5, 6]
        let free = try generator.generate(GenerationRequest(prompt: prompt, maxNewTokens: 10, stopTokenIDs: [-1]))
        #expect(free.tokens.count == 10 && free.finishReason == .length)
        let stopped = try generator.generate(GenerationRequest(prompt: prompt, maxNewTokens: 10, stopTokenIDs: [free.tokens[3]]))
        #expect(stopped.finishReason == .stopToken && stopped.tokens == Array(free.tokens.prefix(3)))
    }

    @Test func repetitionPenaltyFollowsTransformers() {
        var sampler = Sampler(SamplingParameters(repetitionPenalty: 2))
        // Token 0 (seen, positive logit) is halved to 1.5 and token 2 (seen, negative) doubled; token 1 wins.
        #expect(sampler.sample([3, 2, -1], history: [0, 2]) == 1)
        var plain = Sampler(SamplingParameters())
        #expect(plain.sample([3, 2, -1], history: [0, 2]) == 0)
    }

    @Test func outOfVocabularyAndFullContextAreErrors() throws {
        let cache = try Self.model.makeCache(capacity: 4)
        #expect(throws: ModelError.self) { try Self.model.forward([1, 600], cache: cache) }
        #expect(throws: ModelError.self) { try Self.model.forward([1, 2, 3, 4, 5], cache: cache) }
    }

    @Test func chatTemplates() {
        let messages = [ChatTemplate.Message(role: "system", content: "Be brief."), .init(role: "user", content: "Hi")]
        #expect(ChatTemplate.chatml.render(messages) == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(ChatTemplate.llama3.render([messages[1]]) == "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        #expect(ChatTemplate.internlm2.render([messages[1]]).hasPrefix("<s><|im_start|>user\n"))
    }
}

@Suite struct QuantizationTests {
    /// Q8_0 at load (llama.cpp's rounding) stays close to the F32 model: the same greedy tokens on most steps.
    @Test func q8_0AtLoadStaysClose() throws {
        let path = Repository.path("Tests/MMedModelTests/Fixtures/models/llama2-style")
        let exact = try LanguageModel.load(path: path)
        let quantized = try LanguageModel.load(path: path, quantization: .q8_0)
        #expect(quantized.layers[0].gate.weight.type == .q8_0 && exact.layers[0].gate.weight.type == .f32)
        let prompt = Array(1..<60)
        let a = try exact.forward(prompt, cache: try exact.makeCache(capacity: 64), logits: .all)
        let b = try quantized.forward(prompt, cache: try quantized.makeCache(capacity: 64), logits: .all)
        var same = 0, worst: Float = 0
        for position in 0..<prompt.count {
            let rowA = Array(a[(position * 512)..<((position + 1) * 512)]), rowB = Array(b[(position * 512)..<((position + 1) * 512)])
            if rowA.indices.max(by: { rowA[$0] < rowA[$1] }) == rowB.indices.max(by: { rowB[$0] < rowB[$1] }) { same += 1 }
            for (x, y) in zip(rowA, rowB) { worst = max(worst, abs(x - y)) }
        }
        #expect(same >= prompt.count * 9 / 10, "top-1 agreement \(same)/\(prompt.count)")
        #expect(worst > 0 && worst < 0.5, "largest logit difference \(worst)")
    }
}
