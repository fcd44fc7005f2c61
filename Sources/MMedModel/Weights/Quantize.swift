import Foundation

/// Weights converted at load time are owned here (mapped ones are not copied).
final class OwnedWeights: @unchecked Sendable {
    // @unchecked: filled during load, read-only afterwards.
    private var buffers: [UnsafeMutableRawPointer] = []

    func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        buffers.append(pointer)
        return pointer
    }

    deinit { for pointer in buffers { pointer.deallocate() } }
}

/// How weights are held in memory.
public enum WeightQuantization: String, Sendable, CaseIterable {
    /// As stored in the checkpoint.
    case none
    /// F32/F16/BF16 matrices quantized to Q8_0 at load, as llama.cpp does it (per 32 weights: d = max|x| / 127,
    /// q = round(x / d)); halves the bytes a BF16 model reads per token.
    case q8_0
}

/// `view` (F32, F16 or BF16) as Q8_0 in memory from `owner`.
func quantizeQ8_0(_ view: TensorView, owner: OwnedWeights) -> TensorView {
    let rows = view.rows, columns = view.columns
    let rowBytes = TensorType.q8_0.byteCount(of: columns)
    let output = owner.allocate(rows * rowBytes)
    nonisolated(unsafe) let out = output
    parallel(ComputeThreads.count) { part in
        let per = (rows + ComputeThreads.count - 1) / ComputeThreads.count
        var values = [Float](repeating: 0, count: columns)
        values.withUnsafeMutableBufferPointer { buffer in
            for row in (part * per)..<min(rows, (part + 1) * per) {
                dequantize(view, row: row, into: buffer.baseAddress!)
                for block in 0..<(columns / 32) {
                    let b = out + row * rowBytes + block * 34
                    var amax: Float = 0
                    for j in 0..<32 { amax = max(amax, abs(buffer[block * 32 + j])) }
                    let d = amax / 127
                    let inverse: Float = d == 0 ? 0 : 1 / d
                    b.storeBytes(of: Float16(d), as: Float16.self)
                    for j in 0..<32 {
                        b.storeBytes(of: Int8((buffer[block * 32 + j] * inverse).rounded()), toByteOffset: 2 + j, as: Int8.self)
                    }
                }
            }
        }
    }
    return TensorView(name: view.name, type: .q8_0, shape: view.shape, data: UnsafeRawPointer(output), byteCount: rows * rowBytes)
}
