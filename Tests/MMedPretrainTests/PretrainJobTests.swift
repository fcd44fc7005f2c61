import Foundation
import MMedCorpus
import MMedIO
import MMedPretrain
import MMedTestSupport
import Testing

/// The job in-process with the byte tokenizer: reading, rejects, windows on disk (read back by the oracle's independent
/// Megatron and npy readers), shards, workers, resume, quarantine.
@Suite(.serialized) struct PretrainJobTests {
    /// A small corpus with every kind of record: short and long documents, escapes, several languages, and records that
    /// must be rejected. Returns the input directory and the accepted documents' texts in input order.
    static func mixedCorpus() throws -> (directory: String, texts: [String]) {
        let directory = temporaryDirectory("mixed") + "/in"
        let long = generatedText(words: 300, seed: 1)
        let escaped = "line\nbreak \u{e9} \"quoted\" tab\t end"
        let lines = [
            jsonLine("short", id: 0, lang: "en"),
            "",
            jsonLine(long, id: 1, lang: "fr"),
            "{\"text\": \"unterminated",
            "{\"id\": 3}",
            "{\"id\": 4, \"text\": 42}",
            jsonLine(escaped, id: 5),
            "{\"id\": 6, \"text\": \"\\ud800\"}",
            jsonLine("", id: 7, lang: "en"),
        ]
        try write(lines.joined(separator: "\n") + "\n", to: directory + "/a.jsonl")
        let medium = generatedText(words: 40, seed: 2)
        try write(medium, to: directory + "/b.txt")
        let compressed = generatedText(words: 25, seed: 3)
        try write(compressed, to: directory + "/c.txt")
        try gzip(directory + "/c.txt")
        try Data([0x61, 0xFF, 0x62]).write(to: URL(fileURLWithPath: directory + "/d.txt"))
        return (directory, ["short", long, escaped, "", medium, compressed])
    }

    static func gzip(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-n", "-f", path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func megatronShardsHoldTheOriginalsWindowsInInputOrder() throws {
        let (input, texts) = try Self.mixedCorpus()
        let output = temporaryDirectory("megatron") + "/out"
        let summary = try makeJob([input], output: output).run()
        #expect(summary.complete && !summary.alreadyComplete && summary.quarantined.isEmpty)

        let expected = texts.map { originalWindows(byteIDs($0), window: 64, overlap: 16, pad: 2) }
        let (tokens, masks) = try readMegatronOutput(output)
        try #require(tokens.count == 1)
        #expect(tokens[0].dtype == "int32" && tokens[0].dtypeCode == 4)
        #expect(masks[0].dtype == "uint8" && masks[0].dtypeCode == 1)
        #expect(tokens[0].sequences == expected.flatMap { $0.map { $0.ids.map(Int.init) } })
        #expect(masks[0].sequences == expected.flatMap { $0.map { Array(repeating: 1, count: 64 - $0.padding) + Array(repeating: 0, count: $0.padding) } })
        // One Megatron document per source document: its windows.
        var boundaries = [0]
        for windows in expected { boundaries.append(boundaries.last! + windows.count) }
        #expect(tokens[0].documentIndices == boundaries)
        #expect(masks[0].documentIndices == boundaries)

        let description = try datasetJSON(output)
        let total = (description["counts"] as! [String: Any])["total"] as! [String: Any]
        #expect(total["documents_read"] as? Int == 11)
        #expect(total["documents_tokenized"] as? Int == 6)
        #expect(total["documents_rejected"] as? Int == 5)
        #expect(total["tokens"] as? Int == texts.reduce(0) { $0 + byteIDs($1).count })
        #expect(total["sequences"] as? Int == expected.reduce(0) { $0 + $1.count })
        #expect(total["padding_tokens"] as? Int == expected.reduce(0) { $0 + $1.reduce(0) { $0 + $1.padding } })
        let reasons = (description["counts"] as! [String: Any])["reject_reasons"] as! [String: Int]
        #expect(reasons == ["malformed JSON": 1, "missing text field": 1, "text field not a string": 1, "bad escape in text": 1, "invalid UTF-8": 1])
        #expect((description["counts"] as! [String: Any])["blank_lines"] as? Int == 1)
        let languages = description["languages"] as! [String: [String: Any]]
        #expect(languages["en"]?["documents_tokenized"] as? Int == 2)
        #expect(languages["fr"]?["documents_tokenized"] as? Int == 1)
        #expect(description["pad_id"] as? Int == 2 && description["eos_id"] as? Int == 2)
        #expect(description["pad_id_source"] as? String == PadIDSource.tokenizerEOS.rawValue)
        #expect(description["window"] as? Int == 64 && description["overlap"] as? Int == 16 && description["stride"] as? Int == 48)
        #expect(description["dtype"] as? String == "int32" && description["complete"] as? Bool == true)

        let rejected = try String(contentsOfFile: output + "/rejected.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(rejected.count == 5)
        #expect(rejected.contains { $0.contains("\"line\":4") && $0.contains("malformed JSON") })
        #expect(rejected.contains { $0.contains("d.txt") && $0.contains("invalid UTF-8 at byte 1 of the file") })
        // Token parts are gone once the run is complete (they are in the shards).
        #expect(try FileManager.default.contentsOfDirectory(atPath: output + "/parts").allSatisfy { !$0.hasSuffix(".tokens") })
    }

    @Test func shardsEndBetweenDocumentsAndTogetherHoldTheSingleShard() throws {
        let (input, texts) = try Self.mixedCorpus()
        let single = temporaryDirectory("single") + "/out"
        _ = try makeJob([input], output: single).run()
        let split = temporaryDirectory("split") + "/out"
        // 3 windows of 64 int32 tokens per shard at most (the long document, 7 windows, takes a shard alone).
        let summary = try makeJob([input], output: split, shardBytes: 3 * 64 * 4).run()
        #expect(summary.outputFiles > 2)
        let whole = try readMegatronOutput(single).tokens[0]
        let shards = try readMegatronOutput(split)
        #expect(shards.tokens.flatMap(\.sequences) == whole.sequences)
        #expect(shards.masks.flatMap(\.sequences) == (try readMegatronOutput(single)).masks[0].sequences)
        #expect(shards.tokens.reduce(0) { $0 + $1.documentIndices.count - 1 } == texts.count)
        for shard in shards.tokens where shard.sequences.count > 3 {
            #expect(shard.documentIndices.count == 2, "only a single large document may exceed the shard size")
        }
        let listed = try datasetJSON(split)["shards"] as! [[String: Any]]
        #expect(listed.map { $0["prefix"] as! String } == (0..<listed.count).map { String(format: "tokens_%05d", $0) })
    }

    /// A JSONL corpus of `records` documents of 5–400 words, in several files, big enough for many 32 KiB units.
    static func largeCorpus(records: Int = 600, poisonAt: Int? = nil) throws -> String {
        let directory = temporaryDirectory("large") + "/in"
        var state: UInt64 = 42
        for part in 0..<3 {
            var lines: [String] = []
            for index in 0..<(records / 3) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let number = part * (records / 3) + index
                var text = generatedText(words: 5 + Int(state >> 33) % 400, seed: UInt64(number))
                if number == poisonAt { text += " POISON" }
                lines.append(jsonLine(text, id: number, lang: ["en", "fr", "zh"][number % 3]))
            }
            try write(lines.joined(separator: "\n") + "\n", to: directory + "/part-\(part).jsonl")
        }
        return directory
    }

    @Test(arguments: PretrainOutputFormat.allCases)
    func outputDoesNotDependOnTheNumberOfWorkers(_ format: PretrainOutputFormat) throws {
        let input = try Self.largeCorpus(records: 300)
        var snapshots: [[String: Data]] = []
        for workers in [1, 2, 4] {
            let output = temporaryDirectory("workers\(workers)") + "/out"
            let summary = try makeJob([input], output: output, window: 512, overlap: 128, format: format, workers: workers,
                                      unitBytes: 32 << 10).run()
            #expect(summary.unitsProcessed >= 6, "expected several units")
            snapshots.append(try outputSnapshot(output))
        }
        #expect(snapshots[0] == snapshots[1])
        #expect(snapshots[0] == snapshots[2])
    }

    @Test func anInterruptedRunRedoesOnlyItsUnfinishedUnits() throws {
        let input = try Self.largeCorpus(poisonAt: 330)
        let reference = temporaryDirectory("reference") + "/out"
        _ = try makeJob([input], output: reference, workers: 1, unitBytes: 32 << 10).run()

        // The tokenizer fails on one document in the middle: the run stops there, as if killed.
        let tokenizer = ByteTokenizer()
        tokenizer.poisoned.store(true, ordering: .relaxed)
        let output = temporaryDirectory("interrupted") + "/out"
        #expect(throws: PretrainError.self) {
            try makeJob([input], output: output, tokenizer: tokenizer, workers: 1, unitBytes: 32 << 10).run()
        }
        let done = try FileManager.default.contentsOfDirectory(atPath: output + "/units").filter { $0.hasSuffix(".json") }.count
        #expect(done > 0)
        #expect(!FileManager.default.fileExists(atPath: output + "/dataset.json"))

        tokenizer.poisoned.store(false, ordering: .relaxed)
        let resumed = try makeJob([input], output: output, tokenizer: tokenizer, workers: 2, unitBytes: 32 << 10).run()
        let all = try FileManager.default.contentsOfDirectory(atPath: output + "/units").filter { $0.hasSuffix(".json") }.count
        #expect(resumed.unitsProcessed == all - done, "only the unfinished units are redone")
        #expect(resumed.unitsProcessed > 0)
        #expect(try outputSnapshot(output) == (try outputSnapshot(reference)))

        // A finished run re-run does nothing and says so.
        let again = try makeJob([input], output: output, workers: 2, unitBytes: 32 << 10).run()
        #expect(again.alreadyComplete && again.unitsProcessed == 0)
        #expect(again.total == resumed.total)

        // A lost done-marker: that unit is redone (its parts were removed with the others when the run completed), the
        // shards it is in are found up to date, and the output is the same.
        let markers = try FileManager.default.contentsOfDirectory(atPath: output + "/units").filter { $0.hasSuffix(".json") }.sorted()
        try FileManager.default.removeItem(atPath: output + "/units/" + markers[markers.count / 2])
        let redone = try makeJob([input], output: output, workers: 2, unitBytes: 32 << 10).run()
        #expect(!redone.alreadyComplete && redone.unitsProcessed == 1)
        #expect(try outputSnapshot(output) == (try outputSnapshot(reference)))
    }

    @Test func otherSettingsInTheSameOutputAreRefused() throws {
        let (input, _) = try Self.mixedCorpus()
        let output = temporaryDirectory("settings") + "/out"
        _ = try makeJob([input], output: output).run()
        do {
            _ = try makeJob([input], output: output, window: 32).run()
            Issue.record("a re-run with another window was accepted")
        } catch {
            #expect("\(error)".contains("window"))
        }
    }

    @Test func npyWindowsAreTheOriginalsFilesAndNamesAndMatchMegatron() throws {
        let directory = temporaryDirectory("npy")
        let texts = ["cardiology.txt": generatedText(words: 8, seed: 5), "long.txt": generatedText(words: 90, seed: 6),
                     "a.en.txt": "english text", "a.fr.txt": "texte français"]
        for (name, text) in texts { try write(text, to: directory + "/in/" + name) }
        try write([jsonLine("first record", id: 0), jsonLine(generatedText(words: 30, seed: 7), id: 1)].joined(separator: "\n") + "\n",
                  to: directory + "/in/web.jsonl")
        let output = directory + "/npy-out"
        _ = try makeJob([directory + "/in"], output: output, format: .mmedlmNpy).run()

        // Inputs in order: a.en.txt, a.fr.txt, cardiology.txt, long.txt, web.jsonl.
        var expected: [(String, [Int32], Int)] = []
        func add(_ document: String, _ text: String) {
            for (window, item) in originalWindows(byteIDs(text), window: 64, overlap: 16, pad: 2).enumerated() {
                expected.append((NpyNaming.fileName(document: document, window: window), item.ids, item.padding))
            }
        }
        add("a.input0", texts["a.en.txt"]!)
        add("a.input1", texts["a.fr.txt"]!)
        add("cardiology", texts["cardiology.txt"]!)
        add("long", texts["long.txt"]!)
        add("web.line1", "first record")
        add("web.line2", generatedText(words: 30, seed: 7))
        #expect(expected.contains { $0.0 == "cardiology_0.npy" } && expected.contains { $0.0 == "long_2.npy" })

        let index = try String(contentsOfFile: output + "/npy-index.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(index.map { $0["file"] as! String } == expected.map { "npy/" + $0.0 })
        #expect(index.map { $0["padding"] as! Int } == expected.map(\.2))
        #expect(try FileManager.default.contentsOfDirectory(atPath: output + "/npy").filter { !$0.hasPrefix(".") }.count == expected.count)

        let dump = try runOracle(["read-npy"] + expected.map { output + "/npy/" + $0.0 })
        for (name, ids, _) in expected {
            let file = dump[output + "/npy/" + name] as! [String: Any]
            #expect(file["dtype"] as? String == "<i8", "\(name)")
            #expect(file["shape"] as? [Int] == [64], "\(name)")
            #expect(file["values"] as? [Int] == ids.map(Int.init), "\(name)")
            #expect(file["same_bytes_as_np_save"] as? Bool == true, "\(name)")
        }

        // The same windows, in the same order, as the Megatron output of the same inputs.
        let megatron = directory + "/megatron-out"
        _ = try makeJob([directory + "/in"], output: megatron).run()
        #expect(try readMegatronOutput(megatron).tokens[0].sequences == expected.map { $0.1.map(Int.init) })
    }

    @Test func parquetRowsAreDocuments() throws {
        let parquet = Repository.path("samples/culturax/en_part_00000.parquet")
        let documents = (try runOracle(["documents", parquet])["documents"] as! [[String: Any]]).map { $0["text"] as! String }
        #expect(documents.count == 48)
        let directory = temporaryDirectory("parquet")
        for format in PretrainOutputFormat.allCases {
            let output = directory + "/\(format.rawValue)"
            let summary = try makeJob([parquet], output: output, window: 256, overlap: 64, format: format, workers: 2).run()
            #expect(summary.total.documentsTokenized == 48 && summary.total.documentsRejected == 0)
            let expected = documents.flatMap { originalWindows(byteIDs($0), window: 256, overlap: 64, pad: 2).map { $0.ids.map(Int.init) } }
            switch format {
            case .megatron:
                #expect(try readMegatronOutput(output).tokens[0].sequences == expected)
            case .mmedlmNpy:
                let files = try String(contentsOfFile: output + "/npy-index.jsonl", encoding: .utf8).split(separator: "\n").map {
                    (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["file"] as! String
                }
                #expect(files.first == "npy/en_part_00000.row0_0.npy")
                let dump = try runOracle(["read-npy"] + files.map { output + "/" + $0 })
                #expect(files.map { (dump[output + "/" + $0] as! [String: Any])["values"] as! [Int] } == expected)
            }
        }
    }

    @Test func documentModeAndThePublishedLossMask() throws {
        let (input, texts) = try Self.mixedCorpus()
        let document = temporaryDirectory("document") + "/out"
        _ = try makeJob([input], output: document, mode: .document).run()
        let read = try readMegatronOutput(document)
        #expect(read.tokens[0].sequences == texts.map { byteIDs($0).map(Int.init) })
        #expect(read.masks[0].sequences == texts.map { Array(repeating: 1, count: byteIDs($0).count) })
        #expect(read.tokens[0].documentIndices == Array(0...texts.count))
        #expect(try datasetJSON(document)["window"] == nil)

        let published = temporaryDirectory("published") + "/out"
        _ = try makeJob([input], output: published, lossMask: .published).run()
        let windows = texts.flatMap { originalWindows(byteIDs($0), window: 64, overlap: 16, pad: 2) }
        let readPublished = try readMegatronOutput(published)
        #expect(readPublished.tokens[0].sequences == windows.map { $0.ids.map(Int.init) })
        #expect(readPublished.masks[0].sequences == windows.map { _ in Array(repeating: 1, count: 64) })
        #expect(try datasetJSON(published)["loss_mask"] as? String == "published")
    }

    @Test(arguments: PretrainOutputFormat.allCases)
    func aCorruptFileIsQuarantinedAndARepairedOneIsReadOnTheNextRun(_ format: PretrainOutputFormat) throws {
        let directory = temporaryDirectory("quarantine")
        let input = directory + "/in"
        // big.jsonl.gz is large enough to be read as a stream of several units before the damage is found.
        var lines: [String] = []
        for index in 0..<300 { lines.append(jsonLine(generatedText(words: 60 + index % 50, seed: UInt64(1000 + index)), id: index)) }
        try write(lines.joined(separator: "\n") + "\n", to: input + "/big.jsonl")
        try Self.gzip(input + "/big.jsonl")
        let good = try Data(contentsOf: URL(fileURLWithPath: input + "/big.jsonl.gz"))
        try write(generatedText(words: 20, seed: 9), to: input + "/small.txt")
        // A small compressed text file shares its unit with small.txt: it is quarantined alone.
        try write(generatedText(words: 30, seed: 10), to: input + "/other.txt")
        try Self.gzip(input + "/other.txt")
        let goodOther = try Data(contentsOf: URL(fileURLWithPath: input + "/other.txt.gz"))
        let reference = directory + "/reference"
        _ = try makeJob([input], output: reference, window: 256, overlap: 64, format: format, unitBytes: 16 << 10).run()

        try good.prefix(good.count * 9 / 10).write(to: URL(fileURLWithPath: input + "/big.jsonl.gz"))
        try goodOther.prefix(goodOther.count / 2).write(to: URL(fileURLWithPath: input + "/other.txt.gz"))
        let output = directory + "/out"
        let partial = try makeJob([input], output: output, window: 256, overlap: 64, format: format, unitBytes: 16 << 10).run()
        #expect(!partial.complete)
        #expect(partial.quarantined.map { lastPathComponent($0.file) }.sorted() == ["big.jsonl.gz", "other.txt.gz"])
        #expect(partial.total.documentsRead == 1, "only small.txt counts")
        #expect(try datasetJSON(output)["complete"] as? Bool == false)
        if format == .mmedlmNpy {
            let names = try FileManager.default.contentsOfDirectory(atPath: output + "/npy")
            #expect(names.allSatisfy { !$0.hasPrefix("big") }, "the quarantined file's windows are removed")
            #expect(names.contains("small_0.npy"))
        }

        try good.write(to: URL(fileURLWithPath: input + "/big.jsonl.gz"))
        try goodOther.write(to: URL(fileURLWithPath: input + "/other.txt.gz"))
        let repaired = try makeJob([input], output: output, window: 256, overlap: 64, format: format, unitBytes: 16 << 10).run()
        #expect(repaired.complete && repaired.quarantined.isEmpty)
        #expect(try outputSnapshot(output) == (try outputSnapshot(reference)))
    }
}
