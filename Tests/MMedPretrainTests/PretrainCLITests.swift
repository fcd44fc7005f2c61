import Foundation
import MMedTestSupport
import Testing

/// The real tokenizers, each with the independent implementation the oracle encodes with (HF `tokenizers` on a
/// tokenizer.json of the same vocabulary, or tiktoken itself) and how the oracle finds the EOS.
struct RealTokenizer: CustomTestStringConvertible, Sendable {
    var name: String
    /// What `mmed` loads.
    var file: String
    /// The oracle's tokenizer arguments.
    var oracle: [String]
    var testDescription: String { name }

    static let all = [
        RealTokenizer(name: "llama3 tokenizer.json", file: "tokenizers/llama3/hf/tokenizer.json",
                      oracle: ["--tokenizer", SharedData.path("tokenizers/llama3/hf/tokenizer.json")]),
        // The shared Llama 3 tokenizer.json (ignore_merges false) splits some words tiktoken keeps whole: the tiktoken
        // file is checked against tiktoken.
        RealTokenizer(name: "llama3 tiktoken", file: "tokenizers/llama3/tiktoken/tokenizer.model",
                      oracle: ["--tiktoken", SharedData.path("tokenizers/llama3/tiktoken/tokenizer.model")]),
        RealTokenizer(name: "llama2 sentencepiece", file: "tokenizers/llama2/tokenizer.model",
                      oracle: ["--tokenizer", SharedData.path("tokenizers/llama2/hf/tokenizer.json"), "--eos-token", "</s>"]),
    ]
}

/// `mmed pretrain prepare` end to end with the real tokenizers on real text, against `pretrain_oracle.py`.
/// The tokenizer tests need MMedTokenizers' implementations (until they land they fail with "not implemented yet").
@Suite(.serialized) struct PretrainCLITests {
    /// Real documents of many lengths: FLORES articles (one to a dozen sentences each, 8 languages) as JSONL with a
    /// `lang` field, a dolma Common Crawl JSONL file as it is, and two WMT news paragraphs as text files.
    static func realCorpus() throws -> String {
        let directory = temporaryDirectory("realcorpus") + "/in"
        let flores = ["eng_Latn": "en", "fra_Latn": "fr", "zho_Hans": "zh", "jpn_Jpan": "ja", "rus_Cyrl": "ru", "arb_Arab": "ar",
                      "deu_Latn": "de", "spa_Latn": "es"]
        var lines: [String] = []
        for (file, lang) in flores.sorted(by: { $0.key < $1.key }) {
            let sentences = try String(contentsOfFile: SharedData.path("text/flores200-devtest/\(file).devtest"), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var start = 0, size = 1
            while start < 120 {
                lines.append(jsonLine(sentences[start..<(start + size)].joined(separator: " "), id: lines.count, lang: lang))
                start += size
                size = size % 12 + 1
            }
        }
        try write(lines.joined(separator: "\n") + "\n", to: directory + "/flores.jsonl")
        try FileManager.default.copyItem(atPath: SharedData.path("text/dolma-cc-en/multiple_files__cc_en_head-0174.jsonl"),
                                         toPath: directory + "/cc_en_head.jsonl")
        for (name, source) in [("news-en.txt", "text/wmt-news/newstest2013.en"), ("news-de.txt", "text/wmt-news/newstest2013.de")] {
            let text = try String(contentsOfFile: SharedData.path(source), encoding: .utf8).split(separator: "\n").prefix(30).joined(separator: "\n")
            try write(text, to: directory + "/" + name)
        }
        return directory
    }

    /// Compares every window, loss mask and document boundary of a Megatron output with the oracle's windows.
    static func expectMegatronMatchesOracle(output: String, oracle: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let documents = oracle["documents"] as! [[String: Any]]
        let windows = documents.flatMap { $0["windows"] as! [[Int]] }
        let masks = documents.flatMap { $0["loss_mask"] as! [[Int]] }
        let read = try readMegatronOutput(output)
        let sequences = read.tokens.flatMap(\.sequences)
        #expect(sequences.count == windows.count, "sequence count", sourceLocation: sourceLocation)
        if let first = zip(sequences, windows).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("window \(first.offset) differs: ours \(first.element.0.prefix(20))…, oracle \(first.element.1.prefix(20))…",
                         sourceLocation: sourceLocation)
        }
        let ourMasks = read.masks.flatMap(\.sequences)
        #expect(ourMasks.count == masks.count && ourMasks == masks, "loss masks differ", sourceLocation: sourceLocation)
        let boundaries = documents.reduce(into: [0]) { $0.append($0.last! + ($1["windows"] as! [[Int]]).count) }
        #expect(read.tokens.count == 1 && read.tokens[0].documentIndices == boundaries, "one Megatron document per source document",
                sourceLocation: sourceLocation)
        let description = try datasetJSON(output)
        let total = (description["counts"] as! [String: Any])["total"] as! [String: Any]
        #expect(total["documents_tokenized"] as? Int == documents.count, sourceLocation: sourceLocation)
        #expect(total["tokens"] as? Int == documents.reduce(0) { $0 + ($1["tokens"] as! Int) }, sourceLocation: sourceLocation)
    }

    @Test(.enabled(if: SharedData.enabled, "needs ../shared/data (real text and tokenizers); runs in CI"), arguments: RealTokenizer.all)
    func smallWindowsMatchTheOracle(_ tokenizer: RealTokenizer) throws {
        let input = try Self.realCorpus()
        let output = temporaryDirectory("small") + "/out"
        let result = try MMedCLI.run(["pretrain", "prepare", "--tokenizer", SharedData.path(tokenizer.file), "--input", input,
                                      "--output", output, "--window", "64", "--overlap", "16", "--workers", "2", "--quiet"])
        try #require(result.status == 0, "\(result.standardError)")
        let description = try datasetJSON(output)
        let padID = description["pad_id"] as! Int
        let oracle = try runOracle(["windows"] + tokenizer.oracle + ["--window", "64", "--overlap", "16", "--pad-id", String(padID)]
                                   + ["\(input)/cc_en_head.jsonl", "\(input)/flores.jsonl", "\(input)/news-de.txt", "\(input)/news-en.txt"])
        #expect(description["eos_id"] as? Int == oracle["eos_id"] as? Int, "EOS: ours vs transformers' (tokenizer_config.json)")
        try Self.expectMegatronMatchesOracle(output: output, oracle: oracle)
        let languages = description["languages"] as! [String: Any]
        #expect(Set(languages.keys) == ["en", "fr", "zh", "ja", "ru", "ar", "de", "es"])
    }

    @Test(.enabled(if: SharedData.enabled, "needs ../shared/data (real text and tokenizers); runs in CI"))
    func defaultWindowsOnLongDocumentsAndTheNpyFormatMatchTheOracle() throws {
        let tokenizer = RealTokenizer.all[0]
        let directory = temporaryDirectory("long")
        // newstest2013.en and newstest2013.de share the stem "newstest2013" (the original would overwrite one with the
        // other); newstest2012.fr keeps the original's name.
        for name in ["newstest2013.en", "newstest2013.de", "newstest2012.fr"] {
            let text = try String(contentsOfFile: SharedData.path("text/wmt-news/" + name), encoding: .utf8)
            try write(text, to: "\(directory)/in/\(name).txt")
        }
        let inputs = ["newstest2012.fr.txt", "newstest2013.de.txt", "newstest2013.en.txt"].map { "\(directory)/in/\($0)" }
        let oracle = try runOracle(["windows"] + tokenizer.oracle + ["--pad-id", "128001", "--eos-id", "128001"] + inputs)
        for format in ["megatron", "mmedlm-npy"] {
            let output = "\(directory)/\(format)"
            let result = try MMedCLI.run(["pretrain", "prepare", "--tokenizer", SharedData.path(tokenizer.file), "--input", directory + "/in",
                                          "--output", output, "--format", format, "--pad-id", "128001", "--quiet"])
            try #require(result.status == 0, "\(result.standardError)")
            #expect(try datasetJSON(output)["eos_id"] as? Int == 128001)
            if format == "megatron" {
                try Self.expectMegatronMatchesOracle(output: output, oracle: oracle)
                continue
            }
            let documents = oracle["documents"] as! [[String: Any]]
            var expected: [(String, [Int])] = []
            for (document, stem) in zip(documents, ["newstest2012", "newstest2013.input1", "newstest2013.input2"]) {
                for (index, window) in (document["windows"] as! [[Int]]).enumerated() { expected.append(("npy/\(stem)_\(index).npy", window)) }
            }
            #expect(expected.count > 60, "long documents give many 2048-token windows")
            let dump = try runOracle(["read-npy"] + expected.map { "\(output)/\($0.0)" })
            for (file, window) in expected {
                let read = dump["\(output)/\(file)"] as? [String: Any]
                #expect(read?["values"] as? [Int] == window, "\(file)")
                #expect(read?["shape"] as? [Int] == [2048] && read?["dtype"] as? String == "<i8", "\(file)")
                #expect(read?["same_bytes_as_np_save"] as? Bool == true, "\(file)")
            }
        }
    }

    @Test(.enabled(if: SharedData.enabled, "needs ../shared/data (real text and a tokenizer); runs in CI"))
    func aKilledRunResumesToTheOutputOfAnUninterruptedOne() throws {
        let tokenizer = SharedData.path(RealTokenizer.all[0].file)
        let input = try Self.realCorpus()
        let arguments = ["pretrain", "prepare", "--tokenizer", tokenizer, "--input", input, "--window", "128", "--overlap", "32",
                         "--unit-mb", "0.0625"]
        let reference = temporaryDirectory("reference") + "/out"
        var result = try MMedCLI.run(arguments + ["--output", reference, "--workers", "1", "--quiet"])
        try #require(result.status == 0, "\(result.standardError)")

        let output = temporaryDirectory("killed") + "/out"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: MMedCLI.executable)
        process.arguments = arguments + ["--output", output, "--workers", "1", "--quiet"]
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        var killedMidway = false
        while Date() < deadline && process.isRunning {
            let done = (try? FileManager.default.contentsOfDirectory(atPath: output + "/units"))?.filter { $0.hasSuffix(".json") }.count ?? 0
            if done >= 2 {
                kill(process.processIdentifier, SIGKILL)
                killedMidway = true
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        try #require(killedMidway, "the run finished before it could be killed")
        #expect(!FileManager.default.fileExists(atPath: output + "/dataset.json"))

        result = try MMedCLI.run(arguments + ["--output", output, "--workers", "2"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("already done"))
        let resumed = try outputSnapshot(output)
        #expect(!resumed.keys.contains { ($0 as NSString).lastPathComponent.hasPrefix(".") }, "temporary files of the killed run are cleaned up")
        #expect(resumed == (try outputSnapshot(reference)))

        result = try MMedCLI.run(arguments + ["--output", output])
        #expect(result.status == 0 && result.standardError.contains("nothing to do"), "\(result.standardError)")
    }

    @Test func badArgumentsFailBeforeAnyWork() throws {
        let directory = temporaryDirectory("badargs")
        try write("{\"text\": \"x\"}\n", to: directory + "/in.jsonl")
        let base = ["pretrain", "prepare", "--tokenizer", directory + "/missing.json", "--input", directory + "/in.jsonl", "--output", directory + "/out"]
        for (extra, message) in [(["--window", "64", "--overlap", "64"], "--overlap"), (["--mode", "document", "--window", "64"], "--window"),
                                 (["--format", "parquet"], "unknown format"), (["--loss-mask", "none"], "unknown loss mask"),
                                 (["--shard-size", "big"], "--shard-size"), (["--unit-mb", "100"], "--unit-mb")] {
            let result = try MMedCLI.run(base + extra)
            #expect(result.status != 0 && result.standardError.contains(message), "\(extra): \(result.standardError)")
        }
        let missing = try MMedCLI.run(base)
        #expect(missing.status == 2 && missing.standardError.contains("missing.json"), "\(missing.standardError)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/out"))
    }
}
