import Foundation
import MMedTokenizers

public struct GenerationRequest: Sendable {
    public var prompt: [Int]
    public var maxNewTokens: Int
    public var sampling: SamplingParameters
    /// Stop when one of these is generated (default: the model's EOS ids from generation_config.json).
    public var stopTokenIDs: Set<Int>
    /// Stop when the text contains one of these; the text is cut before it.
    public var stopStrings: [String]

    public init(prompt: [Int], maxNewTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(),
                stopTokenIDs: Set<Int> = [], stopStrings: [String] = []) {
        self.prompt = prompt
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.stopTokenIDs = stopTokenIDs
        self.stopStrings = stopStrings
    }
}

public struct GenerationResult: Sendable {
    public enum FinishReason: String, Sendable { case stopToken = "stop_token", stopString = "stop_string", length }
    public var tokens: [Int]
    public var text: String
    public var finishReason: FinishReason
    public var promptTokens: Int
    public var promptSeconds: Double
    public var generationSeconds: Double

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var generationTokensPerSecond: Double { generationSeconds > 0 ? Double(tokens.count) / generationSeconds : 0 }
}

/// Generation and scoring on a `LanguageModel`.
public struct Generator: Sendable {
    public let model: LanguageModel

    public init(model: LanguageModel) { self.model = model }

    /// Generates from `request.prompt`; `onText` receives the text as it grows (whole characters only).
    public func generate(_ request: GenerationRequest, onText: ((String) -> Void)? = nil) throws -> GenerationResult {
        let cache = try model.makeCache(capacity: request.prompt.count + request.maxNewTokens + 1)
        var sampler = Sampler(request.sampling)
        let stops = request.stopTokenIDs.isEmpty ? Set(model.generationDefaults.eosTokenIDs) : request.stopTokenIDs
        let promptStart = Date()
        var logits = try model.forward(request.prompt, cache: cache)
        let promptSeconds = Date().timeIntervalSince(promptStart)
        let generationStart = Date()
        var generated: [Int] = []
        var emitted = ""
        var finish = GenerationResult.FinishReason.length
        var text = ""
        while generated.count < request.maxNewTokens {
            let token = sampler.sample(logits, history: request.prompt + generated)
            if stops.contains(token) { finish = .stopToken; break }
            generated.append(token)
            if let tokenizer = model.tokenizer {
                text = (try? tokenizer.decode(generated.map(Int32.init), skipSpecialTokens: false)) ?? text
                if let stop = request.stopStrings.compactMap({ text.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
                    text = String(text[..<stop.lowerBound])
                    finish = .stopString
                    if let onText, text.count > emitted.count, text.hasPrefix(emitted) { onText(String(text.dropFirst(emitted.count))) }
                    emitted = text
                    break
                }
                // Hold back a possibly incomplete character (a byte-level token ends mid-sequence).
                if let onText, !text.hasSuffix("\u{FFFD}"), text.hasPrefix(emitted), text.count > emitted.count {
                    onText(String(text.dropFirst(emitted.count)))
                    emitted = text
                }
            }
            if generated.count == request.maxNewTokens || cache.count >= cache.capacity { break }
            logits = try model.forward([token], cache: cache)
        }
        if let onText, text.count > emitted.count, text.hasPrefix(emitted), finish != .stopString { onText(String(text.dropFirst(emitted.count))) }
        return GenerationResult(
            tokens: generated, text: text, finishReason: finish, promptTokens: request.prompt.count,
            promptSeconds: promptSeconds, generationSeconds: Date().timeIntervalSince(generationStart))
    }

    /// The generated text as an asynchronous stream of pieces.
    public func stream(_ request: GenerationRequest) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { continuation in
            let generator = self
            Thread.detachNewThread {
                do {
                    _ = try generator.generate(request) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
        }
    }

    /// The log-probability of `continuation` after `context` (sum over its tokens) and whether greedy decoding
    /// would have produced it — for multiple-choice scoring by likelihood.
    public func logLikelihood(context: [Int], continuation: [Int]) throws -> (logProbability: Double, isGreedy: Bool) {
        guard !context.isEmpty, !continuation.isEmpty else { throw ModelError.unsupported("log-likelihood needs a non-empty context and continuation") }
        let cache = try model.makeCache(capacity: context.count + continuation.count)
        // The whole sequence in one call, as transformers scores it (dynamic NTK rotates by the full length).
        let logits = try model.forward(context + continuation, cache: cache, logits: .all)
        let vocabulary = model.config.vocabularySize
        var total = 0.0
        var greedy = true
        logits.withUnsafeBufferPointer { rows in
            for (i, token) in continuation.enumerated() {
                let row = UnsafeBufferPointer(rebasing: rows[((context.count - 1 + i) * vocabulary)..<((context.count + i) * vocabulary)])
                total += logSoftmax(row)[token]
                if Sampler.argmax(row) != token { greedy = false }
            }
        }
        return (total, greedy)
    }
}
