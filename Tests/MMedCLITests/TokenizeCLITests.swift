import Foundation
import MMedTestSupport
import Testing

/// `mmed tokenize encode|decode|count` on the real Llama 3 and BERT tokenizers, against llama.cpp's vectors.
@Suite struct TokenizeCLITests {
    static let shared = Repository.root + "/../shared/data/tokenizers"

    func available(_ relative: String) -> String? {
        let path = Self.shared + "/" + relative
        if FileManager.default.fileExists(atPath: path) { return path }
        if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("\(path) is missing: CI must have ../shared/data") }
        return nil
    }

    @Test func encodeDecodeAndCountAgree() throws {
        guard let llama3 = available("llama3/tiktoken/tokenizer.model") else { return }
        // llama.cpp's vector for " Hello World" is 22691 4435; with BOS 128000 first.
        let encoded = try MMedCLI.run(["tokenize", "encode", "--tokenizer", llama3, "--text", " Hello World"])
        #expect(encoded.status == 0)
        #expect(encoded.standardOutput == "128000 22691 4435\n")
        let decoded = try MMedCLI.run(["tokenize", "decode", "--tokenizer", llama3, "--skip-special", "128000 22691 4435"])
        #expect(decoded.standardOutput == " Hello World\n")

        let directory = temporaryDirectory()
        let input = directory + "/docs.jsonl"
        try "{\"text\": \" Hello World\"}\n{\"text\": \"\\ufeffhello\"}\n".write(toFile: input, atomically: true, encoding: .utf8)
        let perDocument = try MMedCLI.run(["tokenize", "encode", "--tokenizer", llama3, "--no-special", input])
        #expect(perDocument.standardOutput == "{\"ids\": [22691, 4435]}\n{\"ids\": [3305, 15339]}\n")
        let count = try MMedCLI.run(["tokenize", "count", "--tokenizer", llama3, "--json", "--threads", "2", input])
        let report = try JSONSerialization.jsonObject(with: Data(count.standardOutput.utf8)) as! [String: Any]
        #expect(report["documents"] as? Int == 2)
        #expect(report["tokens"] as? Int == 6)  // two BOS and four ids
        #expect(report["bytes"] as? Int == 20)
    }

    @Test func badInputsAreClearErrors() throws {
        guard let bert = available("bert-wordpiece/all-MiniLM-L6-v2/tokenizer.json") else { return }
        let unknown = try MMedCLI.run(["tokenize", "decode", "--tokenizer", bert, "999999"])
        #expect(unknown.status != 0)
        #expect(unknown.standardError.contains("999999"))
        let directory = temporaryDirectory()
        let broken = directory + "/tokenizer.json"
        try "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}, \"added_tokens\": []}".write(toFile: broken, atomically: true, encoding: .utf8)
        let unsupported = try MMedCLI.run(["tokenize", "encode", "--tokenizer", broken, "--text", "x"])
        #expect(unsupported.status != 0)
        #expect(unsupported.standardError.contains("Unigram"))
        #expect(unsupported.standardError.contains(broken))
    }
}
