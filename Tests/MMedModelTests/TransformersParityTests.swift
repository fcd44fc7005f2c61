import Foundation
import MMedIO
import MMedTestSupport
import Testing
@testable import MMedModel

/// Tiny random checkpoints and transformers' logits for them (Tests/Oracles/model_oracle.py, committed because CI
/// machines may lack torch): Llama 3 (llama3 rope scaling, tied embeddings), Llama 2 (F32, BF16, sharded), Mistral,
/// Qwen2 (qkv biases), InternLM2 (packed wqkv, dynamic NTK).
@Suite struct TransformersParityTests {
    static let folder = Repository.path("Tests/MMedModelTests/Fixtures/models")
    static let models = ["llama3-style", "llama2-style", "llama2-style-bf16", "llama2-style-sharded", "mistral-style", "qwen2-style", "internlm2-style"]

    struct Golden {
        var prompts: [(ids: [Int], logits: [Float], greedy: [Int])]
        var loglikelihood: [(prompt: Int, continuation: [Int], sum: Double, isGreedy: Bool)]
    }

    static func golden(_ model: String) throws -> Golden {
        let json = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + model + "/goldens.json"))))
        let prompts = json["prompts"]!.array!.map { p -> (ids: [Int], logits: [Float], greedy: [Int]) in
            let data = Data(base64Encoded: p["logits_f32le_base64"]!.string!)!
            let logits = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            return (p["ids"]!.array!.map { $0.int! }, logits, p["greedy"]!.array!.map { $0.int! })
        }
        let cases = json["loglikelihood"]!.array!.map { c in
            (c["prompt"]!.int!, c["continuation"]!.array!.map { $0.int! }, c["logprob_sum"]!.number!, c["is_greedy"]!.bool!)
        }
        return Golden(prompts: prompts, loglikelihood: cases)
    }

    @Test(arguments: models)
    func logitsAtEveryPositionMatch(model name: String) throws {
        let model = try LanguageModel.load(path: Self.folder + "/" + name)
        let golden = try Self.golden(name)
        var worst: Float = 0
        for prompt in golden.prompts {
            let cache = try model.makeCache(capacity: 256)
            let logits = try model.forward(prompt.ids, cache: cache, logits: .all)
            #expect(logits.count == prompt.logits.count)
            for (a, b) in zip(logits, prompt.logits) { worst = max(worst, abs(a - b)) }
        }
        #expect(worst <= 1e-4, "\(name): largest logit difference \(worst)")
        print("\(name): largest logit difference \(worst)")
    }

    @Test(arguments: models)
    func greedyContinuationsAreIdentical(model name: String) throws {
        let model = try LanguageModel.load(path: Self.folder + "/" + name)
        let golden = try Self.golden(name)
        for prompt in golden.prompts {
            let result = try Generator(model: model).generate(
                GenerationRequest(prompt: prompt.ids, maxNewTokens: prompt.greedy.count, stopTokenIDs: [-1]))
            #expect(result.tokens == prompt.greedy, "\(name), prompt of \(prompt.ids.count) tokens")
        }
    }

    @Test(arguments: models)
    func logLikelihoodsMatch(model name: String) throws {
        let model = try LanguageModel.load(path: Self.folder + "/" + name)
        let golden = try Self.golden(name)
        for c in golden.loglikelihood {
            let (sum, greedy) = try Generator(model: model).logLikelihood(context: golden.prompts[c.prompt].ids, continuation: c.continuation)
            #expect(abs(sum - c.sum) <= 1e-3, "\(name): \(sum) vs \(c.sum)")
            #expect(greedy == c.isGreedy, "\(name): is_greedy")
        }
    }

    @Test func clearErrorsBeforeAnyWork() throws {
        let folder = temporaryDirectory()
        let source = Self.folder + "/llama2-style"
        for file in ["config.json", "generation_config.json"] {
            try FileManager.default.copyItem(atPath: source + "/" + file, toPath: folder + "/" + file)
        }
        #expect(throws: ModelError.self) { try LanguageModel.load(path: folder) }  // no weights
        // A truncated safetensors file names the file.
        let weights = try Data(contentsOf: URL(fileURLWithPath: source + "/model.safetensors"))
        try weights.prefix(weights.count / 2).write(to: URL(fileURLWithPath: folder + "/model.safetensors"))
        do {
            _ = try LanguageModel.load(path: folder)
            Issue.record("a truncated checkpoint must not load")
        } catch let error as ModelError {
            #expect(error.description.contains("model.safetensors"))
        }
        // A config whose sizes disagree with the weights names the tensor.
        try weights.write(to: URL(fileURLWithPath: folder + "/model.safetensors"))
        var config = try String(contentsOfFile: source + "/config.json", encoding: .utf8)
        config = config.replacingOccurrences(of: "\"intermediate_size\": 172", with: "\"intermediate_size\": 170")
        try config.write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
        do {
            _ = try LanguageModel.load(path: folder)
            Issue.record("a shape mismatch must not load")
        } catch let error as ModelError {
            #expect(error.description.contains("mlp.gate_proj.weight") && error.description.contains("shape"))
        }
    }
}
