import Foundation
import MMedBench
import MMedModel
import MMedTokenizers

/// MMedBench's `Backend` on the native engine: prompts are encoded with the model's tokenizer (BOS as it adds it),
/// generated with its stop tokens and the request's stop strings.
struct NativeBackend: Backend {
    let model: LanguageModel
    let tokenizer: any Tokenizer
    var name: String { "native" }
    var modelName: String { (model.path as NSString).lastPathComponent }

    init(model: LanguageModel) throws {
        guard let tokenizer = model.tokenizer else {
            throw ValidationErrorMessage("\(model.path): the checkpoint has no tokenizer (tokenizer.json / tokenizer.model, or GGUF tokenizer metadata)")
        }
        self.model = model
        self.tokenizer = tokenizer
    }

    func generate(prompt: String, parameters: GenerationParameters) async throws -> Completion {
        let ids = tokenizer.encode(prompt, addSpecialTokens: true).map(Int.init)
        let request = GenerationRequest(
            prompt: ids, maxNewTokens: parameters.maxTokens,
            sampling: SamplingParameters(temperature: parameters.temperature, topK: parameters.topK, topP: parameters.topP, seed: parameters.seed),
            stopStrings: parameters.stop)
        let result = try Generator(model: model).generate(request)
        return Completion(
            text: result.text, promptTokens: result.promptTokens, completionTokens: result.tokens.count,
            seconds: result.promptSeconds + result.generationSeconds, finishReason: result.finishReason.rawValue)
    }

    func logLikelihood(context: String, continuations: [String]) async throws -> [Double] {
        let contextIDs = tokenizer.encode(context, addSpecialTokens: true).map(Int.init)
        return try continuations.map { continuation in
            // The continuation's tokens as they follow the context: encode together, take the tail.
            let whole = tokenizer.encode(context + continuation, addSpecialTokens: true).map(Int.init)
            var shared = 0
            while shared < min(contextIDs.count, whole.count) - 1, contextIDs[shared] == whole[shared] { shared += 1 }
            return try Generator(model: model).logLikelihood(context: Array(whole[..<shared]), continuation: Array(whole[shared...])).logProbability
        }
    }
}

struct ValidationErrorMessage: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
