import Foundation
import MMedIO
import MMedTestSupport
import Testing

@Suite(.serialized) struct CorpusFilterCLITests {
    static let corpus: String = {
        let directory = temporaryDirectory("sharedcorpus")
        let path = directory + "/corpus.jsonl"
        try! makeCorpus(at: path, records: 12_000)
        return path
    }()

    @Test func outputIsByteIdenticalForOneTwoAndFourWorkers() throws {
        var snapshots: [[String: Data]] = []
        for workers in [1, 2, 4] {
            let output = temporaryDirectory("workers\(workers)")
            let result = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", output, "--lang", "en",
                                          "--workers", String(workers), "--unit-mb", "1", "--write-dropped", "--quiet"])
            #expect(result.status == 0, "\(result.standardError)")
            snapshots.append(try outputSnapshot(output))
        }
        #expect(snapshots[0].keys.filter { $0.hasPrefix("kept/") }.count >= 4, "expected several units")
        #expect(snapshots[0] == snapshots[1])
        #expect(snapshots[0] == snapshots[2])
    }

    @Test func severalFilesReadConcurrentlyGiveTheSameOutput() throws {
        let directory = temporaryDirectory("readers")
        for index in 0..<6 { try makeCorpus(at: directory + "/in/part-\(index).jsonl", records: 900, seed: UInt64(index + 11)) }
        var snapshots: [[String: Data]] = []
        for workers in [1, 8] {   // 8 workers read with 2 reader threads
            let output = directory + "/out-\(workers)"
            let result = try MMedCLI.run(["corpus", "filter", "--input", directory + "/in", "--output", output, "--lang", "en",
                                          "--workers", String(workers), "--unit-mb", "1", "--quiet"])
            #expect(result.status == 0, "\(result.standardError)")
            snapshots.append(try outputSnapshot(output))
        }
        #expect(snapshots[0].keys.filter { $0.hasPrefix("items/") }.count == 6)
        #expect(snapshots[0] == snapshots[1])
    }

    @Test func killedRunResumesToTheSameOutput() throws {
        let reference = temporaryDirectory("reference")
        var result = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", reference, "--lang", "en",
                                      "--workers", "1", "--unit-mb", "1", "--quiet"])
        #expect(result.status == 0)

        let output = temporaryDirectory("killed")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: MMedCLI.executable)
        process.arguments = ["corpus", "filter", "--input", Self.corpus, "--output", output, "--lang", "en",
                             "--workers", "1", "--unit-mb", "1", "--quiet"]
        try process.run()
        // Kill it once some, but not all, units are done.
        let deadline = Date().addingTimeInterval(60)
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
        #expect(!FileManager.default.fileExists(atPath: output + "/stats.json"))

        result = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", output, "--lang", "en",
                                  "--workers", "2", "--unit-mb", "1"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("already done"))
        let resumed = try outputSnapshot(output)
        #expect(!resumed.keys.contains { lastComponent($0).hasPrefix(".") }, "temporary files of the killed run are cleaned up")
        #expect(resumed == (try outputSnapshot(reference)))
    }

    @Test func shardsTogetherEqualOneRun() throws {
        let directory = temporaryDirectory("shards")
        // Files above a quarter of a unit are read as streams of their own (smaller ones would share a unit).
        for index in 0..<3 { try makeCorpus(at: directory + "/part-\(index).jsonl", records: 1500, seed: UInt64(index + 1)) }
        // The outputs sit inside the input folder: the job must not read its own output.
        let whole = directory + "/whole", sharded = directory + "/sharded"
        #expect(try MMedCLI.run(["corpus", "filter", "--input", directory, "--output", whole, "--lang", "en", "--unit-mb", "1", "--quiet"]).status == 0)
        #expect(try MMedCLI.run(["corpus", "filter", "--input", directory, "--output", sharded, "--lang", "en", "--unit-mb", "1",
                                 "--shard", "0/2", "--quiet"]).status == 0)
        #expect(try stats(sharded)["complete"] as? Bool == false)
        // The second shard comes from the Slurm array variables.
        let second = try MMedCLI.run(["corpus", "filter", "--input", directory, "--output", sharded, "--lang", "en", "--unit-mb", "1", "--quiet"],
                                     environment: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "1"])
        #expect(second.status == 0, "\(second.standardError)")
        #expect(try stats(sharded)["complete"] as? Bool == true)
        #expect(try outputSnapshot(sharded) == (try outputSnapshot(whole)))
    }

    @Test func smallFilesShareUnitsAndACorruptOneIsQuarantinedAlone() throws {
        let directory = temporaryDirectory("smallfiles")
        var expectedDocuments = 0
        for index in 0..<40 {
            let records = 5 + index % 7
            try makeCorpus(at: directory + "/in/page-\(String(format: "%03d", index)).jsonl", records: records, seed: UInt64(100 + index))
            expectedDocuments += records
        }
        // One small gzip file cut short.
        try makeCorpus(at: directory + "/in/page-020x.jsonl", records: 400, seed: 3)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "cd \(directory)/in && gzip -f page-020x.jsonl && head -c 3000 page-020x.jsonl.gz > cut.gz && mv cut.gz page-020x.jsonl.gz"]
        try gzip.run()
        gzip.waitUntilExit()
        var snapshots: [[String: Data]] = []
        for workers in [1, 2] {
            let output = directory + "/out-\(workers)"
            let result = try MMedCLI.run(["corpus", "filter", "--input", directory + "/in", "--output", output, "--lang", "en",
                                          "--workers", String(workers), "--allow-partial", "--quiet"])
            #expect(result.status == 0, "\(result.standardError)")
            let summary = try stats(output)
            #expect((summary["total"] as! [String: Any])["documents_read"] as? Int == expectedDocuments)
            #expect((summary["quarantined"] as! [[String: Any]]).map { ($0["file"] as! String).hasSuffix("page-020x.jsonl.gz") } == [true])
            #expect((summary["inputs"] as! [String: Any]).count == 41)
            let units = try FileManager.default.contentsOfDirectory(atPath: output + "/units")
            #expect(units.count == 1, "41 small files share one unit: \(units)")
            snapshots.append(try outputSnapshot(output))
        }
        #expect(snapshots[0] == snapshots[1])
        // Attribute rows of grouped files carry each file's own line numbers, 1...n in order.
        var linesByFile: [String: [Int]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory + "/out-1/attributes") {
            let reader = LineReader(source: try openByteSource(path: directory + "/out-1/attributes/" + name))
            while let row = try reader.next() {
                let object = try JSONSerialization.jsonObject(with: Data(row.bytes)) as! [String: Any]
                linesByFile[object["file"] as! String, default: []].append(object["line"] as! Int)
            }
        }
        #expect(linesByFile.count == 40)
        #expect(linesByFile.values.allSatisfy { $0 == Array(1...$0.count) })
    }

    @Test func oneLargeFileSplitsItsUnitsAcrossShards() throws {
        let directory = temporaryDirectory("unitshards")
        let whole = directory + "/whole", sharded = directory + "/sharded"
        let common = ["corpus", "filter", "--input", Self.corpus, "--lang", "en", "--unit-mb", "1"]
        #expect(try MMedCLI.run(common + ["--output", whole, "--quiet"]).status == 0)
        var processed: [Int] = []
        for index in 0..<3 {
            let result = try MMedCLI.run(common + ["--output", sharded, "--shard", "\(index)/3"])
            #expect(result.status == 0, "\(result.standardError)")
            let match = result.standardError.firstMatch(of: /(\d+) units processed/)
            processed.append(Int(match?.1 ?? "") ?? -1)
            #expect(try stats(sharded)["complete"] as? Bool == (index == 2))
        }
        let total = try FileManager.default.contentsOfDirectory(atPath: whole + "/units").count
        #expect(processed.reduce(0, +) == total)
        #expect(processed.allSatisfy { $0 > 0 && $0 < total }, "every shard does a share: \(processed) of \(total)")
        #expect(try outputSnapshot(sharded) == (try outputSnapshot(whole)))
    }

    @Test func malformedRecordsAreRejectedWithFileLineAndReasonAndCountsAddUp() throws {
        let directory = temporaryDirectory("malformed")
        let input = directory + "/in.jsonl"
        var bytes = Data("""
        {"id": 1, "text": "The patient has diabetes and hypertension; insulin therapy and blood pressure medication were started in hospital."}
        {"id": 2, "text": "broken
        {"id": 3}
        {"id": 4, "text": 42}

        {"id": 5, "text": null}
        {"id": 6, "text": "bad escape \\ud800 here"}

        """.utf8)
        bytes.append(Data("{\"id\": 7, \"text\": \"invalid ".utf8) + Data([0xFF, 0xFE]) + Data(" bytes\"}\n".utf8))
        bytes.append(Data("{\"id\": 8, \"text\": \"fine, general text about the weather\"}".utf8))  // no final newline
        try bytes.write(to: URL(fileURLWithPath: input))
        let output = directory + "/out"
        let result = try MMedCLI.run(["corpus", "filter", "--input", input, "--output", output, "--lang", "en", "--min-mkc", "3", "--quiet"])
        #expect(result.status == 0, "\(result.standardError)")
        let total = try stats(output)["total"] as! [String: Any]
        #expect(total["documents_read"] as? Int == 8)
        #expect(total["documents_rejected"] as? Int == 6)
        #expect((total["documents_kept"] as! Int) + (total["documents_dropped"] as! Int) == 2)
        #expect(total["bytes_read"] as? Int == bytes.count - 1, "every byte but the blank line's is accounted for")
        #expect(try stats(output)["blank_lines"] as? Int == 1)
        let rejected = try String(contentsOfFile: output + "/rejected.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(rejected.map { $0["line"] as! Int } == [2, 3, 4, 6, 7, 8])
        let reasons = rejected.map { $0["reason"] as! String }
        #expect(reasons[0].contains("malformed JSON"))
        #expect(reasons[1] == "missing field \"text\"")
        #expect(reasons[2].contains("is a number, not a string"))
        #expect(reasons[3].contains("is null, not a string"))
        #expect(reasons[4].contains("surrogate"))
        #expect(reasons[5].contains("invalid UTF-8"))
        #expect(rejected[5]["record_base64"] != nil)
        #expect(rejected.allSatisfy { ($0["file"] as? String) == input })
    }

    @Test(arguments: ["zst", "gz"])
    func corruptCompressedInputIsQuarantinedAndTheRestFinishes(suffix: String) throws {
        let directory = temporaryDirectory("quarantine\(suffix)")
        try makeCorpus(at: directory + "/good.jsonl", records: 200)
        try makeCorpus(at: directory + "/bad.jsonl", records: 8000, seed: 9)   // several 1 MiB units
        let tool = suffix == "zst" ? "zstd -q -f bad.jsonl -o bad.jsonl.zst" : "gzip -f bad.jsonl"
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "cd \(directory) && \(tool) && head -c 9000 bad.jsonl.\(suffix) > cut.jsonl.\(suffix)"]
        try shell.run()
        shell.waitUntilExit()
        // A second copy with bytes flipped in the middle of the compressed stream.
        var flipped = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/bad.jsonl.\(suffix)")))
        for index in stride(from: flipped.count * 2 / 3, to: flipped.count - 64, by: 211) { flipped[index] ^= 0x5A }   // after some units are done
        try Data(flipped).write(to: URL(fileURLWithPath: directory + "/flipped.jsonl.\(suffix)"))
        try FileManager.default.removeItem(atPath: directory + "/bad.jsonl.\(suffix)")
        let output = directory + "/out"
        let strict = try MMedCLI.run(["corpus", "filter", "--input", directory + "/good.jsonl", directory + "/cut.jsonl.\(suffix)",
                                      directory + "/flipped.jsonl.\(suffix)", "--output", output, "--lang", "en", "--unit-mb", "1"])
        #expect(strict.status == 3)
        #expect(strict.standardError.contains("cut.jsonl.\(suffix)") && strict.standardError.contains("truncated"))
        #expect(strict.standardError.contains("flipped.jsonl.\(suffix)") && strict.standardError.contains("corrupt"))
        let summary = try stats(output)
        #expect((summary["quarantined"] as! [[String: Any]]).count == 2)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: output + "/kept").filter { !$0.hasPrefix("000000-") }
        #expect(leftovers.isEmpty, "no output of a quarantined file remains: \(leftovers)")
        #expect((summary["total"] as! [String: Any])["documents_read"] as? Int == 200, "only the good file counts")
        #expect(summary["complete"] as? Bool == true)
        let lenient = try MMedCLI.run(["corpus", "filter", "--input", directory + "/good.jsonl", directory + "/cut.jsonl.\(suffix)",
                                       directory + "/flipped.jsonl.\(suffix)", "--output", output, "--lang", "en", "--unit-mb", "1",
                                       "--allow-partial", "--quiet"])
        #expect(lenient.status == 0)
    }

    @Test func badArgumentsFailBeforeAnyWork() throws {
        let directory = temporaryDirectory("badargs")
        let output = directory + "/out"
        var result = try MMedCLI.run(["corpus", "filter", "--input", directory + "/missing.jsonl", "--output", output, "--lang", "en"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("missing.jsonl") && result.standardError.contains("no such file"))
        result = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", output, "--lang", "xx"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("unknown language 'xx'"))
        result = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", output, "--lang", "en", "--keywords-preset", "mmedlm"])
        #expect(result.standardError.contains("--keywords-file"))
        result = try MMedCLI.run(["corpus", "filter", "--input", Repository.path("samples/corpus/pages"), "--output", output, "--lang-field", "lang"])
        #expect(result.status != 0 && result.standardError.contains("text files carry no language field"))
        #expect(!FileManager.default.fileExists(atPath: output), "nothing may be written before the arguments are checked")
    }

    @Test func rerunWithOtherSettingsIsRefused() throws {
        let output = temporaryDirectory("settings") + "/out"
        #expect(try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", output, "--lang", "en", "--quiet"]).status == 0)
        let again = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", output, "--lang", "en", "--min-mkc", "2"])
        #expect(again.status != 0)
        #expect(again.standardError.contains("other settings") && again.standardError.contains("filters"))
    }

    @Test func rethresholdAgreesWithARunAtTheNewThresholds() throws {
        let directory = temporaryDirectory("rethreshold")
        let first = directory + "/a", second = directory + "/b"
        #expect(try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", first, "--lang", "en", "--quiet"]).status == 0)
        #expect(try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", second, "--lang", "en", "--quiet",
                                 "--min-mkc", "3", "--min-density", "0.02"]).status == 0)
        let report = directory + "/r.json"
        let result = try MMedCLI.run(["corpus", "rethreshold", first, "--min-mkc", "3", "--min-density", "0.02", "--json", report])
        #expect(result.status == 0, "\(result.standardError)")
        let rows = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any])["languages"] as! [[String: Any]]
        let kept = ((try stats(second))["total"] as! [String: Any])["documents_kept"] as! Int
        #expect(rows.first?["kept_after"] as? Int == kept)
        #expect((rows.first?["kept_after"] as! Int) > (rows.first?["kept_before"] as! Int))
    }

    @Test func rethresholdWritesTheSameKeptSetAsARunAtTheNewThresholds() throws {
        let directory = temporaryDirectory("materialize")
        let first = directory + "/a", second = directory + "/b", rethresholded = directory + "/c"
        #expect(try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", first, "--lang", "en", "--quiet",
                                 "--write-dropped", "--unit-mb", "1"]).status == 0)
        #expect(try MMedCLI.run(["corpus", "filter", "--input", Self.corpus, "--output", second, "--lang", "en", "--quiet",
                                 "--min-mkc", "3", "--min-density", "0.02", "--unit-mb", "1"]).status == 0)
        let result = try MMedCLI.run(["corpus", "rethreshold", first, "--min-mkc", "3", "--min-density", "0.02", "--output", rethresholded])
        #expect(result.status == 0, "\(result.standardError)")
        let expected = try outputSnapshot(second).filter { $0.key.hasPrefix("kept/") }
        #expect(expected.count >= 4)
        #expect(try outputSnapshot(rethresholded) == expected, "byte-identical kept shards without rescanning")
        // Without dropped/ there is nothing to re-threshold from.
        let refused = try MMedCLI.run(["corpus", "rethreshold", second, "--min-mkc", "2", "--output", directory + "/d"])
        #expect(refused.status != 0 && refused.standardError.contains("--write-dropped"))
    }

    @Test func sampleCorpusPerDocumentLanguagesTextFilesAndGlobs() throws {
        let output = temporaryDirectory("sample") + "/out"
        var result = try MMedCLI.run(["corpus", "filter", "--input", Repository.path("samples/corpus/mixed.jsonl"),
                                      "--output", output + "-mixed", "--lang-field", "lang", "--quiet"])
        #expect(result.status == 0, "\(result.standardError)")
        let languages = (try stats(output + "-mixed"))["languages"] as! [String: [String: Any]]
        #expect(Set(languages.keys) == ["en", "zh", "ja", "fr", "ru", "es", "de", "ar"])
        #expect(languages.values.allSatisfy { ($0["documents_kept"] as! Int) > 0 && ($0["documents_dropped"] as! Int) > 0 },
                "each language of the sample has medical and general documents")

        result = try MMedCLI.run(["corpus", "filter", "--input", Repository.path("samples/corpus/pages/en-*.txt"),
                                  "--output", output + "-pages", "--lang", "en", "--quiet", "--write-dropped"])
        #expect(result.status == 0, "\(result.standardError)")
        let total = (try stats(output + "-pages"))["total"] as! [String: Any]
        #expect(total["documents_read"] as? Int == 2)
        #expect(total["documents_kept"] as? Int == 1, "the discharge summary is medical, the city news is not")

        for (file, lang) in [("web-zh.jsonl.zst", "zh"), ("web-fr.jsonl.gz", "fr"), ("web-ja.jsonl.zst", "jp")] {
            result = try MMedCLI.run(["corpus", "filter", "--input", Repository.path("samples/corpus/" + file),
                                      "--output", output + "-" + lang, "--lang", lang, "--quiet"])
            #expect(result.status == 0, "\(file): \(result.standardError)")
            #expect(((try stats(output + "-" + lang))["total"] as! [String: Any])["documents_kept"] as! Int > 0)
        }
    }
}

@Suite struct KeywordPresetCLITests {
    @Test(.enabled(if: SharedData.enabled, "needs ../shared/data/reference/mmedlm-keywords.json; runs in CI"))
    func mmedlmPresetUsesTheOriginalListsAndThresholds() throws {
        try #require(SharedData.available, "../shared/data is missing: CI must have it beside the checkout")
        let output = temporaryDirectory("preset") + "/out"
        let result = try MMedCLI.run(["corpus", "filter", "--input", Repository.path("samples/corpus/web-ja.jsonl.zst"), "--output", output,
                                      "--lang", "jp", "--keywords-preset", "mmedlm", "--keywords-file", SharedData.root + "/reference/mmedlm-keywords.json", "--quiet"])
        #expect(result.status == 0, "\(result.standardError)")
        let filter = ((try stats(output))["filters"] as! [String: [String: Any]])["ja"]!
        #expect((filter["keywords"] as! String).hasPrefix("mmedlm:ja"))
        #expect(filter["min_mkc"] as? Int == 5 && filter["min_density"] as? Double == 0.05)
        #expect(filter["keyword_count"] as? Int == 146, "the two Japanese lists, lower-cased and de-duplicated (146 by Python)")
        // The published mode keeps case variants apart and uses the whitespace path, which never matches Japanese.
        let published = try MMedCLI.run(["corpus", "filter", "--input", Repository.path("samples/corpus/web-ja.jsonl.zst"), "--output", output + "-published",
                                         "--lang", "ja", "--keywords-preset", "mmedlm", "--keywords-file", SharedData.root + "/reference/mmedlm-keywords.json",
                                         "--mode", "published", "--quiet"])
        #expect(published.status == 0)
        #expect(((try stats(output + "-published"))["total"] as! [String: Any])["documents_kept"] as? Int == 0)
        #expect(((try stats(output))["total"] as! [String: Any])["documents_kept"] as! Int > 0)
    }
}

func lastComponent(_ path: String) -> String {
    String(path.split(separator: "/").last ?? "")
}
