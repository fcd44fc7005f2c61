import Foundation
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", packageRoot.appendingPathComponent("Tests/Oracles/" + name).path] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OracleFailure(message: "\(name) \(arguments.first ?? "") failed (run scripts/setup for its pinned packages): \(message)")
        }
    }

    struct OracleFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
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
