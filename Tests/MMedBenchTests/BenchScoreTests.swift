import Foundation
import MMedBench
import MMedIO
import MMedTestSupport
import MMedText
import Testing

/// `mmed bench score` against the original scripts and the IgakuQA baselines, through the built executable.
@Suite(.serialized) struct BenchScoreTests {
    /// Every item of a generated results file, scored with `--mode published`, against metrics/accuracy.py and
    /// metrics/rationale_similarity.py re-run with nltk, rouge 1.0.1, jieba and janome (bench_score_oracle.py).
    @Test func publishedModeMatchesTheOriginalScriptsItemByItem() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let folder = temporaryDirectory()
        let results = folder + "/results.jsonl", golden = folder + "/golden.jsonl"
        try Oracle.run("bench_score_oracle.py", ["generate", results, "--items", "900"])
        try Oracle.run("bench_score_oracle.py", ["score", results, golden])
        let run = try MMedCLI.run(["bench", "score", results, "--mode", "published", "--output", folder + "/score"])
        #expect(run.status == 0, "\(run.standardError)")
        let ours = try lines(folder + "/score/items.jsonl"), theirs = try lines(golden)
        #expect(ours.count == 900 && theirs.count == 900)
        var worst = 0.0, correct = 0, raised = 0
        for (a, b) in zip(ours, theirs) {
            #expect(a["id"]!.string == b["id"]!.string)
            #expect(a["correct"]!.bool == b["correct"]!.bool, "accuracy of \(a["id"]!.string!)")
            if b["correct"]!.bool! { correct += 1 }
            for key in ["bleu1", "bleu4"] {
                let difference = abs(a[key]!.number! - b[key]!.number!)
                worst = max(worst, difference)
                #expect(difference <= 1e-9, "\(key) of \(a["id"]!.string!): \(a[key]!.number!) vs \(b[key]!.number!)")
            }
            for key in ["rouge1_f", "rouge2_f", "rougeL_f"] {
                guard let expected = b[key]!.number else {
                    // The package raises ("Hypothesis is empty."): scored 0 and counted as an empty rationale.
                    raised += 1
                    #expect(a[key]!.number == 0 && a["empty_rationale"]!.bool == true)
                    continue
                }
                let difference = abs(a[key]!.number! - expected)
                worst = max(worst, difference)
                #expect(difference <= 1e-9, "\(key) of \(a["id"]!.string!): \(a[key]!.number!) vs \(expected)")
            }
        }
        // accuracy.py only reads direct answers ending in </s>: few of the generated responses pass it.
        #expect(correct > 20 && raised > 0)
        print("published mode: 900 items, largest metric difference \(worst)")
        // The summary averages what the items say.
        let summary = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/score/score.json"))))
        let english = summary["languages"]!["en"]!
        #expect(english["items"]!.int == 150 && english["rationale_items"]!.int == 150)
        for file in ["score.csv", "score.md", "score.svg"] {
            #expect(FileManager.default.fileExists(atPath: folder + "/score/" + file))
        }
        // The paper mode's robust extraction reads the answers after rationales and other end tokens too.
        let paper = try MMedCLI.run(["bench", "score", results, "--output", folder + "/paper"])
        #expect(paper.status == 0)
        let paperItems = try lines(folder + "/paper/items.jsonl")
        #expect(paperItems.filter { $0["correct"]!.bool! }.count > 3 * correct)
    }

    /// IgakuQA's baseline predictions scored by exact match reproduce the accuracy computed directly from the
    /// upstream files (igakuqa_baseline_oracle.py).
    @Test func igakuQABaselinesReproduceExactMatchAccuracy() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let folder = temporaryDirectory()
        let igakuqa = SharedData.path("qa/igakuqa-ja")
        var run = try MMedCLI.run(["bench", "import", "--source", "igakuqa", igakuqa, "--split", "test", "--output", folder + "/ja"])
        #expect(run.status == 0, "\(run.standardError)")
        try Oracle.run("igakuqa_baseline_oracle.py", [igakuqa, folder + "/expected.json"])
        let expected = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/expected.json"))))
        var rows: [String] = []
        for model in ["gpt4", "chatgpt", "gpt3", "student-majority"] {
            let predictions = try FileManager.default.subpathsOfDirectory(atPath: igakuqa + "/baseline_results")
                .filter { $0.hasSuffix("_\(model).jsonl") }.sorted().map { igakuqa + "/baseline_results/" + $0 }
            #expect(predictions.count == 24)
            run = try MMedCLI.run(["bench", "import-results"] + predictions + ["--data", folder + "/ja", "--output", folder + "/\(model).jsonl"])
            #expect(run.status == 0, "\(run.standardError)")
            run = try MMedCLI.run(["bench", "score", folder + "/\(model).jsonl", "--extraction", "exact", "--name", model, "--output", folder + "/\(model)"])
            #expect(run.status == 0, "\(run.standardError)")
            let score = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/\(model)/score.json"))))
            let japanese = score["languages"]!["ja"]!
            #expect(japanese["items"]!.int == expected[model]!["items"]!.int)
            #expect(japanese["correct"]!.int == expected[model]!["correct"]!.int, "\(model)")
            rows.append(folder + "/\(model)")
        }
        run = try MMedCLI.run(["bench", "compare"] + rows + ["--output", folder + "/board"])
        #expect(run.status == 0)
        // Sorted by accuracy: student majority (94.75) first, GPT-3 last.
        let order = run.standardOutput.split(separator: "\n").filter { $0.hasPrefix("gpt") || $0.hasPrefix("chatgpt") || $0.hasPrefix("student") }.map { String($0.split(separator: " ")[0]) }
        #expect(order.prefix(4) == ["student-majority", "gpt4", "chatgpt", "gpt3"])
        #expect(FileManager.default.fileExists(atPath: folder + "/board/leaderboard.svg"))
    }

    @Test func originalResTxtFilesAndClearErrors() throws {
        let folder = temporaryDirectory()
        let lines = [
            "###Answer: OPTION B IS CORRECT.</s>[SPLIT]B[SPLIT]Because B.",
            "###Answer: OPTION A IS CORRECT.<|eot_id|>[SPLIT]A[SPLIT]Because A.",
            "###Answer: OPTION A,C IS CORRECT.</s>[SPLIT]A,C[SPLIT]Because.",
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: folder + "/FrenchMedMCQA_res.txt", atomically: true, encoding: .utf8)
        let file = try BenchResultsFile(path: folder + "/FrenchMedMCQA_res.txt")
        #expect(file.isPublishedFormat && file.results.count == 3 && file.results.allSatisfy { $0.language == .fr })
        var run = try MMedCLI.run(["bench", "score", folder + "/FrenchMedMCQA_res.txt", "--mode", "published", "--output", folder + "/p"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("66.67"))  // the Llama 3 end token is scored wrong, as published
        run = try MMedCLI.run(["bench", "score", folder + "/FrenchMedMCQA_res.txt", "--output", folder + "/r"])
        #expect(run.standardOutput.contains("100.00"))
        try "{\"id\": \"1\", \"language\": \"xx\", \"response\": \"A\", \"gold\": [\"A\"]}\n".write(toFile: folder + "/bad.jsonl", atomically: true, encoding: .utf8)
        run = try MMedCLI.run(["bench", "score", folder + "/bad.jsonl"])
        #expect(run.status != 0 && run.standardError.contains("bad.jsonl:1") && run.standardError.contains("language"))
    }

    /// The file runners meet at: `bench prompts` writes it, a runner fills in responses, `bench score` reads it.
    @Test func promptsFileFilledInAndScored() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let folder = temporaryDirectory()
        var run = try MMedCLI.run(["bench", "import", "--source", "rumeddanet", SharedData.path("qa/rumeddanet-ru"), "--output", folder + "/data"])
        #expect(run.status == 0, "\(run.standardError)")
        run = try MMedCLI.run(["bench", "stats", folder + "/data"])
        #expect(run.standardOutput.contains("Russian") && run.standardOutput.contains("1052"))
        run = try MMedCLI.run(["bench", "prepare", folder + "/data", "--split", "train", "--output", folder + "/sft.jsonl"])
        let sft = try String(contentsOfFile: folder + "/sft.jsonl", encoding: .utf8)
        #expect(run.status == 0 && sft.split(separator: "\n").count == 1052)  // no rationales: the direct form only
        #expect(FileManager.default.fileExists(atPath: folder + "/sft.chat.jsonl"))
        run = try MMedCLI.run(["bench", "prompts", folder + "/data", "--split", "train", "--mode", "direct", "--output", folder + "/prompts.jsonl"])
        #expect(run.status == 0, "\(run.standardError)")
        // A "model" that answers with Llama 3's end token, right on every item.
        var filled = ""
        for line in try lines(folder + "/prompts.jsonl") {
            var members = line.members!
            let gold = line["gold"]!.array!.map { $0.string! }.joined(separator: ",")
            members = members.map { $0.key == "response" ? ($0.key, .string("###Answer: OPTION \(gold) IS CORRECT.<|eot_id|>")) : $0 }
            #expect(line["prompt"]!.string!.hasSuffix("### Response:"))
            filled += JSONValue.object(members).jsonText + "\n"
        }
        try filled.write(toFile: folder + "/results.jsonl", atomically: true, encoding: .utf8)
        run = try MMedCLI.run(["bench", "score", folder + "/results.jsonl", "--output", folder + "/paper"])
        #expect(run.standardOutput.contains("100.00"), "\(run.standardOutput)")
        run = try MMedCLI.run(["bench", "score", folder + "/results.jsonl", "--mode", "published", "--output", folder + "/published"])
        #expect(run.standardOutput.contains("0.00") && !run.standardOutput.contains("100.00"))
    }

    func lines(_ path: String) throws -> [JSONValue] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(Array($0.utf8)) }
    }
}
