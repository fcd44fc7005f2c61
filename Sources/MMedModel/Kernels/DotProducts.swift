// The F32 dot product attention uses (query · cached keys); the weight mat-vecs are C kernels (CMMedKernels),
// since Swift's SIMD conversions between element types are per-lane loops.

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
