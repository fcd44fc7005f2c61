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
    public func apply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>, scratch: inout [Float]) {
        let n = outputs, k = inputs
        nonisolated(unsafe) let yOut = y
        if batch == 1 {
            let threads = ComputeThreads.count
            let chunk = (n + threads * 4 - 1) / (threads * 4)
            let parts = (n + chunk - 1) / chunk
            let w = weight
            if w.type == .bf16 && k % 2 == 0 {
                let pairs = pairedEvenOdd(x, k)
                let rowBytes = 2 * k
                pairs.withUnsafeBufferPointer { pairBuffer in
                    nonisolated(unsafe) let xPairs = pairBuffer.baseAddress!
                    parallel(parts) { part in
                        let start = part * chunk
                        for row in start..<min(n, start + chunk) { yOut[row] = dotBF16Pairs(w.data + row * rowBytes, xPairs, k) }
                    }
                }
            } else {
                let sums = w.type == .q4_1 ? blockSums(x, k) : []
                sums.withUnsafeBufferPointer { sumsBuffer in
                    nonisolated(unsafe) let sumsPointer = sumsBuffer.baseAddress
                    parallel(parts) { part in
                        let start = part * chunk
                        for row in start..<min(n, start + chunk) { yOut[row] = dotRow(w, row, x, blockSums: sumsPointer) }
                    }
                }
            }
        } else if weight.type == .f32 {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(n), Int32(k), 1,
                        x, Int32(k), weight.data.assumingMemoryBound(to: Float.self), Int32(k), 0, y, Int32(n))
        } else {
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
        if let bias {
            for b in 0..<batch {
                let row = y + b * n
                for i in 0..<n { row[i] += bias[i] }
            }
        }
    }
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
