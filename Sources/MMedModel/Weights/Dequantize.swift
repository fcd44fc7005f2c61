/// Weights to F32, exactly as ggml (and gguf-py's `quants.dequantize`) computes them: F16 by the hardware
/// conversion, BF16 by a shift into the high half, and the block formats with an F16 scale `d` per 32 weights:
/// - Q8_0 (34 bytes): d, 32 signed bytes q; weight = q·d.
/// - Q4_0 (18 bytes): d, 16 bytes; weight j (0…15) is the low nibble of byte j, weight j+16 its high nibble;
///   weight = (q − 8)·d.
/// - Q4_1 (20 bytes): d, an F16 minimum m, 16 bytes of nibbles as Q4_0; weight = q·d + m.
/// Every product of a small integer and an F16 scale is exact in F32, so the results are bit-identical to ggml's and
/// numpy's whatever the order of operations (Q4_1's sum is the only rounding, the same everywhere).

/// Dequantizes row `row` of a tensor viewed as a matrix (`view.rows` × `view.columns`) into `output`, which must
/// have room for `view.columns` floats.
public func dequantize(_ view: TensorView, row: Int, into output: UnsafeMutablePointer<Float>) {
    precondition(row >= 0 && row < view.rows, "row \(row) is outside the \(view.rows) rows of \(view.name)")
    let rowBytes = view.type.byteCount(of: view.columns)
    dequantize(view.type, view.data + row * rowBytes, count: view.columns, into: output)
}

/// Dequantizes the whole tensor into `output`, which must have room for `view.elementCount` floats.
public func dequantize(_ view: TensorView, into output: UnsafeMutablePointer<Float>) {
    dequantize(view.type, view.data, count: view.elementCount, into: output)
}

/// The whole tensor as F32, row-major.
public func dequantize(_ view: TensorView) -> [Float] {
    let count = view.elementCount
    return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 { dequantize(view, into: buffer.baseAddress!) }
        initialized = count
    }
}

/// Dequantizes `count` weights (a multiple of the type's block size) starting at `source`.
public func dequantize(_ type: TensorType, _ source: UnsafeRawPointer, count: Int, into output: UnsafeMutablePointer<Float>) {
    precondition(count % type.block.weights == 0, "\(count) weights is not a whole number of \(type) blocks")
    switch type {
    case .f32:
        // A copy of bytes: an alignment of 1, 2 or 4 is legal GGUF, so the floats need not be aligned.
        UnsafeMutableRawPointer(output).copyMemory(from: source, byteCount: 4 * count)
    case .f16:
        for index in 0..<count {
            output[index] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
        }
    case .bf16:
        for index in 0..<count {
            output[index] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)) << 16)
        }
    case .q8_0:
        for block in 0..<(count / 32) {
            let base = source + block * 34
            let scale = halfScale(base, 0)
            let quants = (base + 2).assumingMemoryBound(to: Int8.self)
            let target = output + block * 32
            for index in 0..<32 { target[index] = Float(quants[index]) * scale }
        }
    case .q4_0:
        for block in 0..<(count / 32) {
            let base = source + block * 18
            let scale = halfScale(base, 0)
            let nibbles = (base + 2).assumingMemoryBound(to: UInt8.self)
            let target = output + block * 32
            for index in 0..<16 {
                let byte = nibbles[index]
                target[index] = Float(Int32(byte & 0x0F) - 8) * scale
                target[index + 16] = Float(Int32(byte >> 4) - 8) * scale
            }
        }
    case .q4_1:
        for block in 0..<(count / 32) {
            let base = source + block * 20
            let scale = halfScale(base, 0), minimum = halfScale(base, 2)
            let nibbles = (base + 4).assumingMemoryBound(to: UInt8.self)
            let target = output + block * 32
            for index in 0..<16 {
                let byte = nibbles[index]
                target[index] = Float(byte & 0x0F) * scale + minimum
                target[index + 16] = Float(byte >> 4) * scale + minimum
            }
        }
    }
}

@inline(__always)
private func halfScale(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}
