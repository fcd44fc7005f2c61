import Foundation
import MMedIO
import Parquet
import MMedTestSupport
import Testing

/// Writes a Parquet file with pyarrow from JSON objects (one per line): what a CulturaX shard looks like to us.
/// Column types follow pyarrow's inference (strings here); `nullable` columns keep JSON nulls.
func writeParquet(records jsonl: String, to path: String, rowGroupSize: Int, compression: String = "snappy", version: String = "1.0") throws {
    let script = """
    import json, sys
    import pyarrow as pa, pyarrow.parquet as pq
    rows = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8') if l.strip()]
    names = list(dict.fromkeys(k for r in rows for k in r))
    table = pa.table({n: pa.array([r.get(n) for r in rows], type=pa.string()) for n in names})
    pq.write_table(table, sys.argv[2], row_group_size=int(sys.argv[3]), compression=sys.argv[4], data_page_version=sys.argv[5])
    """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, jsonl, path, String(rowGroupSize), compression, version]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CLITestError(message: "pyarrow could not write \(path) (run scripts/setup): \(message)") }
}

struct CLITestError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// All JSON rows of the zstd files in `directory` (sorted by name), in order.
func readRows(_ directory: String) throws -> [[String: Any]] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
    var rows: [[String: Any]] = []
    for name in names.sorted() where name.hasSuffix(".zst") {
        let reader = LineReader(source: try openByteSource(path: directory + "/" + name))
        while let row = try reader.next() {
            rows.append(try JSONSerialization.jsonObject(with: Data(row.bytes)) as! [String: Any])
        }
    }
    return rows
}

@Suite(.serialized) struct ParquetCLITests {
    static let corpus: (jsonl: String, parquet: String) = {
        let directory = temporaryDirectory("parquetcorpus")
        let jsonl = directory + "/corpus.jsonl", parquet = directory + "/corpus.parquet"
        try! makeCorpus(at: jsonl, records: 3000, seed: 11)
        try! writeParquet(records: jsonl, to: parquet, rowGroupSize: 400)
        return (jsonl, parquet)
    }()

    @Test func parquetInputScoresEveryDocumentAsTheJSONLInputDoes() throws {
        let directory = temporaryDirectory("parity")
        for (input, name) in [(Self.corpus.jsonl, "jsonl"), (Self.corpus.parquet, "parquet")] {
            let result = try MMedCLI.run(["corpus", "filter", "--input", input, "--output", directory + "/" + name, "--lang", "en", "--quiet"])
            #expect(result.status == 0, "\(result.standardError)")
        }
        let fromJSONL = try readRows(directory + "/jsonl/attributes"), fromParquet = try readRows(directory + "/parquet/attributes")
        #expect(fromJSONL.count == 3000 && fromParquet.count == 3000)
        for (a, b) in zip(fromJSONL, fromParquet) {
            for key in ["id", "mkc", "keyword_chars", "length", "density", "decision"] {
                #expect("\(a[key]!)" == "\(b[key]!)", "\(key) differs for \(a["id"]!)")
            }
        }
        // Parquet rows are located by row index; the same documents are kept, with every column.
        #expect(fromParquet.map { $0["offset"] as! Int } == Array(0..<3000))
        let keptJSONL = try readRows(directory + "/jsonl/kept"), keptParquet = try readRows(directory + "/parquet/kept")
        #expect(keptJSONL.count > 100 && keptJSONL.count == keptParquet.count)
        for (a, b) in zip(keptJSONL, keptParquet) {
            #expect(a["text"] as! String == b["text"] as! String)
            #expect(a["id"] as! String == b["id"] as! String && a["url"] as! String == b["url"] as! String)
        }
        let stats = try stats(directory + "/parquet")
        let total = stats["total"] as! [String: Any]
        #expect(total["documents_read"] as? Int == 3000)
        #expect((total["documents_kept"] as! Int) + (total["documents_dropped"] as! Int) == 3000)
    }

    @Test func outputDoesNotDependOnWorkersAndARunResumes() throws {
        let directory = temporaryDirectory("parquetworkers")
        var snapshots: [[String: Data]] = []
        for workers in [1, 2] {
            let output = directory + "/out-\(workers)"
            let result = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus.parquet, "--output", output, "--lang", "en",
                                          "--workers", String(workers), "--quiet"])
            #expect(result.status == 0, "\(result.standardError)")
            let units = try FileManager.default.contentsOfDirectory(atPath: output + "/units")
            #expect(units.count == 8, "one unit per row group: \(units.sorted())")
            snapshots.append(try outputSnapshot(output))
        }
        #expect(snapshots[0] == snapshots[1])

        // A run that stopped after writing a unit's outputs but before its marker redoes just that unit.
        let output = directory + "/out-1"
        for path in ["units/000000-000003.json", "items/000000.json", "stats.json"] { try FileManager.default.removeItem(atPath: output + "/" + path) }
        let result = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus.parquet, "--output", output, "--lang", "en", "--workers", "2"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("1 units processed, 7 already done"), "\(result.standardError)")
        #expect(try outputSnapshot(output) == snapshots[0])
    }

    @Test func rowGroupsSplitAcrossShards() throws {
        let directory = temporaryDirectory("parquetshards")
        var kept = 0
        for shard in 0..<3 {
            let result = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus.parquet, "--output", directory + "/out", "--lang", "en",
                                          "--shard", "\(shard)/3", "--quiet"])
            #expect(result.status == 0, "\(result.standardError)")
            kept = (try stats(directory + "/out")["total"] as! [String: Any])["documents_read"] as! Int
        }
        #expect(kept == 3000, "the three shards together read every row once")
        let reference = temporaryDirectory("parquetshardsref")
        _ = try MMedCLI.run(["corpus", "filter", "--input", Self.corpus.parquet, "--output", reference, "--lang", "en", "--quiet"])
        #expect(try outputSnapshot(directory + "/out") == (try outputSnapshot(reference)))
    }

    @Test func corruptParquetFilesAreQuarantinedWholeAndTheRestFinishes() throws {
        let directory = temporaryDirectory("parquetquarantine")
        let good = directory + "/a-good.parquet", truncated = directory + "/b-truncated.parquet", badPage = directory + "/c-badpage.parquet"
        try FileManager.default.copyItem(atPath: Self.corpus.parquet, toPath: good)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.corpus.parquet)))
        try Data(bytes.prefix(bytes.count - 100)).write(to: URL(fileURLWithPath: truncated))
        // Damage the text column's first data page in row group 5: rows of the earlier row groups are scored
        // by then, and must be taken back out.
        let file = try ParquetFile(path: Self.corpus.parquet)
        let text = try #require(file.schema.column(named: "text"))
        let page = try #require(try file.columnReader(rowGroup: 5, column: text).pageCensus().first { $0.type == .dataPage })
        for i in 0..<64 { bytes[Int(page.offset) + page.headerSize + i] = 0xEE }
        try Data(bytes).write(to: URL(fileURLWithPath: badPage))

        let output = directory + "/out"
        var result = try MMedCLI.run(["corpus", "filter", "--input", directory, "--output", output, "--lang", "en", "--workers", "2"])
        #expect(result.status == 3, "\(result.standardError)")
        #expect(result.standardError.contains("b-truncated.parquet: not a Parquet file, or truncated"), "\(result.standardError)")
        #expect(result.standardError.contains("c-badpage.parquet, row group 5, column \"text\", page"), "\(result.standardError)")
        let summary = try stats(output)
        let total = summary["total"] as! [String: Any]
        #expect(total["documents_read"] as? Int == 3000, "only the good file counts")
        #expect((summary["quarantined"] as! [[String: Any]]).count == 2)
        let kept = try FileManager.default.contentsOfDirectory(atPath: output + "/kept")
        #expect(kept.allSatisfy { $0.hasPrefix("000000-") }, "nothing of the quarantined files is left: \(kept)")
        result = try MMedCLI.run(["corpus", "filter", "--input", directory, "--output", output, "--lang", "en", "--allow-partial", "--quiet"])
        #expect(result.status == 0, "\(result.standardError)")
    }

    @Test func nullTextLanguageColumnAndMissingColumnsAreAccountedFor() throws {
        let directory = temporaryDirectory("parquetnulls")
        let jsonl = directory + "/rows.jsonl"
        try """
        {"text": "The patient was admitted to hospital with pneumonia; the physician prescribed antibiotics and the infection cleared after treatment.", "lang": "en", "url": "u1"}
        {"text": null, "lang": "en", "url": "u2"}
        {"text": "Le patient a été hospitalisé pour une pneumonie.", "lang": "fr", "url": "u3"}
        {"text": "Some text", "lang": "xx", "url": "u4"}
        {"text": "More text without a language", "lang": null, "url": "u5"}
        {"text": "", "lang": "en", "url": null}

        """.write(toFile: jsonl, atomically: true, encoding: .utf8)
        let parquet = directory + "/rows.parquet"
        try writeParquet(records: jsonl, to: parquet, rowGroupSize: 4, compression: "zstd", version: "2.0")
        let output = directory + "/out"
        var result = try MMedCLI.run(["corpus", "filter", "--input", parquet, "--output", output, "--lang-field", "lang",
                                      "--id-field", "url", "--quiet"])
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try stats(output)
        let total = summary["total"] as! [String: Any]
        #expect(total["documents_read"] as? Int == 6)
        #expect(total["documents_rejected"] as? Int == 3)
        #expect((total["documents_kept"] as! Int) + (total["documents_dropped"] as! Int) + 3 == 6)
        #expect((total["bytes_kept"] as! Int) + (total["bytes_dropped"] as! Int) + (total["bytes_rejected"] as! Int) == total["bytes_read"] as! Int)
        let rejected = try String(contentsOfFile: output + "/rejected.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(rejected.map { $0["offset"] as! Int } == [1, 3, 4])
        #expect((rejected[0]["reason"] as! String) == "column \"text\" is null")
        #expect((rejected[1]["reason"] as! String).contains("unsupported language \"xx\""))
        #expect((rejected[2]["reason"] as! String) == "missing field \"lang\"")
        #expect((rejected[0]["record"] as! String).contains("\"url\":\"u2\""))
        let attributes = try readRows(output + "/attributes")
        #expect(attributes.map { "\($0["id"]!)" } == ["u1", "u3", "<null>"].map { $0 == "<null>" ? "<null>" : $0 })

        // A text column that is not there quarantines the file, naming the columns it has.
        result = try MMedCLI.run(["corpus", "filter", "--input", parquet, "--output", directory + "/out2", "--lang", "en", "--text-field", "body"])
        #expect(result.status == 3)
        #expect(result.standardError.contains("has no column \"body\" (columns: text, lang, url)"), "\(result.standardError)")
    }

    @Test func catAndInspect() throws {
        let directory = temporaryDirectory("parquetcat")
        var result = try MMedCLI.run(["parquet", "cat", Self.corpus.parquet, "--columns", "url,id", "--limit", "5"])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines[0] == "{\"url\":\"https://example.org/0\",\"id\":\"doc-0\"}")
        // Every row, every column, as the JSONL it came from.
        result = try MMedCLI.run(["parquet", "cat", Self.corpus.parquet])
        let original = try String(contentsOfFile: Self.corpus.jsonl, encoding: .utf8).split(separator: "\n")
        let catted = result.standardOutput.split(separator: "\n")
        #expect(catted.count == 3000)
        for (a, b) in zip(original, catted) {
            let x = try JSONSerialization.jsonObject(with: Data(a.utf8)) as! [String: String]
            let y = try JSONSerialization.jsonObject(with: Data(b.utf8)) as! [String: String]
            #expect(x == y)
        }
        result = try MMedCLI.run(["parquet", "inspect", "--json", Self.corpus.parquet])
        #expect(result.status == 0)
        let report = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
        #expect(report["num_rows"] as? Int == 3000 && report["num_row_groups"] as? Int == 8)
        result = try MMedCLI.run(["parquet", "cat", Self.corpus.parquet, "--columns", "nope"])
        #expect(result.status == 1 && result.standardError.contains("has no column \"nope\""))
        // Row groups decoded on several threads add up to the same counts.
        var counts: [String] = []
        for threads in ["1", "3"] {
            result = try MMedCLI.run(["parquet", "verify", "--json", "--threads", threads, Self.corpus.parquet])
            #expect(result.status == 0, "\(result.standardError)")
            var report = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
            #expect(report["values"] as? Int == 9000 && report["rows"] as? Int == 3000)
            for key in ["seconds", "cpu_seconds", "threads"] { report.removeValue(forKey: key) }
            counts.append(String(decoding: try JSONSerialization.data(withJSONObject: report, options: .sortedKeys), as: UTF8.self))
        }
        #expect(counts[0] == counts[1])
        result = try MMedCLI.run(["parquet", "verify", Self.corpus.parquet, directory + "/missing.parquet"])
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("corpus.parquet: ok, 3000 rows"))
        #expect(result.standardError.contains("missing.parquet: cannot open"))
    }
}
