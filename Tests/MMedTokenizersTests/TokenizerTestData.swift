import Foundation
import MMedTestSupport
import Testing

/// Where the tests find `../shared/data` and the oracle scripts. Tests that need the shared data skip with a message
/// when it is missing, except under CI=true, where its absence is a failure.
enum TokenizerTestData {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let shared: URL = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    static var available: Bool { FileManager.default.fileExists(atPath: shared.path) }

    /// The path of a file under ../shared/data/tokenizers, or nil (with a recorded issue under CI) if it is missing.
    static func tokenizerFile(_ relative: String) -> String? {
        let url = shared.appendingPathComponent("tokenizers").appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: url.path) { return url.path }
        if isCI { Issue.record("\(url.path) is missing: CI must have ../shared/data") }
        else { print("skipping: \(url.path) is missing (../shared/data is not beside the checkout)") }
        return nil
    }

    /// Runs a committed oracle script (`Tests/Oracles/<name>`) with python3; a failure carries its standard error.
    static func runOracle(_ name: String, _ arguments: [String]) throws {
        try Oracle.run(name, arguments)
    }

    /// llama.cpp's test vectors: inputs separated by `\n__ggml_vocab_test__\n`, one line of ids per input.
    static func llamaCppVectors(_ relativeStem: String) throws -> [(text: String, ids: [Int32])]? {
        guard let input = tokenizerFile(relativeStem + ".inp"), let output = tokenizerFile(relativeStem + ".out") else { return nil }
        let inputText = try String(contentsOfFile: input, encoding: .utf8)
        var texts = inputText.components(separatedBy: "\n__ggml_vocab_test__\n")
        if texts.last == "" { texts.removeLast() }
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        return texts.enumerated().map { index, text in
            (text, lines[index].split(separator: " ").map { Int32($0)! })
        }
    }
}
