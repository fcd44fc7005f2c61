// TEMPORARY placeholder with the interface the GGUF work delivers (replaced at merge).
public func dequantize(_ view: TensorView, row: Int, into output: UnsafeMutablePointer<Float>) {
    let columns = view.columns
    let rowBytes = view.type.byteCount(of: columns)
    let source = view.data + row * rowBytes
    switch view.type {
    case .f32: output.update(from: source.assumingMemoryBound(to: Float.self), count: columns)
    case .f16:
        let p = source.assumingMemoryBound(to: Float16.self)
        for i in 0..<columns { output[i] = Float(p[i]) }
    case .bf16:
        let p = source.assumingMemoryBound(to: UInt16.self)
        for i in 0..<columns { output[i] = Float(bitPattern: UInt32(p[i]) << 16) }
    case .q8_0, .q4_0, .q4_1:
        for block in 0..<(columns / 32) {
            let b = source + block * view.type.block.bytes
            let d = Float(b.loadUnaligned(as: Float16.self))
            let out = output + block * 32
            switch view.type {
            case .q8_0:
                for j in 0..<32 { out[j] = d * Float(b.load(fromByteOffset: 2 + j, as: Int8.self)) }
            case .q4_0:
                for j in 0..<16 {
                    let q = b.load(fromByteOffset: 2 + j, as: UInt8.self)
                    out[j] = d * Float(Int(q & 15) - 8)
                    out[j + 16] = d * Float(Int(q >> 4) - 8)
                }
            default:
                let m = Float(b.loadUnaligned(fromByteOffset: 2, as: Float16.self))
                for j in 0..<16 {
                    let q = b.load(fromByteOffset: 4 + j, as: UInt8.self)
                    out[j] = d * Float(q & 15) + m
                    out[j + 16] = d * Float(q >> 4) + m
                }
            }
        }
    }
}
