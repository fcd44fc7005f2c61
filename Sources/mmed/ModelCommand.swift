import ArgumentParser
import Foundation
import MMedBench
import MMedModel
import MMedText
import MMedTokenizers

extension WeightQuantization: ExpressibleByArgument {}

/// What every engine command takes: the model, how to hold its weights, and the threads.
struct EngineOptions: ParsableArguments {
    @Option(help: "A checkpoint folder (config.json, *.safetensors, tokenizer) or a .gguf file.")
    var model: String

    @Option(help: "none (weights as stored) or q8_0 (F32/F16/BF16 matrices quantized at load).")
    var quantize: WeightQuantization = .none

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Option(help: "exact (F32 activations and cache) or llama.cpp (its CPU backend's rounding: bit for bit on Q4_1, Q8_0, BF16, F16 weights; faster BF16 prompts).")
    var numerics: Numerics = .exact

    func load() throws -> LanguageModel {
        ComputeThreads.set(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        do {
            let model = try LanguageModel.load(path: model, quantization: quantize)
            model.numerics = numerics
            return model
        } catch let error as ModelError {
            throw ValidationError(error.description)
        }
    }
}

extension Numerics: ExpressibleByArgument {}

/// `mmed generate`: the text on stdout as it is generated, statistics on stderr.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text with a Llama-family model (HF checkpoint folder or GGUF) on the native engine.")

    @OptionGroup var engine: EngineOptions

    @Option(help: "The prompt.")
    var prompt: String

    @Option(help: "Wrap the prompt as a user message in a chat template: llama3, chatml, internlm2.")
    var chat: String?

    @Option(help: "Most new tokens.")
    var maxTokens: Int = 128

    @Option(help: "0 is greedy.")
    var temperature: Double = 0

    @Option(help: "Keep the K likeliest tokens (0: all).")
    var topK: Int = 0

    @Option(help: "Keep the smallest set of tokens whose probability reaches P.")
    var topP: Double = 1

    @Option(help: "Penalize tokens already present (1: off).")
    var repetitionPenalty: Double = 1

    @Option(help: "The sampling seed.")
    var seed: UInt64 = 0

    @Option(parsing: .singleValue, help: "Stop at this text (repeatable).")
    var stop: [String] = []



    func run() throws {
        let loaded = try engine.load()
        guard let tokenizer = loaded.tokenizer else { throw ValidationError("\(engine.model): no tokenizer in the checkpoint") }
        var text = prompt
        var stops = stop
        if let chat {
            guard let template = ChatTemplate(rawValue: chat) else { throw ValidationError("--chat: llama3, chatml or internlm2") }
            text = template.render([.init(role: "user", content: prompt)])
            stops += template.stopStrings
        }
        let ids = tokenizer.encode(text, addSpecialTokens: chat == nil || chat == "chatml").map(Int.init)
        let request = GenerationRequest(
            prompt: ids, maxNewTokens: maxTokens,
            sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP, repetitionPenalty: repetitionPenalty, seed: seed),
            stopStrings: stops)
        let result = try Generator(model: loaded).generate(request) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        print("")
        printError(String(format: "prompt: %d tokens, %.1f tokens/s; generated: %d tokens, %.1f tokens/s (%@)",
                          result.promptTokens, result.promptTokensPerSecond, result.tokens.count, result.generationTokensPerSecond,
                          result.finishReason.rawValue))
    }
}

struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and benchmark models on the native engine.", subcommands: [ModelBench.self])
}

/// llama-bench's measurement: pp (prompt processing of N tokens in one batch) and tg (N tokens generated one by one).
struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Prompt-processing and generation speed in llama-bench's format (pp512, tg128).")

    @OptionGroup var engine: EngineOptions

    @Option(name: .customShort("p"), help: "Prompt tokens.")
    var promptTokens: Int = 512

    @Option(name: .customShort("n"), help: "Generated tokens.")
    var generatedTokens: Int = 128



    func run() throws {
        let loaded = try engine.load()
        let vocabulary = loaded.config.vocabularySize
        var state: UInt64 = 12345
        func token() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) % vocabulary }
        print("| model | size | params | backend | threads | test | t/s |")
        print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
        let name = (engine.model as NSString).lastPathComponent
        let threads = ComputeThreads.count
        // Warm-up, as llama-bench does: pages the mapped weights in and starts the threads.
        let warm = try loaded.makeCache(capacity: 9)
        _ = try loaded.forward((0..<8).map { _ in token() }, cache: warm)
        _ = try loaded.forward([token()], cache: warm)
        if promptTokens > 0 {
            let cache = try loaded.makeCache(capacity: promptTokens + 1)
            let tokens = (0..<promptTokens).map { _ in token() }
            let start = Date()
            _ = try loaded.forward(tokens, cache: cache)
            let rate = Double(promptTokens) / Date().timeIntervalSince(start)
            print("| \(name) | | | mmed-native | \(threads) | pp\(promptTokens) | \(String(format: "%.2f", rate)) |")
        }
        if generatedTokens > 0 {
            let cache = try loaded.makeCache(capacity: generatedTokens + 1)
            let start = Date()
            for _ in 0..<generatedTokens { _ = try loaded.forward([token()], cache: cache) }
            let rate = Double(generatedTokens) / Date().timeIntervalSince(start)
            print("| \(name) | | | mmed-native | \(threads) | tg\(generatedTokens) | \(String(format: "%.2f", rate)) |")
        }
    }
}

/// `mmed bench run`: MMedBench questions through the native engine into a results file `mmed bench score` reads.
struct BenchRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Answer MMedBench questions with a model on the native engine; writes the results JSONL (resumable).")

    @OptionGroup var engine: EngineOptions

    @Option(help: "A dataset folder (Train/ Test/ <Language>.jsonl).")
    var data: String

    @Option(help: "The split.")
    var split: BenchSplit = .test

    @Option(parsing: .upToNextOption, help: "Languages (default: all six).")
    var languages: [String] = []

    @Option(help: "At most N items per language.")
    var limit: Int?

    @Option(help: "rationale, direct or loglikelihood.")
    var mode: String = "rationale"

    @Option(help: "The results JSONL file (appended to; items already in it are skipped).")
    var output: String

    @Option(help: "Most new tokens per answer (default: 512 with rationale, 32 direct).")
    var maxTokens: Int?

    @Option(help: "0 is greedy.")
    var temperature: Double = 0

    @Option(help: "The sampling seed.")
    var seed: UInt64 = 0



    @Flag(help: "No progress line.")
    var quiet = false

    func run() async throws {
        guard let runMode = BenchRunner.Mode(rawValue: mode) else { throw ValidationError("--mode: rationale, direct or loglikelihood") }
        let wanted = languages.isEmpty ? BenchLanguages.all : try languages.map(benchLanguage)
        let dataset = try loadDataset(data, splits: [split], languages: wanted)
        var items: [(item: BenchItem, language: Language)] = []
        for file in dataset.files { items += file.items.prefix(limit ?? Int.max).map { ($0, file.language) } }
        let loaded = try engine.load()
        let backend = try NativeBackend(model: loaded)
        let parameters = GenerationParameters(
            maxTokens: maxTokens ?? (runMode == .rationale ? 512 : 32), temperature: temperature, seed: seed,
            stop: ["</s>", "<|eot_id|>", "<|im_end|>", "<|end_of_text|>", "\n###Question"])
        let runner = BenchRunner(mode: runMode, parameters: parameters)
        let showProgress = !quiet && standardErrorIsTerminal
        let summary = try await runner.run(items: items, backend: backend, resultsPath: output) { p in
            guard showProgress else { return }
            let rate = p.seconds > 0 ? Double(p.done) / p.seconds : 0
            let eta = rate > 0 ? Double(p.total - p.done) / rate : 0
            FileHandle.standardError.write(Data(String(format: "\r\u{1B}[K%d/%d items (%d done before), %.2f items/s, ETA %.0f s", p.done, p.total, p.skipped, rate, eta).utf8))
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        printError("answered \(summary.done) items in \(String(format: "%.1f", summary.seconds)) s (\(summary.skipped) already in \(output)); score with: mmed bench score \(output)")
    }
}
