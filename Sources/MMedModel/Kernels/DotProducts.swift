// Row · vector products for every weight type, the decode-time kernel: memory-bound, so each reads its row once
// in its stored form and widens to F32 in registers (SIMD16 with several accumulators; FMA from the target CPU).

@inline(__always)
func sum(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>, _ d: SIMD16<Float>) -> Float {
    ((a + b) + (c + d)).sum()
}

/// `row · x` for `count` F32 weights.
@inline(__always)
func dotF32(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var i = 0
    let xr = UnsafeRawPointer(x)
    while i + 64 <= count {
        a0.addProduct(row.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self), xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        a1.addProduct(row.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self), xr.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self))
        a2.addProduct(row.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD16<Float>.self), xr.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD16<Float>.self))
        a3.addProduct(row.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD16<Float>.self), xr.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD16<Float>.self))
        i += 64
    }
    var total = sum(a0, a1, a2, a3)
    let w = row.assumingMemoryBound(to: Float.self)
    while i < count { total += w[i] * x[i]; i += 1 }
    return total
}

@inline(__always)
func widenBF16(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<Float> {
    let raw = SIMD16<UInt32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt16>.self))
    return unsafeBitCast(raw &<< 16, to: SIMD16<Float>.self)
}

@inline(__always)
func dotBF16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var i = 0
    let xr = UnsafeRawPointer(x)
    while i + 64 <= count {
        a0.addProduct(widenBF16(row, i * 2), xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        a1.addProduct(widenBF16(row, (i + 16) * 2), xr.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self))
        a2.addProduct(widenBF16(row, (i + 32) * 2), xr.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD16<Float>.self))
        a3.addProduct(widenBF16(row, (i + 48) * 2), xr.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD16<Float>.self))
        i += 64
    }
    var total = sum(a0, a1, a2, a3)
    let w = row.assumingMemoryBound(to: UInt16.self)
    while i < count { total += Float(bitPattern: UInt32(w[i]) << 16) * x[i]; i += 1 }
    return total
}

/// BF16 without widening instructions: a 32-bit load holds two weights; `<< 16` is the even one as an F32, `& 0xFFFF0000`
/// the odd one. x comes de-interleaved (`xPairs`: all even elements, then all odd), made once per mat-vec.
@inline(__always)
func dotBF16Pairs(_ row: UnsafeRawPointer, _ xPairs: UnsafePointer<Float>, _ count: Int) -> Float {
    let half = count / 2
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    let even = UnsafeRawPointer(xPairs), odd = UnsafeRawPointer(xPairs + half)
    let mask = SIMD16<UInt32>(repeating: 0xFFFF_0000)
    var j = 0
    while j + 32 <= half {
        let w0 = row.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<UInt32>.self)
        let w1 = row.loadUnaligned(fromByteOffset: (j + 16) * 4, as: SIMD16<UInt32>.self)
        a0.addProduct(unsafeBitCast(w0 &<< 16, to: SIMD16<Float>.self), even.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self))
        a1.addProduct(unsafeBitCast(w0 & mask, to: SIMD16<Float>.self), odd.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self))
        a2.addProduct(unsafeBitCast(w1 &<< 16, to: SIMD16<Float>.self), even.loadUnaligned(fromByteOffset: (j + 16) * 4, as: SIMD16<Float>.self))
        a3.addProduct(unsafeBitCast(w1 & mask, to: SIMD16<Float>.self), odd.loadUnaligned(fromByteOffset: (j + 16) * 4, as: SIMD16<Float>.self))
        j += 32
    }
    var total = sum(a0, a1, a2, a3)
    let w = row.assumingMemoryBound(to: UInt32.self)
    while j < half {
        total += Float(bitPattern: w[j] << 16) * xPairs[j] + Float(bitPattern: w[j] & 0xFFFF_0000) * xPairs[half + j]
        j += 1
    }
    return total
}

/// x de-interleaved for `dotBF16Pairs`: x[0], x[2], …, then x[1], x[3], ….
func pairedEvenOdd(_ x: UnsafePointer<Float>, _ count: Int) -> [Float] {
    let half = count / 2
    var out = [Float](repeating: 0, count: count)
    for j in 0..<half {
        out[j] = x[2 * j]
        out[half + j] = x[2 * j + 1]
    }
    return out
}

@inline(__always)
func widenF16(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<Float> {
    SIMD16<Float>(p.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float16>.self))
}

@inline(__always)
func dotF16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var i = 0
    let xr = UnsafeRawPointer(x)
    while i + 64 <= count {
        a0.addProduct(widenF16(row, i * 2), xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        a1.addProduct(widenF16(row, (i + 16) * 2), xr.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self))
        a2.addProduct(widenF16(row, (i + 32) * 2), xr.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD16<Float>.self))
        a3.addProduct(widenF16(row, (i + 48) * 2), xr.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD16<Float>.self))
        i += 64
    }
    var total = sum(a0, a1, a2, a3)
    let w = row.assumingMemoryBound(to: Float16.self)
    while i < count { total += Float(w[i]) * x[i]; i += 1 }
    return total
}

/// Q8_0 blocks: 32 int8 weights and an F16 scale per 34 bytes.
@inline(__always)
func dotQ8_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var total = SIMD16<Float>()
    let xr = UnsafeRawPointer(x)
    for block in 0..<(count / 32) {
        let b = row + block * 34
        let d = Float(b.loadUnaligned(as: Float16.self))
        let q0 = SIMD16<Float>(b.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self))
        let q1 = SIMD16<Float>(b.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self))
        var partial = q0 * xr.loadUnaligned(fromByteOffset: block * 128, as: SIMD16<Float>.self)
        partial.addProduct(q1, xr.loadUnaligned(fromByteOffset: block * 128 + 64, as: SIMD16<Float>.self))
        total.addProduct(SIMD16(repeating: d), partial)
    }
    return total.sum()
}

/// Q4_0 blocks: an F16 scale and 16 bytes; weight j is the low nibble of byte j, weight j + 16 its high nibble,
/// each minus 8.
@inline(__always)
func dotQ4_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var total = SIMD16<Float>()
    let xr = UnsafeRawPointer(x)
    let eight = SIMD16<Float>(repeating: 8)
    for block in 0..<(count / 32) {
        let b = row + block * 18
        let d = Float(b.loadUnaligned(as: Float16.self))
        let bytes = b.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
        let low = SIMD16<Float>(bytes & 15) - eight
        let high = SIMD16<Float>(bytes &>> 4) - eight
        var partial = low * xr.loadUnaligned(fromByteOffset: block * 128, as: SIMD16<Float>.self)
        partial.addProduct(high, xr.loadUnaligned(fromByteOffset: block * 128 + 64, as: SIMD16<Float>.self))
        total.addProduct(SIMD16(repeating: d), partial)
    }
    return total.sum()
}

/// Q4_1 blocks: F16 scale and minimum, 16 bytes of nibbles; weight = q·d + m. The minimum's share, Σ m·Σx, uses
/// the per-block sums of x, computed once per mat-vec (`blockSums`).
@inline(__always)
func dotQ4_1(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ count: Int, _ blockSums: UnsafePointer<Float>) -> Float {
    var scaled = SIMD16<Float>()
    var offsets: Float = 0
    let xr = UnsafeRawPointer(x)
    for block in 0..<(count / 32) {
        let b = row + block * 20
        let d = Float(b.loadUnaligned(as: Float16.self))
        let m = Float(b.loadUnaligned(fromByteOffset: 2, as: Float16.self))
        let bytes = b.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
        var partial = SIMD16<Float>(bytes & 15) * xr.loadUnaligned(fromByteOffset: block * 128, as: SIMD16<Float>.self)
        partial.addProduct(SIMD16<Float>(bytes &>> 4), xr.loadUnaligned(fromByteOffset: block * 128 + 64, as: SIMD16<Float>.self))
        scaled.addProduct(SIMD16(repeating: d), partial)
        offsets += m * blockSums[block]
    }
    return scaled.sum() + offsets
}

/// Sums of each 32-value block of x (for Q4_1).
func blockSums(_ x: UnsafePointer<Float>, _ count: Int) -> [Float] {
    (0..<(count / 32)).map { block in
        let xr = UnsafeRawPointer(x + block * 32)
        return (xr.loadUnaligned(as: SIMD16<Float>.self) + xr.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)).sum()
    }
}

/// `row · x` for a row of `view` (all `view.columns` weights).
@inline(__always)
func dotRow(_ view: TensorView, _ row: Int, _ x: UnsafePointer<Float>, blockSums: UnsafePointer<Float>? = nil) -> Float {
    let columns = view.columns
    let pointer = view.data + row * view.type.byteCount(of: columns)
    switch view.type {
    case .f32: return dotF32(pointer, x, columns)
    case .bf16: return dotBF16(pointer, x, columns)
    case .f16: return dotF16(pointer, x, columns)
    case .q8_0: return dotQ8_0(pointer, x, columns)
    case .q4_0: return dotQ4_0(pointer, x, columns)
    case .q4_1:
        if let blockSums { return dotQ4_1(pointer, x, columns, blockSums) }
        let sums = MMedModel.blockSums(x, columns)
        return sums.withUnsafeBufferPointer { dotQ4_1(pointer, x, columns, $0.baseAddress!) }
    }
}
