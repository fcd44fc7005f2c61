import Foundation
import MMedBench
import MMedIO
import MMedTestSupport
import MMedText
import Testing

/// A backend that answers every question with option B after a fixed rationale, counting its calls.
final class ScriptedBackend: Backend, @unchecked Sendable {
    var calls = 0
    var name: String { "scripted" }
    var modelName: String { "always-b" }
    func generate(prompt: String, parameters: GenerationParameters) async throws -> Completion {
        calls += 1
        return Completion(text: "###Rationale: Because.\n###Answer: OPTION B IS CORRECT.", promptTokens: prompt.count, completionTokens: 9, seconds: 0.01, finishReason: "stop_token")
    }
    func logLikelihood(context: String, continuations: [String]) async throws -> [Double] {
        calls += 1
        return continuations.map { $0.contains("OPTION B") ? -1 : -5 }
    }
}

@Suite struct BenchRunnerTests {
    func items(_ count: Int) -> [(item: BenchItem, language: Language)] {
        (0..<count).map { i in
            (BenchItem(id: "q\(i)", question: "Question \(i)?", options: [.init(key: "A", text: "a"), .init(key: "B", text: "b")],
                       answer: [i % 2 == 0 ? "B" : "A"], rationale: "Because.", humanChecked: true, humanCheckPassed: true), .en)
        }
    }

    @Test func resumesAfterATornLineAndRecordsSettings() async throws {
        let path = temporaryDirectory() + "/results.jsonl"
        let backend = ScriptedBackend()
        let runner = BenchRunner(mode: .rationale, parameters: GenerationParameters(maxTokens: 64))
        _ = try await runner.run(items: Array(items(6).prefix(3)), backend: backend, resultsPath: path)
        // A kill mid-write leaves a torn line: it is dropped and that item answered again.
        let handle = FileHandle(forWritingAtPath: path)!
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"id\": \"q3\", \"resp".utf8))
        try handle.close()
        let second = try await runner.run(items: items(6), backend: backend, resultsPath: path)
        #expect(second.skipped == 3 && second.done == 3 && backend.calls == 6)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 6)
        let results = try BenchResultsFile(path: path).results
        #expect(results.map(\.id) == (0..<6).map { "q\($0)" })
        #expect(results[0].model == "always-b" && results[0].backend == "scripted" && results[0].prompt.hasSuffix("### Response:"))
        let third = try await runner.run(items: items(6), backend: backend, resultsPath: path)
        #expect(third.done == 0 && backend.calls == 6)
    }

    @Test func logLikelihoodModePicksTheLikeliestOption() async throws {
        let path = temporaryDirectory() + "/ll.jsonl"
        let backend = ScriptedBackend()
        _ = try await BenchRunner(mode: .loglikelihood, parameters: GenerationParameters()).run(items: items(4), backend: backend, resultsPath: path)
        let results = try BenchResultsFile(path: path).results
        #expect(results.allSatisfy { $0.response == "###Answer: OPTION B IS CORRECT." && $0.mode == "loglikelihood" })
        let score = try BenchScorer(mode: .paper, segmenters: Segmenters()).score(results)
        #expect(score.languages[0].correct == 2)
    }
}
