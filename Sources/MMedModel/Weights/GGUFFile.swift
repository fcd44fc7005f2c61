#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A GGUF file (llama.cpp's model format, versions 2 and 3): its metadata, its tensor table and, memory-mapped
/// read-only, its tensor data. Tensors are views into the mapping, which lives as long as this object.
///
/// Layout (little-endian): "GGUF", version u32, tensor count u64, metadata count u64; the metadata (key string, value
/// type u32, value); the tensor infos (name string, n_dims u32, ne[n_dims] i64 innermost first, ggml type u32,
/// offset u64); padding to `general.alignment` (default 32); the data section, which the offsets are relative to.
/// A string is a u64 byte count and UTF-8 bytes, an array an element type u32, a u64 count and the elements.
///
/// Every inconsistency is a `GGUFError` naming the file and byte offset. A tensor of a ggml type the engine does not
/// read (K-quants, IQ-quants, …) loads fine; asking for it (`loadTensor`) or `validate()` names it.
public final class GGUFFile: TensorSource, @unchecked Sendable {
    // @unchecked: every stored property is immutable after `init`; the mapping is PROT_READ and unmapped only in
    // `deinit`, when no view can be in use through this object any more.

    /// The path the file was opened with.
    public let path: String
    /// The format version (2 or 3).
    public let version: UInt32
    /// All metadata, by key.
    public let metadata: [String: GGUFValue]
    /// The metadata keys in file order.
    public let metadataKeys: [String]
    /// The tensor table in file order.
    public let tensorInfos: [GGUFTensorInfo]
    /// `general.alignment` (32 when absent).
    public let alignment: Int
    /// Where the data section starts in the file.
    public let dataOffset: Int
    /// The file's size in bytes.
    public let fileSize: Int

    private let mapping: UnsafeRawPointer
    private let tensorIndex: [String: Int]

    /// Maps and parses the file. Throws `GGUFError` for a file that cannot be read or is not valid GGUF.
    public init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw GGUFError(.io, file: path, offset: nil, "cannot open the file: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw GGUFError(.io, file: path, offset: nil, "cannot stat the file: \(String(cString: strerror(errno)))")
        }
        let size = Int(status.st_size)
        guard size >= GGUFParser.headerSize else {
            throw GGUFError(.malformed, file: path, offset: size,
                            "the file has \(size) bytes, fewer than a GGUF header's \(GGUFParser.headerSize): truncated or not GGUF")
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw GGUFError(.io, file: path, offset: nil, "cannot memory-map the file: \(String(cString: strerror(errno)))")
        }
        let bytes = UnsafeRawBufferPointer(start: base, count: size)
        let parsed: GGUFParser.Result
        do {
            var parser = GGUFParser(bytes: bytes, file: path)
            parsed = try parser.parse()
        } catch {
            munmap(base, size)
            throw error
        }
        mapping = UnsafeRawPointer(base)
        fileSize = size
        version = parsed.version
        metadata = parsed.metadata
        metadataKeys = parsed.metadataKeys
        tensorInfos = parsed.tensors
        alignment = parsed.alignment
        dataOffset = parsed.dataOffset
        var index: [String: Int] = [:]
        for (position, info) in parsed.tensors.enumerated() { index[info.name] = position }
        tensorIndex = index
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: mapping), fileSize)
    }

    // MARK: - Metadata

    /// `general.architecture` ("llama", …), which prefixes the model's hyperparameter keys.
    public var architecture: String? { metadata["general.architecture"]?.string }

    /// The metadata value of `key` as a string, if it is one.
    public func string(_ key: String) -> String? { metadata[key]?.string }
    /// The metadata value of `key` as an integer, if it is an integer of any width (or a bool).
    public func integer(_ key: String) -> Int? { metadata[key]?.integer }
    /// The metadata value of `key` as a floating-point number, if it is any number.
    public func number(_ key: String) -> Double? { metadata[key]?.number }
    /// The metadata value of `key` as a bool, if it is one.
    public func bool(_ key: String) -> Bool? { metadata[key]?.bool }
    /// The metadata value of `key` as an array, if it is one.
    public func array(_ key: String) -> GGUFArray? { metadata[key]?.array }

    /// The architecture's hyperparameter `name` (`<architecture>.<name>`, e.g. "llama.embedding_length").
    public func hyperparameter(_ name: String) -> GGUFValue? {
        guard let architecture else { return nil }
        return metadata[architecture + "." + name]
    }

    // MARK: - Tensors

    public var tensorNames: [String] { tensorInfos.map(\.name) }

    /// The table entry of the tensor `name`.
    public func info(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensorInfos[$0] } }

    /// The tensor as a view into the mapping; nil when there is no such tensor or its type is not one the engine
    /// reads (`loadTensor` says which).
    public func tensor(_ name: String) -> TensorView? { try? loadTensor(name) }

    /// The tensor as a view into the mapping. Throws for a missing tensor and for a ggml type outside F32, F16,
    /// BF16, Q8_0, Q4_0 and Q4_1.
    public func loadTensor(_ name: String) throws -> TensorView {
        guard let info = info(name) else {
            throw GGUFError(.missingTensor, file: path, offset: nil, "there is no tensor \"\(name)\" (the file has \(tensorInfos.count))")
        }
        guard let type = info.type.tensorType else {
            throw GGUFError(.unsupported, file: path, offset: dataOffset + info.offset,
                            "tensor \"\(name)\" has ggml type \(info.type) (\(info.type.rawValue)), which the engine does not read "
                                + "(it reads F32, F16, BF16, Q8_0, Q4_0, Q4_1); convert or quantize the model to one of those")
        }
        return TensorView(name: info.name, type: type, shape: info.shape, data: mapping + dataOffset + info.offset,
                          byteCount: info.byteCount)
    }

    /// The tensors whose ggml type the engine does not read.
    public var unsupportedTensors: [GGUFTensorInfo] { tensorInfos.filter { $0.type.tensorType == nil } }

    /// Throws, naming every such tensor and its type, when some tensor has a type the engine does not read.
    public func validate() throws {
        let unsupported = unsupportedTensors
        guard let first = unsupported.first else { return }
        let listed = unsupported.prefix(8).map { "\"\($0.name)\" (\($0.type))" }.joined(separator: ", ")
        let more = unsupported.count > 8 ? " and \(unsupported.count - 8) more" : ""
        throw GGUFError(.unsupported, file: path, offset: dataOffset + first.offset,
                        "\(unsupported.count) tensors have ggml types the engine does not read: \(listed)\(more); "
                            + "it reads F32, F16, BF16, Q8_0, Q4_0 and Q4_1")
    }

    /// The raw bytes of a tensor's data, whatever its type.
    public func rawData(of info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mapping + dataOffset + info.offset, count: info.byteCount)
    }
}

/// Why a GGUF file cannot be used: the file, the byte offset where it went wrong, and what is wrong.
public struct GGUFError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The file cannot be opened, read or mapped.
        case io
        /// Not a GGUF file, or damaged: truncated, inconsistent counts, lengths or offsets.
        case malformed
        /// Valid GGUF using something this reader does not implement (a version, a tensor type).
        case unsupported
        /// A tensor that the file does not have was asked for.
        case missingTensor
    }
    public var kind: Kind
    public var file: String
    /// The byte offset in the file, when the problem has one.
    public var offset: Int?
    public var message: String

    public init(_ kind: Kind, file: String, offset: Int?, _ message: String) {
        self.kind = kind
        self.file = file
        self.offset = offset
        self.message = message
    }

    public var description: String {
        if let offset { return "\(file) (byte \(offset)): \(message)" }
        return "\(file): \(message)"
    }
}

// MARK: - Values

/// The type codes of GGUF metadata values.
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8,
         array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// The bytes of one value, for the fixed-size types.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    /// gguf-py's name of the type (`GGUFValueType.UINT32.name`).
    public var description: String {
        switch self {
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .uint32: "UINT32"
        case .int32: "INT32"
        case .float32: "FLOAT32"
        case .bool: "BOOL"
        case .string: "STRING"
        case .array: "ARRAY"
        case .uint64: "UINT64"
        case .int64: "INT64"
        case .float64: "FLOAT64"
        }
    }
}

/// A GGUF metadata value.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    public var string: String? { if case .string(let value) = self { return value }; return nil }
    public var bool: Bool? { if case .bool(let value) = self { return value }; return nil }
    public var array: GGUFArray? { if case .array(let value) = self { return value }; return nil }

    /// The value as an `Int`, for every integer type whose value fits (a bool is 0 or 1); nil otherwise.
    public var integer: Int? {
        switch self {
        case .uint8(let value): Int(value)
        case .int8(let value): Int(value)
        case .uint16(let value): Int(value)
        case .int16(let value): Int(value)
        case .uint32(let value): Int(value)
        case .int32(let value): Int(value)
        case .uint64(let value): Int(exactly: value)
        case .int64(let value): Int(value)
        case .bool(let value): value ? 1 : 0
        default: nil
        }
    }

    /// The value as a `Double`, for every numeric type (integers converted).
    public var number: Double? {
        switch self {
        case .float32(let value): Double(value)
        case .float64(let value): value
        case .uint64(let value): Double(value)
        default: integer.map(Double.init)
        }
    }
}

/// A GGUF metadata array: elements of one type, stored unboxed.
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16]), uint32([UInt32]), int32([Int32])
    case uint64([UInt64]), int64([Int64])
    case float32([Float]), float64([Double])
    case bool([Bool])
    case string([String])
    /// Arrays of arrays (allowed by the format, rare in practice).
    case array([GGUFArray])

    public var elementType: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    public var count: Int {
        switch self {
        case .uint8(let values): values.count
        case .int8(let values): values.count
        case .uint16(let values): values.count
        case .int16(let values): values.count
        case .uint32(let values): values.count
        case .int32(let values): values.count
        case .uint64(let values): values.count
        case .int64(let values): values.count
        case .float32(let values): values.count
        case .float64(let values): values.count
        case .bool(let values): values.count
        case .string(let values): values.count
        case .array(let values): values.count
        }
    }

    /// Element `index` as a value.
    public subscript(index: Int) -> GGUFValue {
        switch self {
        case .uint8(let values): .uint8(values[index])
        case .int8(let values): .int8(values[index])
        case .uint16(let values): .uint16(values[index])
        case .int16(let values): .int16(values[index])
        case .uint32(let values): .uint32(values[index])
        case .int32(let values): .int32(values[index])
        case .uint64(let values): .uint64(values[index])
        case .int64(let values): .int64(values[index])
        case .float32(let values): .float32(values[index])
        case .float64(let values): .float64(values[index])
        case .bool(let values): .bool(values[index])
        case .string(let values): .string(values[index])
        case .array(let values): .array(values[index])
        }
    }

    public var strings: [String]? { if case .string(let values) = self { return values }; return nil }
    public var float32s: [Float]? { if case .float32(let values) = self { return values }; return nil }
    public var int32s: [Int32]? { if case .int32(let values) = self { return values }; return nil }

    /// The elements as `Int`s, for integer arrays whose values all fit.
    public var integers: [Int]? {
        switch self {
        case .uint8(let values): values.map(Int.init)
        case .int8(let values): values.map(Int.init)
        case .uint16(let values): values.map(Int.init)
        case .int16(let values): values.map(Int.init)
        case .uint32(let values): values.map(Int.init)
        case .int32(let values): values.map(Int.init)
        case .int64(let values): values.map(Int.init)
        case .uint64(let values):
            values.allSatisfy { $0 <= UInt64(Int.max) } ? values.map(Int.init) : nil
        default: nil
        }
    }
}

// MARK: - Tensor table

/// A ggml tensor type code, known or not (a newer file may use codes this reader has never heard of).
public struct GGMLType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let f32 = GGMLType(rawValue: 0)
    public static let f16 = GGMLType(rawValue: 1)
    public static let q4_0 = GGMLType(rawValue: 2)
    public static let q4_1 = GGMLType(rawValue: 3)
    public static let q8_0 = GGMLType(rawValue: 8)
    public static let bf16 = GGMLType(rawValue: 30)

    /// Name, weights per block and bytes per block of every type ggml defines (gguf-py's `GGML_QUANT_SIZES`);
    /// the retired codes 4, 5 (Q4_2, Q4_3) and 31–33, 36–38 are absent.
    private static let layouts: [UInt32: (name: String, weights: Int, bytes: Int)] = [
        0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
        6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
        10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
        14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74),
        18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
        22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4),
        27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54),
        35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18), 42: ("Q2_0", 64, 18),
    ]

    /// ggml's name ("Q4_K"), or "type <code>" for a code this reader does not know.
    public var description: String { Self.layouts[rawValue]?.name ?? "type \(rawValue)" }
    /// Weights per block and bytes per block; nil for an unknown code.
    public var layout: (weights: Int, bytes: Int)? { Self.layouts[rawValue].map { ($0.weights, $0.bytes) } }

    /// The engine's type for this ggml type, when the engine reads it.
    public var tensorType: TensorType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        default: nil
        }
    }
}

/// One entry of the tensor table.
public struct GGUFTensorInfo: Sendable, Equatable {
    public var name: String
    /// ggml's `ne`: the dimensions innermost first, as stored.
    public var dimensions: [Int]
    public var type: GGMLType
    /// Where the data starts, relative to the data section.
    public var offset: Int
    /// The data's size in bytes.
    public var byteCount: Int
    /// Where this entry starts in the file (for error messages).
    public var infoOffset: Int

    /// Row-major shape, outermost first (`dimensions` reversed): a linear layer's weight is [out, in].
    public var shape: [Int] { dimensions.reversed() }
    public var elementCount: Int { dimensions.reduce(1, *) }
}

// MARK: - Parser

/// Reads the header, metadata and tensor table of a mapped GGUF file, checking every length against the file.
struct GGUFParser {
    static let headerSize = 24
    /// The most dimensions ggml tensors have (`GGML_MAX_DIMS`).
    static let maximumDimensions = 4
    /// Arrays nested deeper than this are refused (the format allows nesting; no real file nests at all).
    static let maximumNesting = 8

    struct Result {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var metadataKeys: [String]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataOffset: Int
    }

    let bytes: UnsafeRawBufferPointer
    let file: String
    var position = 0

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    func failure(_ message: String, at offset: Int? = nil) -> GGUFError {
        GGUFError(.malformed, file: file, offset: offset ?? position, message)
    }

    var remaining: Int { bytes.count - position }

    mutating func require(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count <= remaining else {
            throw failure("truncated: \(what()) needs \(count) bytes, the file has \(remaining) left")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, what())
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return value
    }

    /// A u64 count that must fit in the rest of the file at `minimumSize` bytes per item.
    mutating func readCount(_ what: String, minimumSize: Int) throws -> Int {
        let start = position
        let raw = try read(UInt64.self, what)
        guard raw <= UInt64(remaining / max(1, minimumSize)) else {
            throw failure("\(what) is \(raw), more than the \(remaining) bytes left in the file can hold", at: start)
        }
        return Int(raw)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let start = position
        let length = try read(UInt64.self, "the length of \(what())")
        guard length <= UInt64(remaining) else {
            throw failure("\(what()) is \(length) bytes long, past the end of the file (\(remaining) bytes left)", at: start)
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + Int(length))]), as: UTF8.self)
        position += Int(length)
        return text
    }

    mutating func readValueType(_ what: @autoclosure () -> String) throws -> GGUFValueType {
        let start = position
        let code = try read(UInt32.self, "the value type of \(what())")
        guard let type = GGUFValueType(rawValue: code) else {
            throw failure("\(what()) has value type \(code), which GGUF does not define (0…12)", at: start)
        }
        return type
    }

    mutating func readValue(_ type: GGUFValueType, _ what: String) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, what))
        case .int8: return .int8(try read(Int8.self, what))
        case .uint16: return .uint16(try read(UInt16.self, what))
        case .int16: return .int16(try read(Int16.self, what))
        case .uint32: return .uint32(try read(UInt32.self, what))
        case .int32: return .int32(try read(Int32.self, what))
        case .uint64: return .uint64(try read(UInt64.self, what))
        case .int64: return .int64(try read(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what)))
        case .bool: return .bool(try readBool(what))
        case .string: return .string(try readString(what))
        case .array: return .array(try readArray(what, depth: 0))
        }
    }

    mutating func readBool(_ what: @autoclosure () -> String) throws -> Bool {
        let start = position
        let byte = try read(UInt8.self, what())
        guard byte <= 1 else { throw failure("\(what()) is a bool stored as \(byte), not 0 or 1", at: start) }
        return byte == 1
    }

    /// `count` fixed-size little-endian numbers, copied out of the mapping.
    mutating func readNumbers<T: FixedWidthInteger>(_: T.Type, count: Int) -> [T] {
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let source = bytes.baseAddress! + position
            for index in 0..<count {
                buffer[index] = T(littleEndian: source.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
            }
            initialized = count
        }
        position += count * MemoryLayout<T>.size
        return values
    }

    mutating func readArray(_ what: String, depth: Int) throws -> GGUFArray {
        let start = position
        let elementType = try readValueType("the element type of \(what)")
        guard depth < Self.maximumNesting || elementType != .array else {
            throw failure("\(what) nests arrays more than \(Self.maximumNesting) deep", at: start)
        }
        // Strings need at least their 8-byte length, arrays their type and count.
        let minimumSize = elementType.fixedSize ?? (elementType == .string ? 8 : 12)
        let count = try readCount("the element count of \(what)", minimumSize: minimumSize)
        switch elementType {
        case .uint8: return .uint8(readNumbers(UInt8.self, count: count))
        case .int8: return .int8(readNumbers(Int8.self, count: count))
        case .uint16: return .uint16(readNumbers(UInt16.self, count: count))
        case .int16: return .int16(readNumbers(Int16.self, count: count))
        case .uint32: return .uint32(readNumbers(UInt32.self, count: count))
        case .int32: return .int32(readNumbers(Int32.self, count: count))
        case .uint64: return .uint64(readNumbers(UInt64.self, count: count))
        case .int64: return .int64(readNumbers(Int64.self, count: count))
        case .float32: return .float32(readNumbers(UInt32.self, count: count).map(Float.init(bitPattern:)))
        case .float64: return .float64(readNumbers(UInt64.self, count: count).map(Double.init(bitPattern:)))
        case .bool:
            var values: [Bool] = []
            values.reserveCapacity(count)
            for index in 0..<count { values.append(try readBool("element \(index) of \(what)")) }
            return .bool(values)
        case .string:
            var values: [String] = []
            values.reserveCapacity(count)
            for index in 0..<count { values.append(try readString("element \(index) of \(what)")) }
            return .string(values)
        case .array:
            var values: [GGUFArray] = []
            values.reserveCapacity(count)
            for index in 0..<count { values.append(try readArray("element \(index) of \(what)", depth: depth + 1)) }
            return .array(values)
        }
    }

    mutating func parse() throws -> Result {
        let magic = try read(UInt32.self, "the magic")
        guard magic == 0x4655_4747 else {  // "GGUF" read little-endian
            let shown = (0..<4).map { hexByte(bytes[$0]) }.joined(separator: " ")
            throw failure("not a GGUF file: the first 4 bytes are \(shown), not \"GGUF\" (47 47 55 46)", at: 0)
        }
        let version = try read(UInt32.self, "the version")
        guard version == 2 || version == 3 else {
            let message: String
            if version == 1 {
                message = "GGUF version 1 is not supported (it has 32-bit counts); re-convert the model with a current llama.cpp"
            } else if version.byteSwapped == 2 || version.byteSwapped == 3 {
                message = "this is a big-endian GGUF file (version \(version.byteSwapped)); only little-endian files are supported"
            } else {
                message = "GGUF version \(version) is not supported (this reader knows versions 2 and 3)"
            }
            throw GGUFError(.unsupported, file: file, offset: 4, message)
        }
        // The smallest tensor info: an empty name (8), n_dims (4), type (4), offset (8); the smallest metadata entry:
        // an empty key (8), a type (4) and a one-byte value.
        let tensorCount = try readCount("the tensor count", minimumSize: 24)
        let metadataCount = try readCount("the metadata count", minimumSize: 13)

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(metadataCount)
        for index in 0..<metadataCount {
            let start = position
            let key = try readString("the key of metadata entry \(index)")
            guard metadata[key] == nil else { throw failure("metadata key \"\(key)\" appears twice", at: start) }
            let type = try readValueType("metadata \"\(key)\"")
            metadata[key] = try readValue(type, "metadata \"\(key)\"")
            keys.append(key)
        }

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard case .uint32(let raw) = value else {
                throw failure("general.alignment has type \(value.type), not UINT32", at: nil)
            }
            guard raw > 0, raw & (raw - 1) == 0 else {
                throw failure("general.alignment is \(raw), not a power of two", at: nil)
            }
            alignment = Int(raw)
        }

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(tensorCount)
        var names = Set<String>()
        for index in 0..<tensorCount {
            let start = position
            let name = try readString("the name of tensor \(index)")
            guard names.insert(name).inserted else { throw failure("tensor \"\(name)\" appears twice in the tensor table", at: start) }
            let dimensionStart = position
            let dimensionCount = try read(UInt32.self, "the dimension count of tensor \"\(name)\"")
            guard dimensionCount <= Self.maximumDimensions else {
                throw failure("tensor \"\(name)\" has \(dimensionCount) dimensions, more than ggml's \(Self.maximumDimensions)", at: dimensionStart)
            }
            var dimensions: [Int] = []
            var elements = 1
            for axis in 0..<Int(dimensionCount) {
                let axisStart = position
                let extent = try read(Int64.self, "dimension \(axis) of tensor \"\(name)\"")
                guard extent >= 0 else { throw failure("tensor \"\(name)\" has a negative dimension \(extent)", at: axisStart) }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(extent))
                guard !overflow else { throw failure("tensor \"\(name)\" has more elements than fit in 64 bits", at: axisStart) }
                elements = product
                dimensions.append(Int(extent))
            }
            let typeStart = position
            let type = GGMLType(rawValue: try read(UInt32.self, "the type of tensor \"\(name)\""))
            guard let layout = type.layout else {
                throw failure("tensor \"\(name)\" has ggml type \(type.rawValue), which ggml does not define", at: typeStart)
            }
            let rowLength = dimensions.first ?? 1
            guard rowLength % layout.weights == 0 else {
                throw failure("tensor \"\(name)\" (\(type)) has rows of \(rowLength) weights, not a multiple of the block size \(layout.weights)",
                              at: dimensionStart)
            }
            let (byteCount, sizeOverflow) = (elements / layout.weights).multipliedReportingOverflow(by: layout.bytes)
            guard !sizeOverflow else { throw failure("tensor \"\(name)\" is larger than 2^63 bytes", at: dimensionStart) }
            let offsetStart = position
            let offset = try read(UInt64.self, "the data offset of tensor \"\(name)\"")
            guard offset % UInt64(alignment) == 0 else {
                throw failure("tensor \"\(name)\" has data offset \(offset), not a multiple of the alignment \(alignment)", at: offsetStart)
            }
            guard offset <= UInt64(bytes.count) else {
                throw failure("tensor \"\(name)\" has data offset \(offset), past the end of the \(bytes.count)-byte file", at: offsetStart)
            }
            tensors.append(GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: Int(offset), byteCount: byteCount,
                                          infoOffset: start))
        }

        let dataOffset = (position + alignment - 1) / alignment * alignment
        if !tensors.isEmpty, dataOffset > bytes.count {
            throw failure("truncated: the data section would start at byte \(dataOffset), past the end of the \(bytes.count)-byte file")
        }
        for tensor in tensors {
            let start = dataOffset + tensor.offset
            guard start <= bytes.count, tensor.byteCount <= bytes.count - start else {
                throw failure("tensor \"\(tensor.name)\" (\(tensor.type), \(tensor.shape)) needs bytes \(start)..<\(start + tensor.byteCount) "
                                  + "but the file ends at \(bytes.count): truncated, or a wrong offset in the tensor table",
                              at: tensor.infoOffset)
            }
        }
        return Result(version: version, metadata: metadata, metadataKeys: keys, tensors: tensors, alignment: alignment,
                      dataOffset: dataOffset)
    }
}

/// Two upper-case hex digits.
func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF".unicodeScalars)
    return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
}
