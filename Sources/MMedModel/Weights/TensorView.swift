/// The element types checkpoints store weights in (safetensors: F32, F16, BF16; GGUF also the llama.cpp blocks).
public enum TensorType: String, Sendable, CaseIterable {
    case f32, f16, bf16
    /// 32 weights per 34-byte block: an F16 scale, 32 signed bytes.
    case q8_0
    /// 32 weights per 18-byte block: an F16 scale, 16 bytes of 4-bit values (low nibbles first), value − 8.
    case q4_0
    /// 32 weights per 20-byte block: F16 scale and minimum, 16 bytes of 4-bit values.
    case q4_1

    /// Weights per block and bytes per block.
    public var block: (weights: Int, bytes: Int) {
        switch self {
        case .f32: (1, 4)
        case .f16, .bf16: (1, 2)
        case .q8_0: (32, 34)
        case .q4_0: (32, 18)
        case .q4_1: (32, 20)
        }
    }

    /// Bytes of `count` weights (a multiple of the block size).
    public func byteCount(of count: Int) -> Int { count / block.weights * block.bytes }
}

/// A tensor inside a memory-mapped checkpoint: no copy. `shape` is row-major, outermost first, as PyTorch writes
/// it (a linear layer's weight is [out, in]); GGUF's reversed `ne` order is turned around when read.
public struct TensorView: @unchecked Sendable {
    // @unchecked: `data` points into an immutable mapping that outlives the view (its owner keeps it alive).
    public var name: String
    public var type: TensorType
    public var shape: [Int]
    public var data: UnsafeRawPointer
    public var byteCount: Int

    public init(name: String, type: TensorType, shape: [Int], data: UnsafeRawPointer, byteCount: Int) {
        self.name = name
        self.type = type
        self.shape = shape
        self.data = data
        self.byteCount = byteCount
    }

    public var elementCount: Int { shape.reduce(1, *) }
    /// Rows of a matrix (the product of all but the last dimension) and columns (the last).
    public var rows: Int { shape.count <= 1 ? 1 : shape.dropLast().reduce(1, *) }
    public var columns: Int { shape.last ?? 1 }
}

/// Where a model's tensors come from: a safetensors checkpoint or a GGUF file.
public protocol TensorSource: Sendable {
    var tensorNames: [String] { get }
    func tensor(_ name: String) -> TensorView?
}
