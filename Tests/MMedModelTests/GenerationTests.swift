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
