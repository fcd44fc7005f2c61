import Foundation
import MMedBench
import MMedIO
import MMedTestSupport
import MMedText
import Testing

/// `mmed bench prepare --tokenized` against MMedLM's own preprocessing (finetune/train.py `preprocess`), re-run by
/// Tests/Oracles/sft_preprocess_oracle.py with the transformers tokenizer classes, on MMedBench data imported from
/// ../shared/data/qa, with Llama 3 (tokenizer.json) and Llama 2 (SentencePiece tokenizer.model). Every example's ids
/// and mask/labels are compared, in both output formats, in the default and the published mode.
@Suite(.serialized) struct SFTTokenizedTests {
    struct Golden {
        var ids: [Int32]
        var labels: [Int32]
        var fullLength: Int
        var boundaryOK: Bool
    }

    /// An example as an output holds it: key "<lang code>|<id>|<form>", ids, and mask (1 = trained).
    struct Written: Equatable {
        var key: String
        var ids: [Int32]
        var mask: [UInt8]
    }

    static func golden(_ dataset: String, split: BenchSplit, tokenizer: String, maxLength: Int) throws -> [String: Golden] {
        let output = temporaryDirectory("sft-golden") + "/golden.jsonl"
        try Oracle.run("sft_preprocess_oracle.py", [dataset, split.folder, tokenizer, String(maxLength), output])
        var result: [String: Golden] = [:]
        for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") {
            let value = try JSONValue.parse(Array(line.utf8))
            let language = BenchLanguages.language(named: value["language"]!.string!)!
            let key = "\(language.rawValue)|\(value["id"]!.string!)|\(value["form"]!.string!)"
            result[key] = Golden(ids: value["input_ids"]!.array!.map { Int32($0.int!) }, labels: value["labels"]!.array!.map { Int32($0.int!) },
                                 fullLength: value["full_length"]!.int!, boundaryOK: value["boundary_ok"]!.bool!)
        }
        return result
    }

    /// A Megatron `.idx`, read here byte by byte (not with MMedPretrain's reader): lengths and document indices.
    static func readIndex(_ path: String, dtype: UInt8) throws -> (lengths: [Int], documents: [Int]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func integer(_ offset: Int, _ size: Int) -> Int {
            var value: UInt64 = 0
            for index in 0..<size { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            return Int(Int64(bitPattern: value))
        }
        #expect(Array(bytes[0..<9]) == Array("MMIDIDX".utf8) + [0, 0])
        #expect(integer(9, 8) == 1 && bytes[17] == dtype)
        let count = integer(18, 8), documentCount = integer(26, 8)
        #expect(bytes.count == 34 + count * 12 + documentCount * 8)
        let lengths = (0..<count).map { integer(34 + 4 * $0, 4) }
        var pointer = 0
        for (index, length) in lengths.enumerated() {
            #expect(integer(34 + 4 * count + 8 * index, 8) == pointer)
            pointer += length * Int(dtype == 4 ? 4 : 1)
        }
        let documents = (0..<documentCount).map { integer(34 + 12 * count + 8 * $0, 8) }
        return (lengths, documents)
    }

    static func readMegatron(_ folder: String) throws -> [Written] {
        let description = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/dataset.json"))))
        var sequences: [(ids: [Int32], mask: [UInt8])] = []
        for shard in description["shards"]!.array! {
            let prefix = folder + "/" + shard["prefix"]!.string!, maskPrefix = folder + "/" + shard["loss_mask_prefix"]!.string!
            let tokens = try readIndex(prefix + ".idx", dtype: 4), masks = try readIndex(maskPrefix + ".idx", dtype: 1)
            #expect(tokens.lengths == masks.lengths && tokens.documents == masks.documents)
            #expect(tokens.documents == Array(0...tokens.lengths.count))  // one document per sequence
            let bin = [UInt8](try Data(contentsOf: URL(fileURLWithPath: prefix + ".bin")))
            let maskBin = [UInt8](try Data(contentsOf: URL(fileURLWithPath: maskPrefix + ".bin")))
            #expect(bin.count == 4 * tokens.lengths.reduce(0, +) && maskBin.count == tokens.lengths.reduce(0, +))
            var offset = 0
            for length in tokens.lengths {
                let ids = (0..<length).map { i -> Int32 in
                    let at = 4 * (offset + i)
                    return Int32(bitPattern: UInt32(bin[at]) | UInt32(bin[at + 1]) << 8 | UInt32(bin[at + 2]) << 16 | UInt32(bin[at + 3]) << 24)
                }
                sequences.append((ids, Array(maskBin[offset..<(offset + length)])))
                offset += length
            }
        }
        let index = try String(contentsOfFile: folder + "/sequences.jsonl", encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(Array($0.utf8)) }
        #expect(index.count == sequences.count)
        return zip(index, sequences).map { entry, sequence in
            #expect(entry["tokens"]!.int! == sequence.ids.count)
            #expect(entry["masked"]!.int! == sequence.mask.filter { $0 == 0 }.count)
            return Written(key: "\(entry["language"]!.string!)|\(entry["id"]!.string!)|\(entry["form"]!.string!)", ids: sequence.ids, mask: sequence.mask)
        }
    }

    static func readJSONL(_ folder: String) throws -> [Written] {
        try String(contentsOfFile: folder + "/sft.jsonl", encoding: .utf8).split(separator: "\n").map { line in
            // Foundation's parser, independent of ours.
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let ids = (object["input_ids"] as! [NSNumber]).map { Int32($0.intValue) }
            let labels = (object["labels"] as! [NSNumber]).map { Int32($0.intValue) }
            #expect(labels.count == ids.count)
            for (label, id) in zip(labels, ids) { #expect(label == -100 || label == id) }
            return Written(key: "\(object["language"] as! String)|\(object["id"] as! String)|\(object["form"] as! String)",
                           ids: ids, mask: labels.map { $0 == -100 ? 0 : 1 })
        }
    }

    /// Runs the oracle and every output of `mmed bench prepare --tokenized`, and compares all examples.
    /// The imported samples: French, Spanish and Russian train items (no rationales); Japanese and English (MedQA) test
    /// items; Chinese (MedQA); English PubMedQA (every item with a rationale, long questions).
    static let datasets: [(folder: String, split: BenchSplit)] = [("mmedbench", .train), ("mmedbench", .test), ("medqa-zh", .test), ("pubmedqa", .test)]

    func check(tokenizer: String, maxLength: Int) throws -> (examples: Int, tokens: Int, skipped: Int, truncated: Int) {
        var figures = (examples: 0, tokens: 0, skipped: 0, truncated: 0)
        for (folder, split) in Self.datasets {
            let result = try check(tokenizer: tokenizer, maxLength: maxLength, dataset: try BenchTestData.imported.get().directory + "/" + folder, split: split)
            figures.examples += result.examples
            figures.tokens += result.tokens
            figures.skipped += result.skipped
            figures.truncated += result.truncated
        }
        return figures
    }

    func check(tokenizer: String, maxLength: Int, dataset: String, split: BenchSplit) throws -> (examples: Int, tokens: Int, skipped: Int, truncated: Int) {
        let golden = try Self.golden(dataset, split: split, tokenizer: tokenizer, maxLength: maxLength)
        let bench = try BenchDataset(directory: dataset, splits: [split])
        var emptyRationale = Set<String>()
        for file in bench.files { for item in file.items where item.rationale.isEmpty { emptyRationale.insert("\(file.language.rawValue)|\(item.id)|rationale") } }
        #expect(golden.count == 2 * bench.files.reduce(0) { $0 + $1.items.count })

        // The order of the text export, for the sequences.
        let folder = temporaryDirectory()
        let alpaca = folder + "/alpaca.jsonl"
        var run = try MMedCLI.run(["bench", "prepare", dataset, "--split", split.rawValue, "--format", "alpaca", "--output", alpaca])
        #expect(run.status == 0, "\(run.standardError)")
        let order = try String(contentsOfFile: alpaca, encoding: .utf8).split(separator: "\n").map { line -> String in
            let value = try JSONValue.parse(Array(line.utf8))
            return "\(value["language"]!.string!)|\(value["id"]!.string!)|\(value["form"]!.string!)"
        }

        var examples = 0, tokens = 0, skipped = 0, truncated = 0
        for published in [false, true] {
            var outputs: [[Written]] = []
            for format in ["megatron", "jsonl"] {
                let output = folder + "/\(format)-\(published)"
                run = try MMedCLI.run(["bench", "prepare", dataset, "--split", split.rawValue, "--tokenized", "--tokenizer", tokenizer,
                                       "--max-length", String(maxLength), "--format", format, "--output", output] + (published ? ["--published"] : []))
                #expect(run.status == 0, "\(run.standardError)")
                let written = format == "megatron" ? try Self.readMegatron(output) : try Self.readJSONL(output)
                outputs.append(written)
                let description = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: output + "/dataset.json"))))
                #expect(description["counts"]?["sequences"]?.int == written.count)
                #expect(description["preprocessing"]?.string == (published ? "published" : "paper"))
            }
            #expect(outputs[0] == outputs[1])
            let written = outputs[0]
            // Which examples: published = every record of the original; default = no empty-rationale form, nothing over-long.
            let expectedKeys = Set(golden.filter { key, value in
                published || (!emptyRationale.contains(key) && value.fullLength <= maxLength)
            }.keys)
            #expect(Set(written.map(\.key)) == expectedKeys)
            #expect(written.count == expectedKeys.count)
            // The order: the text export's, less the examples left out.
            if !published { #expect(written.map(\.key) == order.filter { expectedKeys.contains($0) }) }
            var mismatches = 0
            for example in written {
                guard let expected = golden[example.key] else { continue }
                let mask = expected.labels.map { $0 == -100 ? UInt8(0) : 1 }
                if example.ids != expected.ids || example.mask != mask {
                    mismatches += 1
                    if mismatches <= 3 {
                        Issue.record("\(tokenizer) \(example.key) published=\(published): ids \(example.ids.count) vs \(expected.ids.count), first difference at \(zip(example.ids, expected.ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1); masked \(example.mask.filter { $0 == 0 }.count) vs \(mask.filter { $0 == 0 }.count)")
                    }
                }
                examples += 1
                tokens += example.ids.count
                if published && expected.fullLength > maxLength { truncated += 1 }
            }
            if !published { skipped = golden.filter { !emptyRationale.contains($0.key) && $0.value.fullLength > maxLength }.count }
            #expect(mismatches == 0)
        }
        #expect(golden.values.allSatisfy { $0.boundaryOK })
        return (examples, tokens, skipped, truncated)
    }

    @Test func llama3MatchesTheOriginalPreprocessing() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let figures = try check(tokenizer: SharedData.path("tokenizers/llama3/hf"), maxLength: 2048)
        print("SFT tokenized, Llama 3: \(figures.examples) examples, \(figures.tokens) tokens compared (\(figures.skipped) over-long left out, \(figures.truncated) cut)")
    }

    @Test func llama2MatchesTheOriginalPreprocessing() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        // A short limit, so that some examples are over-long: left out by default, cut under --published.
        let figures = try check(tokenizer: SharedData.path("tokenizers/llama2/tokenizer.model"), maxLength: 256)
        print("SFT tokenized, Llama 2: \(figures.examples) examples, \(figures.tokens) tokens compared (\(figures.skipped) over-long left out, \(figures.truncated) cut)")
    }

    @Test func shardsSplitBetweenExamplesAndRerunsReplaceOtherFormats() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let dataset = try BenchTestData.imported.get().directory + "/mmedbench"
        let folder = temporaryDirectory()
        let tokenizer = SharedData.path("tokenizers/llama3/tiktoken/tokenizer.model")
        func prepare(_ output: String, _ extra: [String]) throws {
            let run = try MMedCLI.run(["bench", "prepare", dataset, "--tokenized", "--tokenizer", tokenizer, "--output", output] + extra)
            #expect(run.status == 0, "\(run.standardError)")
        }
        try prepare(folder + "/one", [])
        try prepare(folder + "/many", ["--shard-size", "256K"])
        let one = try Self.readMegatron(folder + "/one"), many = try Self.readMegatron(folder + "/many")
        #expect(one == many && one.count == 5812)
        let shards = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/many/dataset.json"))))["shards"]!.array!
        #expect(shards.count > 10 && shards.allSatisfy { ($0["tokens"]?.int ?? 0) * 4 <= 256 << 10 })
        // The same folder as JSONL: the shards go, and the examples are the same.
        try prepare(folder + "/many", ["--format", "jsonl"])
        let names = try FileManager.default.contentsOfDirectory(atPath: folder + "/many").sorted()
        #expect(names == ["dataset.json", "sft.jsonl"])
        #expect(try Self.readJSONL(folder + "/many") == one)
    }

    @Test func publishedTextExportGivesEmptyRationaleForms() throws {
        let folder = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder + "/Train", withIntermediateDirectories: true)
        let items = (0..<6).map { i in
            BenchItem(id: "q\(i)", question: "Question \(i)", options: [.init(key: "A", text: "x"), .init(key: "B", text: "y")],
                      answer: ["A"], rationale: i < 4 ? "Because \(i)." : "")
        }
        try (items.map(\.jsonLine).joined(separator: "\n") + "\n").write(toFile: folder + "/Train/French.jsonl", atomically: true, encoding: .utf8)
        let dataset = try BenchDataset(directory: folder, splits: [.train])
        let paper = SFTExport().examples(dataset.files), published = SFTExport(published: true).examples(dataset.files)
        #expect(paper.examples.count == 10 && published.examples.count == 12 && published.report.withoutRationale == 2)
        let empty = published.examples.first { $0.item.id == "q5" && $0.withRationale }!
        #expect(empty.target == "###Rationale: \n###Answer: OPTION A IS CORRECT.")
        #expect(empty.source.hasSuffix("### Response:") && empty.source.hasPrefix("Below is an instruction"))
    }

    @Test func errorsNameTheProblem() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let data = try BenchTestData.imported.get()
        let folder = temporaryDirectory()
        var run = try MMedCLI.run(["bench", "prepare", data.directory + "/mmedbench", "--tokenized", "--output", folder + "/x"])
        #expect(run.status != 0 && run.standardError.contains("--tokenizer"))
        run = try MMedCLI.run(["bench", "prepare", data.directory + "/mmedbench", "--tokenized", "--tokenizer", folder + "/missing.json", "--output", folder + "/x"])
        #expect(run.status != 0 && run.standardError.contains("missing.json"))
        run = try MMedCLI.run(["bench", "prepare", data.directory + "/mmedbench", "--tokenized", "--format", "chat",
                               "--tokenizer", SharedData.path("tokenizers/llama3/hf"), "--output", folder + "/x"])
        #expect(run.status != 0 && run.standardError.contains("megatron or jsonl"))
        // A malformed record: the error names the file, the line and the field.
        try FileManager.default.createDirectory(atPath: folder + "/bad/Train", withIntermediateDirectories: true)
        try "{\"question\": \"Q\", \"options\": {\"A\": \"a\"}, \"answer_idx\": 5}\n".write(toFile: folder + "/bad/Train/French.jsonl", atomically: true, encoding: .utf8)
        run = try MMedCLI.run(["bench", "prepare", folder + "/bad", "--tokenized", "--tokenizer", SharedData.path("tokenizers/llama3/hf"), "--output", folder + "/x"])
        #expect(run.status != 0 && run.standardError.contains("French.jsonl") && run.standardError.contains(":1") && run.standardError.contains("answer_idx"),
                "\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/x/dataset.json"))
    }
}
