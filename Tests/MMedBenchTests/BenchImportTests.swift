import Foundation
import MMedBench
import MMedTestSupport
import MMedText
import Testing

/// `mmed bench import`: record counts per source and split as documented in docs/mmedbench-sources.md, and spot
/// checks of mapped answers against the raw files.
@Suite struct BenchImportTests {
    func imported() throws -> BenchTestData.Imported? {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return nil }
        return try BenchTestData.imported.get()
    }

    @Test func countsPerSourceAndSplit() throws {
        guard let data = try imported() else { return }
        let r = data.reports
        // FrenchMedMCQA: train.json is MMedBench's French train split (2171); dev.json is not part of MMedBench.
        #expect(r[.frenchmedmcqa]!.files.first { $0.path.hasSuffix("train.json") }!.imported == 2171)
        #expect(r[.frenchmedmcqa]!.files.first { $0.path.hasSuffix("dev.json") }!.split == nil)
        // HEAD-QA: 2657 train questions, 68 need an image (excluded by default and counted).
        let head = r[.headqa]!.files.first { $0.path.hasSuffix("train_HEAD.json") }!
        #expect(head.read == 2657 && head.imported == 2589 && head.excluded["needs an image"] == 68)
        #expect(r[.rumeddanet]!.imported == 1052)
        // IgakuQA 2018–2021 here: 1600 questions, 430 need an image, 9 have no choices (numeric answers).
        #expect(r[.igakuqa]!.read == 1600 && r[.igakuqa]!.imported == 1161)
        #expect(r[.igakuqa]!.excluded == ["needs an image": 430, "no options (numeric answer)": 9])
        #expect(r[.medqa]!.imported == 60)
        #expect(r[.mmlu]!.imported == 100 && r[.medmcqa]!.imported == 200 && r[.pubmedqa]!.imported == 1000)

        let dataset = try BenchDataset(directory: data.directory + "/mmedbench")
        #expect(dataset.file(.fr, .train)?.items.count == 2171)
        #expect(dataset.file(.es, .train)?.items.count == 2589)
        #expect(dataset.file(.ru, .train)?.items.count == 1052)
        #expect(dataset.file(.ja, .test)?.items.count == 1161)
        #expect(dataset.file(.en, .test)?.items.count == 60)
        #expect(try BenchDataset(directory: data.directory + "/medqa-zh").file(.zh, .test)?.items.count == 60)
    }

    @Test func includingImageQuestionsGivesMMedBenchsSpanishTrainSplit() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let output = temporaryDirectory()
        let report = try BenchImporter.run(
            source: .headqa, paths: [BenchTestData.qa + "/headqa/es/train_HEAD.json"], output: output,
            options: ImportOptions(includeImageQuestions: true))
        #expect(report.imported == 2657)
    }

    @Test func mappedAnswersMatchTheRawFiles() throws {
        guard let data = try imported() else { return }
        let dataset = try BenchDataset(directory: data.directory + "/mmedbench")

        // FrenchMedMCQA: every item's answer keys are the upper-cased correct_answers; multi-answer items are lists.
        let french = try BenchTestData.json("frenchmedmcqa-fr/train.json") as! [[String: Any]]
        let frenchItems = dataset.file(.fr, .train)!.items
        for (raw, item) in zip(french, frenchItems) {
            let keys = (raw["correct_answers"] as! [String]).map { $0.uppercased() }
            #expect(item.answer == keys)
            #expect(item.answerIsList == (keys.count > 1))
            #expect(item.question == raw["question"] as! String)
            // Options keep the file's order (one item lists a, c, d, e, b): compare them by key.
            let answers = raw["answers"] as! [String: String]
            #expect(item.options.count == answers.count)
            for option in item.options { #expect(answers[option.key.lowercased()] == option.text) }
        }
        #expect(frenchItems.filter { $0.answer.count > 1 }.count == french.filter { ($0["correct_answers"] as! [String]).count > 1 }.count)
        #expect(frenchItems.contains { $0.answer.count > 1 })

        // RuMedDaNet: да → A, нет → B, the context in the question.
        let russian = try BenchTestData.jsonLines("rumeddanet-ru/train_v1.jsonl")
        for (raw, item) in zip(russian, dataset.file(.ru, .train)!.items) {
            #expect(item.answer == [(raw["answer"] as! String) == "да" ? "A" : "B"])
            #expect(item.question.hasPrefix(raw["context"] as! String) && item.question.hasSuffix(raw["question"] as! String))
            #expect(item.options.map(\.text) == ["да", "нет"])
        }

        // HEAD-QA: the right aid's position; the first question of the first exam is "ra": "3" → C.
        let spanish = dataset.file(.es, .train)!.items
        #expect(spanish[0].question == "Los potenciales postsinápticos excitadores:")
        #expect(spanish[0].answer == ["C"] && spanish[0].answerText == "Se pueden sumar.")

        // IgakuQA: lower-case letters to upper case; 112A1's answer is e.
        let japanese = dataset.file(.ja, .test)!.items
        let first = japanese.first { $0.id == "112A1" }!
        #expect(first.answer == ["E"] && first.options.count == 5 && first.answerText == "オルニチントランスカルバミラーゼ欠損症")
        #expect(japanese.contains { $0.answer.count > 1 })

        // PubMedQA: yes/no/maybe → A/B/C, the long answer as the rationale.
        let pubmed = try BenchTestData.json("english/ori_pqal.json") as! [String: [String: Any]]
        let pubmedItems = try BenchDataset(directory: data.directory + "/pubmedqa").file(.en, .test)!.items
        for item in pubmedItems.prefix(200) {
            let raw = pubmed[String(item.id.dropFirst("pubmedqa-".count))]!
            #expect(item.answer == [["yes": "A", "no": "B", "maybe": "C"][raw["final_decision"] as! String]!])
            #expect(item.rationale == raw["LONG_ANSWER"] as! String)
        }

        // MedMCQA sample (problem format): answers are the lower-case letters upper-cased.
        let medmcqa = try BenchTestData.jsonLines("english/medmcqa_dev_first200.jsonl")
        let medmcqaItems = try BenchDataset(directory: data.directory + "/medmcqa").file(.en, .test)!.items
        for (raw, item) in zip(medmcqa, medmcqaItems) {
            #expect(item.answer == (raw["answer"] as! [String]).map { $0.uppercased() })
        }
    }

    @Test func statsCountsAndValidationErrors() throws {
        let folder = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder + "/Test", withIntermediateDirectories: true)
        let good = #"{"question": "q", "options": {"A": "a", "B": "b"}, "answer_idx": "B", "answer": "b", "meta_info": "", "rationale": "r", "human_checked": true, "human_check_passed": true}"#
        try (good + "\n\n" + good.replacingOccurrences(of: #""answer_idx": "B""#, with: #""answer_idx": "C""#) + "\n")
            .write(toFile: folder + "/Test/English.jsonl", atomically: true, encoding: .utf8)
        do {
            _ = try BenchDataset(directory: folder)
            Issue.record("an answer outside the options must be an error")
        } catch let error as BenchFormatError {
            #expect(error.line == 3 && error.field == "answer_idx" && error.file.hasSuffix("Test/English.jsonl"))
        }
        try (good + "\n" + good.replacingOccurrences(of: "\"B\", \"answer\"", with: "[\"A\", \"B\"], \"answer\"") + "\n")
            .write(toFile: folder + "/Test/English.jsonl", atomically: true, encoding: .utf8)
        let dataset = try BenchDataset(directory: folder)
        let stats = BenchStatistics(dataset)
        #expect(stats.rows.count == 1 && stats.rows[0].items == 2 && stats.rows[0].multiAnswer == 1 && stats.rows[0].humanCheckPassed == 2)
        #expect(dataset.files[0].items[1].answerIsList && dataset.files[0].items[1].answer == ["A", "B"])
        // Lines written back are read back the same.
        #expect(dataset.files[0].items[1].jsonLine.contains(#""answer_idx": ["A", "B"]"#))
    }
}
