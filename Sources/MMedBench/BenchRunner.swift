import Foundation
import MMedIO
import MMedText

/// `mmed bench run`: asks a `Backend` every test question and appends one results line per item. Items already in
/// the results file are skipped, so an interrupted run resumes; a torn last line (a kill mid-write) is dropped.
public struct BenchRunner: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// The prompt asks for a rationale, then the answer (rationale metrics apply).
        case rationale
        /// The prompt asks for the answer directly.
        case direct
        /// Each option's answer line is scored by log-likelihood; the likeliest is the response.
        case loglikelihood
    }

    public var mode: Mode
    public var parameters: GenerationParameters
    public var variant: BenchPrompt.Variant

    public init(mode: Mode, parameters: GenerationParameters, variant: BenchPrompt.Variant = .inference) {
        self.mode = mode
        self.parameters = parameters
        self.variant = variant
    }

    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public var skipped: Int
        public var seconds: Double
    }

    /// The ids already answered in `path`, dropping a torn last line.
    static func answered(path: String) throws -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return [] }
        var ids = Set<String>()
        var good = 0
        var offset = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let end = offset + line.count
            defer { offset = end + 1 }
            guard !line.isEmpty else { continue }
            guard end < data.count, let value = try? JSONValue.parse([UInt8](line)), let id = value["id"]?.string else { break }
            ids.insert(id)
            good = end + 1
        }
        if good < data.count {
            // Keep only the complete lines.
            try data.prefix(good).write(to: URL(fileURLWithPath: path))
        }
        return ids
    }

    public func run(
        items: [(item: BenchItem, language: Language)], backend: any Backend, resultsPath: String,
        progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> Progress {
        let done = try Self.answered(path: resultsPath)
        if !FileManager.default.fileExists(atPath: resultsPath) {
            _ = FileManager.default.createFile(atPath: resultsPath, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: resultsPath) else { throw BenchFormatError(file: resultsPath, "cannot write the results file") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        let todo = items.filter { !done.contains($0.item.id) }
        var state = Progress(done: 0, total: todo.count, skipped: items.count - todo.count, seconds: 0)
        let start = Date()
        for (item, language) in todo {
            let withRationale = mode == .rationale
            let prompt = BenchPrompt.prompt(item, language: language, withRationale: withRationale, variant: variant)
            let itemStart = Date()
            var response: String
            var timing: [(key: String, value: JSONValue)] = []
            switch mode {
            case .rationale, .direct:
                let completion = try await backend.generate(prompt: prompt, parameters: parameters)
                response = completion.text
                timing = [("seconds", .number(completion.seconds)), ("prompt_tokens", .number(Double(completion.promptTokens))),
                          ("generated_tokens", .number(Double(completion.completionTokens))), ("finish_reason", .string(completion.finishReason))]
            case .loglikelihood:
                let continuations = item.options.map { "###Answer: OPTION \($0.key) IS CORRECT." }
                let scores = try await backend.logLikelihood(context: prompt, continuations: continuations)
                let best = scores.indices.max { scores[$0] < scores[$1] } ?? 0
                response = continuations[best]
                timing = [("seconds", .number(Date().timeIntervalSince(itemStart))),
                          ("log_likelihoods", .array(scores.map { .number($0) }))]
            }
            let result = BenchResult(
                id: item.id, language: language, mode: mode.rawValue, prompt: prompt, response: response, gold: item.answer,
                optionKeys: item.options.map(\.key), referenceRationale: item.rationale,
                humanCheckPassed: item.humanChecked ? item.humanCheckPassed : nil, model: backend.modelName, backend: backend.name,
                timing: .object(timing + [("settings", .object([
                    ("max_tokens", .number(Double(parameters.maxTokens))), ("temperature", .number(parameters.temperature)),
                    ("top_k", .number(Double(parameters.topK))), ("top_p", .number(parameters.topP)), ("seed", .number(Double(parameters.seed))),
                ]))]))
            try handle.write(contentsOf: Data((result.jsonLine + "\n").utf8))
            try handle.synchronize()
            state.done += 1
            state.seconds = Date().timeIntervalSince(start)
            progress?(state)
        }
        return state
    }
}
