import CMMedKernels
import COpenBLAS
import Dispatch
import Foundation

/// Runs `body(part)` for `parts` parts on all cores (the calling thread takes part of the work).
@inline(__always)
func parallel(_ parts: Int, _ body: (Int) -> Void) {
    if parts <= 1 { body(0); return }
    withoutActuallyEscaping(body) { escapable in
        nonisolated(unsafe) let work = escapable
        DispatchQueue.concurrentPerform(iterations: parts) { work($0) }
    }
}

/// Runs `body(i)` for `count` items, on all cores when the work (in multiply-adds or bytes read) is large enough to
/// pay for waking the other threads (measured on SmolLM2: below about a million, waking them costs more than it saves).
@inline(__always)
func parallel(_ count: Int, work: Int, _ body: (Int) -> Void) {
    if work < 1 << 20 || ComputeThreads.count == 1 { for i in 0..<count { body(i) } } else { parallel(count, body) }
}

/// How many parts to split `work` over: one per thread, at most one per million units of work.
@inline(__always)
func parts(for work: Int) -> Int { max(1, min(ComputeThreads.count, work >> 20)) }

/// How many threads kernels use; set once from `--threads` (OpenBLAS gets the same number).
public enum ComputeThreads {
    nonisolated(unsafe) public private(set) static var count: Int = ProcessInfo.processInfo.activeProcessorCount

    public static func set(_ threads: Int) {
        count = max(1, threads)
        openblas_set_num_threads(Int32(count))
    }
}

/// A weight matrix [out, in] with an optional bias, as stored.
public struct Linear: @unchecked Sendable {
    public let weight: TensorView
    public let bias: [Float]?

    public var outputs: Int { weight.rows }
    public var inputs: Int { weight.columns }

    /// y[b, :] = W · x[b, :] (+ bias) for `batch` rows of input. One row: a parallel mat-vec on the stored weights;
    /// more: BLAS sgemm over tiles of weights widened to F32.
    public func apply(
        _ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, scratch: inout [Float], numerics: Numerics = .exact
    ) {
        let n = outputs, k = inputs
        if numerics == .llamaCpp && weight.type == .bf16 && bf16ProductsAvailable {
            // llama.cpp rounds the activations to BF16 for BF16 weights and multiplies with AVX-512 BF16.
            bf16Product(x, batch: batch, into: y)
        } else if numerics == .llamaCpp && weight.type == .f16 {
            // llama.cpp rounds the activations to F16 for F16 weights.
            halfProduct(x, batch: batch, into: y)
        } else if batch == 1 {
            matvec(x, into: y, numerics: numerics)
        } else if numerics == .llamaCpp && weight.type.block.weights > 1 {
            // llama.cpp multiplies quantized weights with activations quantized per 32 values in integer dot
            // products, prompt or not: the same kernels row by row.
            rowProducts(x, batch: batch, into: y, numerics: numerics)
        } else if weight.type == .f32 {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(n), Int32(k), 1,
                        x, Int32(k), weight.data.assumingMemoryBound(to: Float.self), Int32(k), 0, y, Int32(n))
        } else {
            widenedProduct(x, batch: batch, into: y, scratch: &scratch)
        }
        if let bias {
            for b in 0..<batch {
                let row = y + b * n
                for i in 0..<n { row[i] += bias[i] }
            }
        }
    }
}

extension Linear {
    /// y = x · Wᵀ by sgemm over tiles of the weights widened to F32.
    func widenedProduct(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, scratch: inout [Float]) {
        let n = outputs, k = inputs
        let tile = max(1, min(n, (1 << 22) / k))  // about 16 MB of widened weights at a time
        if scratch.count < tile * k { scratch = [Float](repeating: 0, count: tile * k) }
        scratch.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let wide = buffer.baseAddress!
            var start = 0
            while start < n {
                let rows = min(tile, n - start)
                let w = weight
                let base = start
                let threads = ComputeThreads.count
                let per = (rows + threads - 1) / threads
                parallel(threads) { part in
                    for r in (part * per)..<min(rows, (part + 1) * per) { dequantize(w, row: base + r, into: wide + r * k) }
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(rows), Int32(k), 1,
                            x, Int32(k), wide, Int32(k), 0, y + start, Int32(n))
                start += rows
            }
        }
    }

    /// y = x · Wᵀ with x rounded to BF16, on the AVX-512 BF16 kernels, weight rows split over the threads: llamafile's
    /// tinyBLAS order where llama.cpp takes it (two or more rows of input, a depth that is a multiple of 32, a multiple
    /// of 4 weight rows), ggml's vec_dot otherwise.
    func bf16Product(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outputs, k = inputs
        var rounded = [UInt16](repeating: 0, count: batch * k)
        mmed_round_to_bf16(x, &rounded, batch * k)
        let threads = parts(for: batch * n * k)
        let per = ((n + threads - 1) / threads + 5) / 6 * 6  // whole tiles of 6 rows
        let data = weight.data, rowBytes = weight.type.byteCount(of: k)
        nonisolated(unsafe) let out = y
        rounded.withUnsafeBufferPointer { xb in
            nonisolated(unsafe) let xp = xb.baseAddress!
            parallel(threads) { part in
                let begin = part * per, end = min(n, begin + per)
                guard begin < end else { return }
                if batch > 1 && k % 32 == 0 && n % 4 == 0 {
                    mmed_gemm_bf16(xp, batch, k, data, rowBytes, Int32(k), Int32(begin), Int32(end), out, n)
                } else {
                    mmed_dot_bf16_rows(xp, batch, k, data, rowBytes, Int32(k), Int32(begin), Int32(end), out, n)
                }
            }
        }
    }

    /// y = x · Wᵀ for F16 weights with x rounded to F16, summed as llama.cpp does (tinyBLAS where it takes the product,
    /// vec_dot otherwise), weight rows split over the threads.
    func halfProduct(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outputs, k = inputs
        let rounded = (0..<(batch * k)).map { Float(Float16(x[$0])) }
        let tiled: Int32 = batch > 1 && k % 16 == 0 && n % 4 == 0 ? 1 : 0
        let threads = parts(for: batch * n * k)
        let per = (n + threads - 1) / threads
        let data = weight.data, rowBytes = weight.type.byteCount(of: k)
        nonisolated(unsafe) let out = y
        rounded.withUnsafeBufferPointer { xb in
            nonisolated(unsafe) let xp = xb.baseAddress!
            parallel(threads) { part in
                let begin = part * per, end = min(n, begin + per)
                if begin < end { mmed_ggml_f16_rows(xp, batch, k, data, rowBytes, Int32(k), Int32(begin), Int32(end), out, n, tiled) }
            }
        }
    }

    /// The C kernel's code for a weight type.
    static func kernelType(_ type: TensorType) -> Int32 {
        switch type {
        case .f32: Int32(MMED_F32)
        case .f16: Int32(MMED_F16)
        case .bf16: Int32(MMED_BF16)
        case .q8_0: Int32(MMED_Q8_0)
        case .q4_0: Int32(MMED_Q4_0)
        case .q4_1: Int32(MMED_Q4_1)
        }
    }

    /// y = W · x on all threads (one row of input).
    func matvec(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, numerics: Numerics = .exact) {
        rowProducts(x, batch: 1, into: y, numerics: numerics)
    }

    /// y[b, :] = W · x[b, :] for each row of input with the mat-vec kernels, on all threads. Quantized weights meet
    /// x quantized per 32 values (llama.cpp's q8 activations; with its F16 block scales under `.llamaCpp`) in integer
    /// dot products; float weights meet x as it is. Each thread takes a band of weight rows through every input row.
    func rowProducts(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, numerics: Numerics) {
        let n = outputs, k = inputs
        let quantized = weight.type.block.weights > 1
        let blocks = quantized ? k / 32 : 0
        var q = [Int8](repeating: 0, count: quantized ? batch * k : 0)
        var scales = [Float](repeating: 0, count: batch * blocks), sums = [Float](repeating: 0, count: batch * blocks)
        if quantized {
            q.withUnsafeMutableBufferPointer { qb in scales.withUnsafeMutableBufferPointer { sb in sums.withUnsafeMutableBufferPointer { ub in
                for b in 0..<batch {
                    mmed_quantize_q8(x + b * k, Int32(k), qb.baseAddress! + b * k, sb.baseAddress! + b * blocks,
                                     ub.baseAddress! + b * blocks, numerics == .llamaCpp ? 1 : 0)
                }
            } } }
        }
        let type = Self.kernelType(weight.type)
        let rowBytes = weight.type.byteCount(of: k)
        // Parts of at least 16 rows, one per thread when the product is large enough to share.
        let parts = max(1, min(parts(for: batch * n * k), n / 16))
        let per = (n + parts - 1) / parts
        let data = weight.data
        nonisolated(unsafe) let out = y
        q.withUnsafeBufferPointer { qb in scales.withUnsafeBufferPointer { sb in sums.withUnsafeBufferPointer { ub in
            nonisolated(unsafe) let qp = qb.baseAddress, sp = sb.baseAddress, up = ub.baseAddress
            parallel(parts) { part in
                let begin = part * per, end = min(n, begin + per)
                guard begin < end else { return }
                for b in 0..<batch {
                    mmed_matvec(type, data, rowBytes, Int32(k), Int32(begin), Int32(end), x + b * k,
                                qp.map { $0 + b * k }, sp.map { $0 + b * blocks }, up.map { $0 + b * blocks }, out + b * n)
                }
            }
        } } }
    }
}

/// Whether this CPU has AVX-512 BF16 (checked once).
let bf16ProductsAvailable = mmed_has_avx512_bf16() != 0

/// How activations meet weights and what the KV cache holds.
public enum Numerics: String, Sendable, CaseIterable {
    /// F32 activations with the weights as stored (quantized weights widened for prompts); F32 cache. Mat-vecs of
    /// quantized weights still quantize x per 32 values, as decoding at memory speed needs. Agrees with a float64
    /// computation of the same weights (top-1 on every FLORES position of SmolLM2 Q4_1).
    case exact
    /// llama.cpp's CPU backend (ggml built for AVX-512 by GCC, without flash attention) reproduced: activations
    /// quantized per 32 values with F16 block scales for every product with quantized weights, prompt or not, rounded
    /// to BF16 for BF16 weights (multiplied with AVX-512 BF16) and to F16 for F16 weights; the KV cache, queries and
    /// attention probabilities in F16; ggml's exp, rotary table, fused rotation and summation orders (vec_dot for one
    /// token, llamafile's tinyBLAS where llama.cpp takes it). Bit-identical logits to llama.cpp for Q4_1, Q8_0, BF16
    /// and F16 weights (checked on SmolLM2 Q4_1, a BF16 and an F16 Llama); F32 and Q4_0 matrices (llama.cpp repacks
    /// Q4_0) keep our own summation order. Quantized prompts run on the integer kernels instead of BLAS.
    case llamaCpp = "llama.cpp"
}

/// RMSNorm as Llama computes it: x · rsqrt(mean(x²) + ε) · w, in F32.
@inline(__always)
func rmsNorm(_ x: UnsafePointer<Float>, _ weight: [Float], _ epsilon: Float, _ count: Int, into y: UnsafeMutablePointer<Float>) {
    var squares: Double = 0  // summed in double as ggml does (transformers' F32 sum is within rounding of it)
    for i in 0..<count { squares += Double(x[i] * x[i]) }
    let scale = 1 / (Float(squares / Double(count)) + epsilon).squareRoot()
    for i in 0..<count { y[i] = weight[i] * (x[i] * scale) }
}

/// Rotates one head of `headDim` values in place at angles position·frequency. `fused`: as ggml's GCC build computes it, a·cos − b·sin as fma(a, cos, −b·sin) and b·cos + a·sin as
/// fma(a, sin, b·cos).
@inline(__always)
func rotate(_ v: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, headDim: Int, pairing: RotaryPairing, fused: Bool = false) {
    let half = headDim / 2
    let (first, second) = pairing == .halves ? (0, half) : (0, 1)
    let stride = pairing == .halves ? 1 : 2
    for i in 0..<half {
        let p = first + i * stride, r = second + i * stride
        let a = v[p], b = v[r]
        if fused {
            v[p] = (-(b * sin[i])).addingProduct(a, cos[i])
            v[r] = (b * cos[i]).addingProduct(a, sin[i])
        } else {
            v[p] = a * cos[i] - b * sin[i]
            v[r] = b * cos[i] + a * sin[i]
        }
    }
}

/// SiLU(gate) · up, in place into `gate`.
@inline(__always)
func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ count: Int) {
    for i in 0..<count {
        let g = gate[i]
        gate[i] = g / (1 + expf(-g)) * up[i]
    }
}
