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
        if batch == 1 {
            matvec(x, into: y)
        } else if weight.type == .f32 {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(n), Int32(k), 1,
                        x, Int32(k), weight.data.assumingMemoryBound(to: Float.self), Int32(k), 0, y, Int32(n))
        } else {
            // llama.cpp multiplies quantized weights with activations quantized per 32 values: the same products
            // come from sgemm on the activations rounded to their q8 values.
            if numerics == .llamaCpp && weight.type.block.weights > 1 {
                var rounded = [Float](UnsafeBufferPointer(start: x, count: batch * k))
                rounded.withUnsafeMutableBufferPointer { buffer in
                    for b in 0..<batch { roundToQ8(buffer.baseAddress! + b * k, k) }
                    widenedProduct(buffer.baseAddress!, batch: batch, into: y, scratch: &scratch)
                }
            } else {
                widenedProduct(x, batch: batch, into: y, scratch: &scratch)
            }
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

    /// y = W · x on all threads. Quantized weights meet x quantized per 32 values (llama.cpp's q8 activations) in
    /// integer dot products; float weights meet x as it is.
    func matvec(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let n = outputs, k = inputs
        let quantized = weight.type.block.weights > 1
        let blocks = quantized ? k / 32 : 0
        var q = [Int8](repeating: 0, count: quantized ? k : 0)
        var scales = [Float](repeating: 0, count: blocks), sums = [Float](repeating: 0, count: blocks)
        if quantized { mmed_quantize_q8(x, Int32(k), &q, &scales, &sums) }
        let type = Self.kernelType(weight.type)
        let rowBytes = weight.type.byteCount(of: k)
        let threads = ComputeThreads.count
        // Parts of at least 16 rows; a few per thread so an uneven core still finishes with the others.
        let parts = max(1, min(threads, n / 16))
        let per = (n + parts - 1) / parts
        let data = weight.data
        nonisolated(unsafe) let out = y
        q.withUnsafeBufferPointer { qb in scales.withUnsafeBufferPointer { sb in sums.withUnsafeBufferPointer { ub in
            nonisolated(unsafe) let qp = qb.baseAddress, sp = sb.baseAddress, up = ub.baseAddress
            parallel(parts) { part in
                let begin = part * per, end = min(n, begin + per)
                if begin < end {
                    mmed_matvec(type, data, rowBytes, Int32(k), Int32(begin), Int32(end), x, qp, sp, up, out)
                }
            }
        } } }
    }
}

/// How activations meet weights and what the KV cache holds.
public enum Numerics: String, Sendable, CaseIterable {
    /// F32 activations with the weights as stored (quantized weights widened); F32 cache. Mat-vecs of quantized
    /// weights still quantize x per 32 values, as decoding at memory speed needs.
    case exact
    /// Closer to llama.cpp's CPU backend: activations quantized per 32 values for every product with quantized
    /// weights, the KV cache in F16, queries and attention weights rounded to F16 for their products. Not bit-exact:
    /// on SmolLM2 it matches more of llama.cpp's greedy continuations (13 of 33 vs 8) but not more of its top-1s.
    case llamaCpp = "llama.cpp"
}

/// x replaced by its q8 values (d = max|x|/127, q = round(x/d), x' = q·d) per 32-value block, in place.
func roundToQ8(_ x: UnsafeMutablePointer<Float>, _ count: Int) {
    var q = [Int8](repeating: 0, count: count)
    var scales = [Float](repeating: 0, count: count / 32), sums = [Float](repeating: 0, count: count / 32)
    mmed_quantize_q8(x, Int32(count), &q, &scales, &sums)
    for i in 0..<count { x[i] = Float(q[i]) * scales[i / 32] }
}

/// RMSNorm as Llama computes it: x · rsqrt(mean(x²) + ε) · w, in F32.
@inline(__always)
func rmsNorm(_ x: UnsafePointer<Float>, _ weight: [Float], _ epsilon: Float, _ count: Int, into y: UnsafeMutablePointer<Float>) {
    var squares: Float = 0
    for i in 0..<count { squares += x[i] * x[i] }
    let scale = 1 / (squares / Float(count) + epsilon).squareRoot()
    for i in 0..<count { y[i] = weight[i] * (x[i] * scale) }
}

/// Rotates one head of `headDim` values in place at angles position·frequency.
@inline(__always)
func rotate(_ v: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, headDim: Int, pairing: RotaryPairing) {
    let half = headDim / 2
    switch pairing {
    case .halves:
        for i in 0..<half {
            let a = v[i], b = v[i + half]
            v[i] = a * cos[i] - b * sin[i]
            v[i + half] = b * cos[i] + a * sin[i]
        }
    case .adjacent:
        for i in 0..<half {
            let a = v[2 * i], b = v[2 * i + 1]
            v[2 * i] = a * cos[i] - b * sin[i]
            v[2 * i + 1] = b * cos[i] + a * sin[i]
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
