import Foundation
import MMedIO
import MMedTestSupport
import Testing
import MMedModel

extension TrainingRuns {
    /// The whole path a user takes, through the `mmed` binary and torchrun (2 processes, FSDP2 on gloo): tokenize with
    /// `mmed pretrain prepare` or `mmed bench prepare --tokenized`, train with `mmed train`, and load what the run exported
    /// in MMedKit's own engine, whose logits must equal transformers' on the same folder.
    @Suite(.serialized) struct PipelineTests {
        static let tokenizer = SharedData.path("tokenizers/llama2/tokenizer.model")

        /// A random tiny Llama with the Llama 2 vocabulary (32,000 rows), so real tokenized data fits it.
        static func tinyModel(_ folder: String) throws -> String {
            let path = folder + "/model"
            try Oracle.run("make_tiny_llama_checkpoint.py", [path, "--vocab", "32000", "--max-positions", "256", "--seed", "7"])
            return path
        }

        static func metrics(_ run: String) throws -> [JSONValue] {
            try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(Array($0.utf8)) }
        }

        /// The largest difference between our engine's logits for `ids` on `engine` and transformers' on `reference`
        /// (a checkpoint folder, or with `adapter` that checkpoint plus a PEFT adapter).
        static func largestDifference(engine: String, reference: String, adapter: String? = nil, ids: [Int]) throws -> Float {
            let arguments = [reference, ids.map(String.init).joined(separator: ",")] + (adapter.map { ["--peft", $0] } ?? [])
            let golden = try JSONValue.parse(Array(try Oracle.run("hf_logits_oracle.py", arguments).utf8))
            let expected = Data(base64Encoded: golden["cases"]!.array![0]["logits_f32_le_b64"]!.string!)!
                .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let model = try LanguageModel.load(path: engine)
            let logits = try model.forward(ids, cache: try model.makeCache(capacity: ids.count), logits: .all)
            #expect(logits.count == expected.count)
            return zip(logits, expected).reduce(0) { max($0, abs($1.0 - $1.1)) }
        }

        @Test func pretrainPrepareTrainExportAndLoadInTheEngine() throws {
            guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
            guard TorchStack.required("the pretraining pipeline") else { return }
            let folder = temporaryDirectory()
            let model = try Self.tinyModel(folder)
            var result = try MMedCLI.run([
                "pretrain", "prepare", "--tokenizer", Self.tokenizer, "--input", SharedData.path("text/dolma-cc-en"),
                "--output", folder + "/data", "--window", "128", "--overlap", "32", "--quiet",
            ])
            try #require(result.status == 0, "\(result.standardError)")

            let run = folder + "/run"
            result = try MMedCLI.run([
                "train", "pretrain", "--recipe", "mmedlm-pretrain", "--model", model, "--data", folder + "/data", "--out", run,
                "--nproc-per-node", "2", "--micro-batch-size", "1", "--global-batch-size", "4", "--max-steps", "4",
                "--checkpoint-every", "2", "--export-format", "hf", "--lr", "1e-3", "--quiet",
            ])
            try #require(result.status == 0, "mmed train failed: \(result.standardError)")
            let records = try Self.metrics(run)
            let steps = records.filter { $0["step"] != nil && $0["event"] == nil }
            #expect(steps.map { $0["step"]!.int! } == [1, 2, 3, 4])
            #expect(steps.allSatisfy { ($0["loss"]?.number ?? .nan).isFinite })
            #expect(records.contains { $0["event"]?.string == "done" })
            let checkpoints = try FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints").sorted()
            #expect(checkpoints == ["step_00000002", "step_00000004"])
            #expect(FileManager.default.fileExists(atPath: run + "/logs/rank_1.log"))

            // The export loads in our engine and computes what transformers computes.
            let difference = try Self.largestDifference(engine: run + "/export/hf", reference: run + "/export/hf", ids: [1, 450, 9045, 338, 263, 29871, 13, 4013])
            print("pretrain export: largest logit difference engine vs transformers \(difference)")
            #expect(difference <= 1e-4)
            // It trained: the exported weights differ from the starting ones.
            let before = try LanguageModel.load(path: model), after = try LanguageModel.load(path: run + "/export/hf")
            let a = try before.forward([1, 450], cache: try before.makeCache(capacity: 2)), b = try after.forward([1, 450], cache: try after.makeCache(capacity: 2))
            #expect(zip(a, b).contains { abs($0 - $1) > 1e-3 })

            // status reads the run.
            result = try MMedCLI.run(["train", "status", run])
            #expect(result.status == 0 && result.standardOutput.contains("step_00000004"), "\(result.standardOutput)\(result.standardError)")

            // The same run stopped by a checkpoint request after step 2 (what the Slurm grace signal does), then
            // `mmed train resume`: the continuation is bit-identical to the uninterrupted run.
            let stopped = folder + "/stopped"
            result = try MMedCLI.run([
                "train", "pretrain", "--recipe", "mmedlm-pretrain", "--model", model, "--data", folder + "/data", "--out", stopped,
                "--nproc-per-node", "2", "--micro-batch-size", "1", "--global-batch-size", "4", "--max-steps", "4",
                "--checkpoint-every", "2", "--export-format", "hf", "--lr", "1e-3", "--quiet",
            ], environment: ["MMEDTRAIN_TEST_HOOK": "request:2"])
            try #require(result.status == 0, "the stopped run failed: \(result.standardError)")
            #expect(try Self.metrics(stopped).contains { $0["event"]?.string == "preempted" })
            result = try MMedCLI.run(["train", "resume", stopped, "--quiet"])
            try #require(result.status == 0, "mmed train resume failed: \(result.standardError)")
            let resumed = try Self.metrics(stopped).filter { $0["step"] != nil && $0["event"] == nil }
            let losses = { (records: [JSONValue]) in records.filter { ($0["step"]?.int ?? 0) > 2 }.map { $0["loss"]!.number! } }
            #expect(losses(resumed) == losses(steps), "resumed \(losses(resumed)) vs uninterrupted \(losses(steps))")
            #expect(losses(resumed).count == 2)
        }

        @Test func tokenizedSFTWithLoRAExportsAnAdapterAndMergedWeights() throws {
            guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
            guard TorchStack.required("the LoRA fine-tuning pipeline") else { return }
            let folder = temporaryDirectory()
            let model = try Self.tinyModel(folder)
            var result = try MMedCLI.run(["bench", "import", "--source", "frenchmedmcqa", SharedData.path("qa/frenchmedmcqa-fr"), "--output", folder + "/bench"])
            try #require(result.status == 0, "\(result.standardError)")
            result = try MMedCLI.run([
                "bench", "prepare", folder + "/bench", "--split", "train", "--tokenized", "--tokenizer", Self.tokenizer,
                "--max-length", "256", "--output", folder + "/sft",
            ])
            try #require(result.status == 0, "\(result.standardError)")

            let run = folder + "/run"
            result = try MMedCLI.run([
                "train", "sft", "--recipe", "mmedbench-sft-lora", "--model", model, "--data", folder + "/sft", "--out", run,
                "--nproc-per-node", "2", "--micro-batch-size", "1", "--global-batch-size", "4", "--max-steps", "3",
                "--checkpoint-every", "3", "--export-format", "peft", "--export-format", "merged", "--lr", "1e-2", "--quiet",
            ])
            try #require(result.status == 0, "mmed train failed: \(result.standardError)")
            let steps = try Self.metrics(run).filter { $0["step"] != nil && $0["event"] == nil }
            #expect(steps.map { $0["step"]!.int! } == [1, 2, 3])
            #expect(FileManager.default.fileExists(atPath: run + "/export/peft/adapter_config.json"))

            // The merged weights load in our engine and compute what transformers computes with base + adapter.
            let difference = try Self.largestDifference(engine: run + "/export/merged", reference: model, adapter: run + "/export/peft", ids: [1, 29871, 13, 2277, 29937, 13291])
            print("LoRA: largest logit difference engine (merged) vs transformers (base + adapter) \(difference)")
            #expect(difference <= 1e-4)
        }
    }
}
