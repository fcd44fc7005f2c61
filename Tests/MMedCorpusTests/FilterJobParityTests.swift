import Foundation
import MMedCorpus
import MMedIO
import MMedText
import Testing

/// The whole job (JSONL reading, JSON unescaping, units, workers, attribute rows) against the oracle's goldens:
/// each golden's documents are written as JSONL, half with every non-ASCII character as a \u escape (as Python's
/// json.dumps does by default, astral characters as surrogate pairs), half as raw UTF-8.
@Suite struct FilterJobParityTests {
    static let goldens = ParityGolden.all.filter {
        let name = $0.testDescription
        return name.contains("blocks") || name.contains("articles") || name.contains("inline")
    }

    @Test(.enabled(if: SharedData.enabled, "needs ../shared/data (real text); runs in CI"), arguments: goldens)
    func jobAttributesAgreeWithTheOracle(golden: ParityGolden) throws {
        let parity = try ParityCase(golden)
        let (language, documents, rows) = (parity.language, parity.documents, parity.rows)
        let directory = NSTemporaryDirectory() + "mmed-jobparity-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var jsonl = ""
        for (index, text) in documents.enumerated() {
            jsonl += "{\"id\": \(index), \"text\": \(pythonJSONString(text, asciiOnly: index % 2 == 0)), \"meta\": {\"n\": [1, 2]}}\n"
        }
        try jsonl.write(toFile: directory + "/docs.jsonl", atomically: true, encoding: .utf8)

        var configuration = FilterJobConfiguration(
            inputs: try expandInputs([directory + "/docs.jsonl"]).files, outputDirectory: directory + "/out", language: language,
            languageField: nil, filters: [language: parity.filter])
        configuration.workers = 2
        configuration.unitBytes = 1 << 16
        let summary = try CorpusFilterJob(configuration: configuration).run()
        #expect(summary.total.documentsRead == documents.count)
        #expect(summary.total.documentsRejected == 0)

        var attributes: [[String: Any]] = []
        let names = try FileManager.default.contentsOfDirectory(atPath: directory + "/out/attributes").sorted()
        for name in names {
            let bytes = try readAll(openByteSource(path: directory + "/out/attributes/" + name))
            for line in bytes.split(separator: 0x0A) {
                attributes.append(try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any])
            }
        }
        try #require(attributes.count == rows.count)
        var disagreements: [String] = []
        for (index, row) in attributes.enumerated() {
            let ours = [(row["id"] as! NSNumber).intValue, (row["mkc"] as! NSNumber).intValue, (row["keyword_chars"] as! NSNumber).intValue,
                        (row["length"] as! NSNumber).intValue, row["decision"] as! String == "keep" ? 1 : 0]
            let oracle = [index] + parity.expected(index)
            if ours != oracle { disagreements.append("doc \(index): ours \(ours), oracle \(oracle)") }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) documents differ: \(disagreements.prefix(5))")
    }
}
