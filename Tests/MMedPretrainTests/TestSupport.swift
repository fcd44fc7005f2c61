import Foundation
import MMedCorpus
import MMedIO
import MMedPretrain
import MMedTokenizers
import Synchronization
import MMedTestSupport
import Testing

func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// A byte-level tokenizer for tests of everything but tokenization: BOS 1, EOS 2, each UTF-8 byte b as b + 3; no pad.
/// With `poisoned`, a text containing "POISON" yields an id outside the vocabulary (the job must stop on it).
final class ByteTokenizer: Tokenizer {
    let poisoned = Atomic<Bool>(false)
    var vocabularySize: Int { 259 }
    var specialTokens: SpecialTokenIDs { SpecialTokenIDs(bos: 1, eos: 2) }

    func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        if poisoned.load(ordering: .relaxed) && text.contains("POISON") { return [1, 9999] }
        return (addSpecialTokens ? [1] : []) + text.utf8.map { Int32($0) + 3 }
    }
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws -> String {
        String(decoding: ids.filter { $0 >= 3 }.map { UInt8($0 - 3) }, as: UTF8.self)
    }
    func tokenString(for id: Int32) -> String? { nil }
    func id(forToken token: String) -> Int32? { nil }
}

/// What the byte tokenizer gives for a document: BOS, bytes + 3, EOS.
func byteIDs(_ text: String) -> [Int32] { [1] + text.utf8.map { Int32($0) + 3 } + [2] }

/// The original's loop, written again for the tests (independently of `sequenceSpans`): windows and their padding.
func originalWindows(_ ids: [Int32], window: Int, overlap: Int, pad: Int32) -> [(ids: [Int32], padding: Int)] {
    if ids.count < window { return [(ids + Array(repeating: pad, count: window - ids.count), window - ids.count)] }
    var windows: [(ids: [Int32], padding: Int)] = []
    for i in stride(from: 0, to: ids.count, by: window - overlap) {
        if i + window < ids.count {
            windows.append((Array(ids[i..<(i + window)]), 0))
        } else {
            windows.append((Array(ids[(ids.count - window)...]), 0))
            break
        }
    }
    return windows
}

/// A configured job over `paths` with the byte tokenizer.
func makeJob(_ paths: [String], output: String, tokenizer: ByteTokenizer = ByteTokenizer(), mode: SequenceMode = .window,
             window: Int = 64, overlap: Int = 16, lossMask: LossMaskMode = .excludePadding, format: PretrainOutputFormat = .megatron,
             workers: Int = 2, unitBytes: Int = 16 << 20, shardBytes: Int64 = 1 << 30) throws -> PretrainJob {
    let inputs = try expandInputs(paths, excluding: [output]).files
    let (pad, source) = resolvePadID(explicit: nil, specialTokens: tokenizer.specialTokens)!
    var configuration = PretrainConfiguration(
        inputs: inputs, outputDirectory: output,
        tokenizer: PretrainTokenizer(tokenizer: tokenizer, file: "byte-tokenizer", sha256: "test"),
        sequences: SequenceSettings(mode: mode, windowSize: window, overlap: overlap, padID: pad, lossMask: lossMask),
        padIDSource: source)
    configuration.format = format
    configuration.workers = workers
    configuration.unitBytes = unitBytes
    configuration.shardBytes = shardBytes
    configuration.commandLine = ["test"]
    return try PretrainJob(configuration: configuration)
}

/// Runs `Tests/Oracles/pretrain_oracle.py` and returns its JSON output.
func runOracle(_ arguments: [String]) throws -> [String: Any] {
    let out = temporaryDirectory("oracle") + "/out.json"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", Repository.path("Tests/Oracles/pretrain_oracle.py")] + arguments + ["--out", out]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw OracleError(message: "pretrain_oracle.py \(arguments.first ?? "") failed (\(process.terminationStatus)): \(errorText)")
    }
    return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
}

struct OracleError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// One Megatron dataset as the oracle's independent reader sees it.
struct MegatronDump {
    var dtype: String
    var dtypeCode: Int
    var documentIndices: [Int]
    var sequences: [[Int]]

    init(_ object: Any) {
        let dictionary = object as! [String: Any]
        dtype = dictionary["dtype"] as! String
        dtypeCode = dictionary["dtype_code"] as! Int
        documentIndices = dictionary["document_indices"] as! [Int]
        sequences = dictionary["sequences"] as! [[Int]]
    }
}

/// Reads every shard of a Megatron output through the oracle: tokens and loss masks, shard by shard.
func readMegatronOutput(_ output: String) throws -> (tokens: [MegatronDump], masks: [MegatronDump]) {
    let description = try datasetJSON(output)
    let shards = description["shards"] as! [[String: Any]]
    guard !shards.isEmpty else { return ([], []) }
    let tokenPrefixes = shards.map { output + "/" + ($0["prefix"] as! String) }
    let maskPrefixes = shards.map { output + "/" + ($0["loss_mask_prefix"] as! String) }
    let dump = try runOracle(["read-megatron"] + tokenPrefixes + maskPrefixes)
    return (tokenPrefixes.map { MegatronDump(dump[$0]!) }, maskPrefixes.map { MegatronDump(dump[$0]!) })
}

func datasetJSON(_ output: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/dataset.json"))) as! [String: Any]
}

/// Every output file (relative path → bytes) but the unit markers (they hold timings), with dataset.json's command
/// line and timings removed: what must not depend on the number of workers or on interruptions.
func outputSnapshot(_ directory: String) throws -> [String: Data] {
    var snapshot: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: directory)!
    while let relative = enumerator.nextObject() as? String {
        let path = directory + "/" + relative
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue || relative.hasPrefix("units/") { continue }
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        if relative == "dataset.json" {
            var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            object.removeValue(forKey: "timings")
            object.removeValue(forKey: "command_line")
            data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        }
        snapshot[relative] = data
    }
    return snapshot
}

/// Deterministic text of `count` words from a small vocabulary (several scripts, so that UTF-8 lengths vary).
func generatedText(words count: Int, seed: UInt64) -> String {
    let vocabulary = ["patient", "fever", "the", "diabetes", "insulin", "and", "der", "Patient", "hôpital", "лечение", "糖尿病",
                      "患者", "of", "treatment", "blood", "pressure", "é", "x"]
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    var words: [String] = []
    words.reserveCapacity(count)
    for _ in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        words.append(vocabulary[Int(state >> 33) % vocabulary.count])
    }
    return words.joined(separator: " ")
}

/// A JSON line `{"id": ..., "text": ..., "lang": ...}`.
func jsonLine(_ text: String, id: Int, lang: String? = nil) -> String {
    var object: [String: Any] = ["id": id, "text": text]
    if let lang { object["lang"] = lang }
    return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
}
