import Foundation
import MMedBench
import MMedIO
import MMedTestSupport
import MMedText
import Testing

/// Prompts byte for byte as the original scripts build them (Tests/Oracles/bench_prompt_oracle.py holds their
/// f-strings), and the SFT export.
@Suite struct PromptTests {
    @Test func promptsMatchTheOriginalScripts() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let data = try BenchTestData.imported.get()
        let output = temporaryDirectory() + "/prompts.jsonl"
        for split in ["Train", "Test"] {
            try Oracle.run("bench_prompt_oracle.py", [data.directory + "/mmedbench", split, output])
            let dataset = try BenchDataset(directory: data.directory + "/mmedbench", splits: [split == "Train" ? .train : .test])
            var compared = 0
            for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") {
                let golden = try JSONValue.parse(Array(line.utf8))
                let language = BenchLanguages.language(named: golden["language"]!.string!)!
                let file = dataset.file(language, split == "Train" ? .train : .test)!
                // Imported files have no blank lines: line n is item n-1.
                let item = file.items[golden["line"]!.int! - 1]
                let train = golden["train"]!.array!
                for (index, withRationale) in [true, false].enumerated() {
                    let record = train[index]
                    #expect(PythonText.equal(BenchPrompt.instruction(language: language, withRationale: withRationale, variant: .training), record["instruction"]!.string!))
                    #expect(PythonText.equal(BenchPrompt.input(item), record["input"]!.string!))
                    #expect(PythonText.equal(BenchPrompt.target(item, withRationale: withRationale), record["output"]!.string!))
                    #expect(PythonText.equal(
                        BenchPrompt.prompt(item, language: language, withRationale: withRationale, variant: .inference),
                        golden["inference"]!.array![index].string!))
                }
                compared += 1
            }
            #expect(compared > 1000)
        }
    }

    @Test func theTwoInstructionVariantsDifferOnlyByASpace() {
        let training = BenchPrompt.instruction(language: .fr, withRationale: true, variant: .training)
        let inference = BenchPrompt.instruction(language: .fr, withRationale: true, variant: .inference)
        #expect(training.contains("Let\u{2019}s solve this step-by-step. You should"))
        #expect(inference.contains("step-by-step.  You should"))
        #expect(inference.replacingOccurrences(of: ".  You", with: ". You") == training)
        let item = BenchItem(id: "x", question: "Q?", options: [.init(key: "A", text: "a"), .init(key: "B", text: "b")], answer: ["A", "B"])
        #expect(BenchPrompt.input(item) == "###Question: Q? Which of the following is the best treatment for this patient? ###Options: A. a B. b ")
        #expect(BenchPrompt.target(item, withRationale: false) == "###Answer: OPTION A,B IS CORRECT.")
    }

    @Test func sftExportHasBothFormsShuffledWithASeed() throws {
        let folder = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder + "/Train", withIntermediateDirectories: true)
        var lines: [String] = []
        for i in 0..<20 {
            let item = BenchItem(id: "q\(i)", question: "Question \(i)", options: [.init(key: "A", text: "x"), .init(key: "B", text: "y")],
                                 answer: [i % 2 == 0 ? "A" : "B"], rationale: i < 15 ? "Because \(i)." : "")
            lines.append(item.jsonLine)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: folder + "/Train/Spanish.jsonl", atomically: true, encoding: .utf8)
        let dataset = try BenchDataset(directory: folder, splits: [.train])
        let first = folder + "/a.jsonl", second = folder + "/b.jsonl", third = folder + "/c.jsonl"
        let report = try SFTExport(seed: 7).write(dataset.files, alpacaPath: first, chatPath: folder + "/a.chat.jsonl")
        _ = try SFTExport(seed: 7).write(dataset.files, alpacaPath: second, chatPath: nil)
        _ = try SFTExport(seed: 8).write(dataset.files, alpacaPath: third, chatPath: nil)
        #expect(report.items == 20 && report.records == 35 && report.withoutRationale == 5)
        let a = try String(contentsOfFile: first, encoding: .utf8), b = try String(contentsOfFile: second, encoding: .utf8)
        let c = try String(contentsOfFile: third, encoding: .utf8)
        #expect(a == b && a != c)
        let records = try a.split(separator: "\n").map { try JSONValue.parse(Array($0.utf8)) }
        #expect(records.count == 35)
        #expect(records.filter { $0["form"]?.string == "rationale" }.count == 15)
        #expect(records.map { $0["id"]!.string! } != records.map { $0["id"]!.string! }.sorted())  // shuffled
        let q3 = records.first { $0["id"]?.string == "q3" && $0["form"]?.string == "rationale" }!
        #expect(q3["output"]!.string! == "###Rationale: Because 3.\n###Answer: OPTION B IS CORRECT.")
        #expect(q3["instruction"]!.string! == BenchPrompt.instruction(language: .es, withRationale: true))
        let chat = try String(contentsOfFile: folder + "/a.chat.jsonl", encoding: .utf8).split(separator: "\n")
        let message = try JSONValue.parse(Array(chat[0].utf8))["messages"]!.array!
        #expect(message.map { $0["role"]!.string! } == ["system", "user", "assistant"])
    }
}
