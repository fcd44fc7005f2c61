import CMMedKernels
import COpenBLAS
import Foundation
import MMedIO
import MMedTokenizers

/// A Llama-family decoder (Llama 1/2/3.x, Mistral, Qwen2, InternLM2) over memory-mapped weights:
/// `forward(tokens, cache)` appends the tokens to the cache and returns logits.
public final class LanguageModel: @unchecked Sendable {
    // @unchecked: immutable after load; per-call state lives in the cache and local buffers.
    public let config: ModelConfig
    public let generationDefaults: GenerationDefaults
    public let tokenizer: (any Tokenizer)?
    /// Where it was loaded from, for results files.
    public let path: String
    /// How activations and the KV cache are rounded (see `Numerics`).
    nonisolated(unsafe) public var numerics: Numerics = .exact
    let source: any TensorSource
    let embedding: TensorView
    let layers: [Layer]
    let finalNorm: [Float]
    let output: Linear
    /// Weights converted at load (`WeightQuantization.q8_0`).
    let owned = OwnedWeights()

    struct Layer {
        var attentionNorm: [Float]
        var q: Linear?, k: Linear?, v: Linear?
        /// InternLM2's packed projection: per KV group, its query heads, then its key head, then its value head.
        var qkv: Linear?
        var o: Linear
        var feedForwardNorm: [Float]
        var gate: Linear, up: Linear, down: Linear
    }

    /// Tensor names of a checkpoint layout.
    struct Naming: Sendable {
        var embedding: String
        var finalNorm: String
        var output: String
        var layer: @Sendable (Int, String) -> String
        var separateQKV: Bool

        static let huggingFace = Naming(
            embedding: "model.embed_tokens.weight", finalNorm: "model.norm.weight", output: "lm_head.weight",
            layer: { i, part in
                let map = ["attn_norm": "input_layernorm", "q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj",
                           "o": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm", "gate": "mlp.gate_proj",
                           "up": "mlp.up_proj", "down": "mlp.down_proj"]
                return "model.layers.\(i).\(map[part]!)"
            }, separateQKV: true)
        static let internLM2 = Naming(
            embedding: "model.tok_embeddings.weight", finalNorm: "model.norm.weight", output: "output.weight",
            layer: { i, part in
                let map = ["attn_norm": "attention_norm", "qkv": "attention.wqkv", "o": "attention.wo", "ffn_norm": "ffn_norm",
                           "gate": "feed_forward.w1", "up": "feed_forward.w3", "down": "feed_forward.w2"]
                return "model.layers.\(i).\(map[part]!)"
            }, separateQKV: false)
        static let gguf = Naming(
            embedding: "token_embd.weight", finalNorm: "output_norm.weight", output: "output.weight",
            layer: { i, part in
                let map = ["attn_norm": "attn_norm", "q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output",
                           "ffn_norm": "ffn_norm", "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"]
                return "blk.\(i).\(map[part]!)"
            }, separateQKV: true)
    }

    init(config: ModelConfig, source: any TensorSource, naming: Naming, generationDefaults: GenerationDefaults,
         tokenizer: (any Tokenizer)?, path: String, quantization: WeightQuantization = .none) throws {
        self.config = config
        self.source = source
        self.generationDefaults = generationDefaults
        self.tokenizer = tokenizer
        self.path = path
        let c = config
        func tensor(_ name: String, _ shape: [Int]) throws -> TensorView {
            guard let view = source.tensor(name) else { throw ModelError.tensor(name, "missing from \(path)") }
            let actual = view.shape.count == 1 ? [view.shape[0]] : [view.rows, view.columns]
            guard actual == shape else { throw ModelError.tensor(name, "shape \(view.shape), expected \(shape)") }
            if view.type.block.weights > 1, view.columns % view.type.block.weights != 0 {
                throw ModelError.tensor(name, "\(view.columns) columns are not whole \(view.type) blocks")
            }
            return view
        }
        func vector(_ name: String, _ count: Int) throws -> [Float] {
            let view = try tensor(name, [count])
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBufferPointer { dequantize(TensorView(name: name, type: view.type, shape: [1, count], data: view.data, byteCount: view.byteCount), row: 0, into: $0.baseAddress!) }
            return values
        }
        let owner = owned
        func stored(_ view: TensorView) -> TensorView {
            guard quantization == .q8_0, [.f32, .f16, .bf16].contains(view.type), view.columns % 32 == 0 else { return view }
            return quantizeQ8_0(view, owner: owner)
        }
        func linear(_ base: String, _ rows: Int, _ columns: Int, bias: Bool) throws -> Linear {
            let weight = stored(try tensor(base + ".weight", [rows, columns]))
            return Linear(weight: weight, bias: bias ? try vector(base + ".bias", rows) : nil)
        }
        let q = c.headCount * c.headDim, kv = c.kvHeadCount * c.headDim
        embedding = try tensor(naming.embedding, [c.vocabularySize, c.hiddenSize])
        var layers: [Layer] = []
        for i in 0..<c.layerCount {
            let name = { (part: String) in naming.layer(i, part) }
            layers.append(Layer(
                attentionNorm: try vector(name("attn_norm") + ".weight", c.hiddenSize),
                q: naming.separateQKV ? try linear(name("q"), q, c.hiddenSize, bias: c.attentionBias) : nil,
                k: naming.separateQKV ? try linear(name("k"), kv, c.hiddenSize, bias: c.attentionBias) : nil,
                v: naming.separateQKV ? try linear(name("v"), kv, c.hiddenSize, bias: c.attentionBias) : nil,
                qkv: naming.separateQKV ? nil : try linear(name("qkv"), q + 2 * kv, c.hiddenSize, bias: c.attentionBias),
                o: try linear(name("o"), c.hiddenSize, q, bias: false),
                feedForwardNorm: try vector(name("ffn_norm") + ".weight", c.hiddenSize),
                gate: try linear(name("gate"), c.intermediateSize, c.hiddenSize, bias: false),
                up: try linear(name("up"), c.intermediateSize, c.hiddenSize, bias: false),
                down: try linear(name("down"), c.hiddenSize, c.intermediateSize, bias: false)))
        }
        self.layers = layers
        finalNorm = try vector(naming.finalNorm, c.hiddenSize)
        if !c.tiedEmbeddings, source.tensor(naming.output) != nil {
            output = Linear(weight: stored(try tensor(naming.output, [c.vocabularySize, c.hiddenSize])), bias: nil)
        } else {
            output = Linear(weight: stored(embedding), bias: nil)
        }
    }

    /// A cache for up to `capacity` positions (default: the model's context, at most 4,096). More than the trained
    /// context is allowed: rotary scaling (dynamic NTK, Llama 3) exists for it.
    public func makeCache(capacity: Int? = nil) throws -> KVCache {
        let size = max(1, capacity ?? min(config.maxPositions, 4096))
        let bytes = KVCache.bytes(config: config, capacity: size)
        let available = Int(ProcessInfo.processInfo.physicalMemory)
        guard bytes < available / 2 else {
            throw ModelError.memory("a KV cache of \(size) positions needs \(bytes >> 20) MiB; this machine has \(available >> 20) MiB: use a shorter context")
        }
        return KVCache(config: config, capacity: size)
    }

    public enum Logits { case last, all }

    /// Runs `tokens` at the cache's next positions, appends their keys and values, and returns the logits of the
    /// last token ([vocab]) or of every token ([count × vocab]).
    public func forward(_ tokens: [Int], cache: KVCache, logits: Logits = .last) throws -> [Float] {
        let c = config
        let n = tokens.count
        guard n > 0 else { return [] }
        let start = cache.count
        guard start + n <= cache.capacity else {
            throw ModelError.memory("the context is full: \(start) + \(n) tokens > \(cache.capacity) positions")
        }
        for token in tokens where token < 0 || token >= c.vocabularySize {
            throw ModelError.unsupported("token id \(token) is outside the vocabulary (\(c.vocabularySize))")
        }
        let hidden = c.hiddenSize, qSize = c.headCount * c.headDim, kvSize = c.kvHeadCount * c.headDim
        var x = [Float](repeating: 0, count: n * hidden)
        var normed = [Float](repeating: 0, count: n * hidden)
        var q = [Float](repeating: 0, count: n * qSize)
        var k = [Float](repeating: 0, count: n * kvSize)
        var v = [Float](repeating: 0, count: n * kvSize)
        var packed = [Float](repeating: 0, count: layers.first?.qkv != nil ? n * (qSize + 2 * kvSize) : 0)
        var attended = [Float](repeating: 0, count: n * qSize)
        var gate = [Float](repeating: 0, count: n * c.intermediateSize)
        var up = [Float](repeating: 0, count: n * c.intermediateSize)
        var projected = [Float](repeating: 0, count: n * hidden)
        var scratch: [Float] = []

        x.withUnsafeMutableBufferPointer { buffer in
            for (i, token) in tokens.enumerated() { dequantize(embedding, row: token, into: buffer.baseAddress! + i * hidden) }
        }
        // Rotary angles for the new positions (dynamic NTK: from the length after this call, as transformers does).
        let half = c.headDim / 2
        var cosines = [Float](repeating: 0, count: n * half), sines = [Float](repeating: 0, count: n * half)
        if numerics == .llamaCpp {
            // ggml's table: θ = position, times powf(base, −2/d) once per pair, divided by the frequency factors.
            let step = powf(Float(c.ropeTheta), -2 / Float(c.headDim))
            for i in 0..<n {
                var theta = c.rotaryPosition(start + i)
                for j in 0..<half {
                    let angle = theta / (c.ropeFrequencyFactors?[j] ?? 1)
                    cosines[i * half + j] = cos(angle)
                    sines[i * half + j] = sin(angle)
                    theta *= step
                }
            }
        } else {
            let frequencies = c.inverseFrequencies(sequenceLength: start + n)
            for i in 0..<n {
                let position = c.rotaryPosition(start + i)
                for j in 0..<half {
                    let angle = position * frequencies[j]
                    cosines[i * half + j] = cos(angle)
                    sines[i * half + j] = sin(angle)
                }
            }
        }

        for (index, layer) in layers.enumerated() {
            for i in 0..<n {
                x.withUnsafeBufferPointer { xs in normed.withUnsafeMutableBufferPointer { ys in
                    rmsNorm(xs.baseAddress! + i * hidden, layer.attentionNorm, c.rmsNormEpsilon, hidden, into: ys.baseAddress! + i * hidden)
                } }
            }
            normed.withUnsafeBufferPointer { input in
                let xp = input.baseAddress!
                if let qkv = layer.qkv {
                    packed.withUnsafeMutableBufferPointer { qkv.apply(xp, batch: n, into: $0.baseAddress!, scratch: &scratch, numerics: numerics) }
                    unpackInternLM2(packed, n: n, q: &q, k: &k, v: &v)
                } else {
                    q.withUnsafeMutableBufferPointer { layer.q!.apply(xp, batch: n, into: $0.baseAddress!, scratch: &scratch, numerics: numerics) }
                    k.withUnsafeMutableBufferPointer { layer.k!.apply(xp, batch: n, into: $0.baseAddress!, scratch: &scratch, numerics: numerics) }
                    v.withUnsafeMutableBufferPointer { layer.v!.apply(xp, batch: n, into: $0.baseAddress!, scratch: &scratch, numerics: numerics) }
                }
            }
            let fusedRotation = numerics == .llamaCpp
            q.withUnsafeMutableBufferPointer { qs in k.withUnsafeMutableBufferPointer { ks in
                cosines.withUnsafeBufferPointer { cs in sines.withUnsafeBufferPointer { ss in
                    for i in 0..<n {
                        let cp = cs.baseAddress! + i * half, sp = ss.baseAddress! + i * half
                        for h in 0..<c.headCount { rotate(qs.baseAddress! + i * qSize + h * c.headDim, cos: cp, sin: sp, headDim: c.headDim, pairing: c.rotaryPairing, fused: fusedRotation) }
                        for h in 0..<c.kvHeadCount { rotate(ks.baseAddress! + i * kvSize + h * c.headDim, cos: cp, sin: sp, headDim: c.headDim, pairing: c.rotaryPairing, fused: fusedRotation) }
                    }
                } }
            } }
            // Append keys and values to the cache (rounded to F16 as llama.cpp's cache holds them, in that mode).
            let halfCache = numerics == .llamaCpp
            for i in 0..<n {
                for h in 0..<c.kvHeadCount {
                    let offset = cache.offset(layer: index, head: h, position: start + i)
                    for d in 0..<c.headDim {
                        let key = k[i * kvSize + h * c.headDim + d], value = v[i * kvSize + h * c.headDim + d]
                        cache.keys[offset + d] = halfCache ? Float(Float16(key)) : key
                        cache.values[offset + d] = halfCache ? Float(Float16(value)) : value
                    }
                }
            }
            if halfCache { for i in q.indices { q[i] = Float(Float16(q[i])) } }
            attention(layer: index, n: n, start: start, q: q, cache: cache, into: &attended)
            attended.withUnsafeBufferPointer { input in
                projected.withUnsafeMutableBufferPointer { layer.o.apply(input.baseAddress!, batch: n, into: $0.baseAddress!, scratch: &scratch, numerics: numerics) }
            }
            for i in 0..<(n * hidden) { x[i] += projected[i] }

            for i in 0..<n {
                x.withUnsafeBufferPointer { xs in normed.withUnsafeMutableBufferPointer { ys in
                    rmsNorm(xs.baseAddress! + i * hidden, layer.feedForwardNorm, c.rmsNormEpsilon, hidden, into: ys.baseAddress! + i * hidden)
                } }
            }
            normed.withUnsafeBufferPointer { input in
                gate.withUnsafeMutableBufferPointer { layer.gate.apply(input.baseAddress!, batch: n, into: $0.baseAddress!, scratch: &scratch, numerics: numerics) }
                up.withUnsafeMutableBufferPointer { layer.up.apply(input.baseAddress!, batch: n, into: $0.baseAddress!, scratch: &scratch, numerics: numerics) }
            }
            gate.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { u in
                if numerics == .llamaCpp { mmed_ggml_swiglu(g.baseAddress!, u.baseAddress!, n * c.intermediateSize) } else {
                    swiGLU(g.baseAddress!, u.baseAddress!, n * c.intermediateSize)
                }
            } }
            gate.withUnsafeBufferPointer { input in
                projected.withUnsafeMutableBufferPointer { layer.down.apply(input.baseAddress!, batch: n, into: $0.baseAddress!, scratch: &scratch, numerics: numerics) }
            }
            for i in 0..<(n * hidden) { x[i] += projected[i] }
        }
        cache.count = start + n

        let rows = logits == .all ? n : 1
        let first = n - rows
        var finalStates = [Float](repeating: 0, count: rows * hidden)
        for r in 0..<rows {
            x.withUnsafeBufferPointer { xs in finalStates.withUnsafeMutableBufferPointer { ys in
                rmsNorm(xs.baseAddress! + (first + r) * hidden, finalNorm, c.rmsNormEpsilon, hidden, into: ys.baseAddress! + r * hidden)
            } }
        }
        var result = [Float](repeating: 0, count: rows * c.vocabularySize)
        finalStates.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { output.apply(input.baseAddress!, batch: rows, into: $0.baseAddress!, scratch: &scratch, numerics: numerics) }
        }
        return result
    }

    /// Attention for a prompt: per head, S = Q·Kᵀ and O = softmax(S)·V as BLAS products (the causal mask applied
    /// between them), heads one after another with BLAS on all threads.
    func batchedAttention(layer: Int, n: Int, start: Int, q: [Float], cache: KVCache, into output: inout [Float]) {
        let c = config
        let (d, groupSize, scale, qSize) = (c.headDim, c.queryGroupSize, c.attentionScale, c.queryWidth)
        let total = start + n
        var queries = [Float](repeating: 0, count: n * d)
        var scores = [Float](repeating: 0, count: n * total)
        var heads = [Float](repeating: 0, count: n * d)
        for h in 0..<c.headCount {
            let g = h / groupSize
            for i in 0..<n { for t in 0..<d { queries[i * d + t] = q[i * qSize + h * d + t] } }
            cache.keys.withUnsafeBufferPointer { keys in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(total), Int32(d), scale,
                            queries, Int32(d), keys.baseAddress! + cache.offset(layer: layer, head: g, position: 0), Int32(d),
                            0, &scores, Int32(total))
            }
            scores.withUnsafeMutableBufferPointer { buffer in
                nonisolated(unsafe) let sp = buffer.baseAddress!
                parallel(min(ComputeThreads.count, n)) { part in
                    let per = (n + ComputeThreads.count - 1) / ComputeThreads.count
                    for i in (part * per)..<min(n, (part + 1) * per) {
                        let row = sp + i * total
                        let visible = start + i + 1
                        var maximum = -Float.infinity
                        for j in 0..<visible where row[j] > maximum { maximum = row[j] }
                        var sum: Float = 0
                        for j in 0..<visible {
                            let e = expf(row[j] - maximum)
                            row[j] = e
                            sum += e
                        }
                        let inverse = 1 / sum
                        for j in 0..<visible { row[j] *= inverse }
                        for j in visible..<total { row[j] = 0 }
                    }
                }
            }
            cache.values.withUnsafeBufferPointer { values in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(d), Int32(total), 1,
                            scores, Int32(total), values.baseAddress! + cache.offset(layer: layer, head: g, position: 0), Int32(d),
                            0, &heads, Int32(d))
            }
            for i in 0..<n { for t in 0..<d { output[i * qSize + h * d + t] = heads[i * d + t] } }
        }
    }

    /// InternLM2's wqkv output: for each KV group, `headCount / kvHeadCount` query heads, one key head, one value head.
    func unpackInternLM2(_ packed: [Float], n: Int, q: inout [Float], k: inout [Float], v: inout [Float]) {
        let c = config
        let (d, groupSize) = (c.headDim, c.queryGroupSize)
        let row = (c.headCount + 2 * c.kvHeadCount) * d
        for i in 0..<n {
            for g in 0..<c.kvHeadCount {
                let base = i * row + g * (groupSize + 2) * d
                for h in 0..<groupSize {
                    for j in 0..<d { q[i * c.headCount * d + (g * groupSize + h) * d + j] = packed[base + h * d + j] }
                }
                for j in 0..<d {
                    k[i * c.kvHeadCount * d + g * d + j] = packed[base + groupSize * d + j]
                    v[i * c.kvHeadCount * d + g * d + j] = packed[base + (groupSize + 1) * d + j]
                }
            }
        }
    }

    /// Causal attention of the `n` new queries over the cache (positions 0 ..< start + i + 1 for query i), per head
    /// in parallel; softmax in F32.
    func attention(layer: Int, n: Int, start: Int, q: [Float], cache: KVCache, into output: inout [Float]) {
        if numerics == .llamaCpp { return ggmlAttention(layer: layer, n: n, start: start, q: q, cache: cache, into: &output) }
        if n >= 16 { return batchedAttention(layer: layer, n: n, start: start, q: q, cache: cache, into: &output) }
        let c = config
        let (d, scale, qSize) = (c.headDim, c.attentionScale, c.queryWidth)
        let total = start + n
        forEachHead(layer: layer, work: c.headCount * n * total * d, q: q, cache: cache, into: &output) { h, kBase, vBase, qp, op in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: total) { scores in
                        for i in 0..<n {
                            let query = qp + i * qSize + h * d
                            let visible = start + i + 1
                            var maximum = -Float.infinity
                            for j in 0..<visible {
                                let s = dotF32(UnsafeRawPointer(kBase + j * d), query, d) * scale
                                scores[j] = s
                                if s > maximum { maximum = s }
                            }
                            var sum: Float = 0
                            for j in 0..<visible {
                                let e = expf(scores[j] - maximum)
                                scores[j] = e
                                sum += e
                            }
                            let result = op + i * qSize + h * d
                            for t in 0..<d { result[t] = 0 }
                            let inverse = 1 / sum
                            for j in 0..<visible {
                                let weight = scores[j] * inverse
                                let value = vBase + j * d
                                for t in 0..<d { result[t] += weight * value[t] }
                            }
                        }
                    }
        }
    }

    /// Attention as llama.cpp's CPU backend computes it without flash attention: S = K·Q over F16 keys and F16
    /// queries, softmax with ggml's exp and sums, O = V·P with the probabilities rounded to F16. Products over a
    /// prompt (two or more tokens) go through llamafile's tinyBLAS, a single token's through ggml's vec_dot; the two
    /// sum in different orders, and so does this.
    func ggmlAttention(layer: Int, n: Int, start: Int, q: [Float], cache: KVCache, into output: inout [Float]) {
        let c = config
        let (d, scale, qSize) = (c.headDim, c.attentionScale, c.queryWidth)
        let total = start + n
        // tinyBLAS takes a product only for two or more columns, a depth that is a multiple of 16 and a multiple of 4
        // rows (ggml pads the cache's length to 256).
        let tiledScores = n > 1 && d % 16 == 0, tiledValues = n > 1 && d % 4 == 0
        forEachHead(layer: layer, work: c.headCount * n * total * d, q: q, cache: cache, into: &output) { h, kBase, vBase, qp, op in
                    let transposed = tiledScores ? d * total : 0
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * total + transposed + 64 * d) { buffer in
                        let scores = buffer.baseAddress!, weights = scores + total, keysT = weights + total
                        let accumulators = keysT + transposed
                        if tiledScores {
                            for j in 0..<total { for i in 0..<d { keysT[i * total + j] = kBase[j * d + i] } }
                        }
                        for i in 0..<n {
                            let query = qp + i * qSize + h * d
                            let visible = start + i + 1
                            if tiledScores {
                                mmed_ggml_scores_tiled(keysT, total, query, Int32(d), Int32(visible), scale, scores)
                            } else {
                                for j in 0..<visible { scores[j] = mmed_ggml_dot_f16_vec(kBase + j * d, query, 1, Int32(d)) * scale }
                            }
                            var maximum = -Float.infinity
                            for j in 0..<visible { maximum = max(maximum, scores[j]) }
                            let sum = mmed_ggml_softmax(weights, scores, Int32(visible), maximum)
                            let inverse = Float(1.0 / sum)
                            for j in 0..<visible { weights[j] = Float(Float16(weights[j] * inverse)) }
                            let result = op + i * qSize + h * d
                            if tiledValues {
                                mmed_ggml_values_tiled(weights, vBase, d, Int32(d), Int32(visible), accumulators, result)
                            } else {
                                mmed_ggml_values_vec(weights, vBase, d, Int32(d), Int32(visible), accumulators, result)
                            }
                        }
                    }
        }
    }

    /// Runs `body(h, keys, values, queries, output)` for every query head on all cores (when the work pays for it), with
    /// the head's KV group's keys and values in the cache of `layer`.
    func forEachHead(
        layer: Int, work: Int, q: [Float], cache: KVCache, into output: inout [Float],
        _ body: (Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) {
        let c = config
        cache.keys.withUnsafeBufferPointer { keys in cache.values.withUnsafeBufferPointer { values in
            q.withUnsafeBufferPointer { qs in output.withUnsafeMutableBufferPointer { out in
                nonisolated(unsafe) let kp = keys.baseAddress!, vp = values.baseAddress!, qp = qs.baseAddress!, op = out.baseAddress!
                parallel(c.headCount, work: work) { h in
                    let g = h / c.queryGroupSize
                    body(h, kp + cache.offset(layer: layer, head: g, position: 0), vp + cache.offset(layer: layer, head: g, position: 0), qp, op)
                }
            } }
        } }
    }
}
