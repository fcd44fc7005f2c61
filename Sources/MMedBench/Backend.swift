/// What runs a model for MMedBench: the native engine, or an OpenAI-compatible server (vLLM and the like).
public protocol Backend: Sendable {
    /// "native", "openai", ...
    var name: String { get }
    /// The model as results files record it.
    var modelName: String { get }
    func generate(prompt: String, parameters: GenerationParameters) async throws -> Completion
    /// The log-probability of each continuation after `context`.
    func logLikelihood(context: String, continuations: [String]) async throws -> [Double]
}

public struct GenerationParameters: Sendable {
    public var maxTokens: Int
    public var temperature: Double
    public var topK: Int
    public var topP: Double
    public var seed: UInt64
    public var stop: [String]

    public init(maxTokens: Int = 512, temperature: Double = 0, topK: Int = 0, topP: Double = 1, seed: UInt64 = 0, stop: [String] = []) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.stop = stop
    }
}

public struct Completion: Sendable {
    public var text: String
    public var promptTokens: Int
    public var completionTokens: Int
    public var seconds: Double
    public var finishReason: String

    public init(text: String, promptTokens: Int, completionTokens: Int, seconds: Double, finishReason: String) {
        self.text = text
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.seconds = seconds
        self.finishReason = finishReason
    }
}
