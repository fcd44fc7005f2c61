// Megatron-Core's indexed dataset (megatron/core/datasets/indexed_dataset.py): a `.bin` file holding every sequence's
// values back to back, and an `.idx` file, all little-endian:
//
//     9 bytes   magic "MMIDIDX\0\0"
//     <Q        version, 1
//     <B        dtype code (DType enum: uint8 1, int8 2, int16 3, int32 4, int64 5, float64 6, float32 7, uint16 8)
//     <Q        sequence count S
//     <Q        document count D: the length of the document-index array (documents + 1)
//     int32[S]  sequence lengths, in values
//     int64[S]  sequence pointers: byte offset of each sequence in .bin
//     int64[D]  document indices: 0, then for each document the index of the sequence after its last
//
// (A multimodal dataset appends int8[S] sequence modes; we write none.) Megatron asserts that the last document index
// equals S.

import MMedIO

/// The value types of a Megatron indexed dataset, with Megatron's codes.
public enum MegatronDType: UInt8, Sendable, Codable, CaseIterable {
    case uint8 = 1, int8 = 2, int16 = 3, int32 = 4, int64 = 5, float64 = 6, float32 = 7, uint16 = 8

    /// Bytes per value.
    public var size: Int {
        switch self {
        case .uint8, .int8: 1
        case .int16, .uint16: 2
        case .int32, .float32: 4
        case .int64, .float64: 8
        }
    }

    /// The numpy name (`int32`), as `dataset.json` records it.
    public var name: String { "\(self)" }
}

/// The `.idx` file of a Megatron indexed dataset.
public struct MegatronIndex: Equatable, Sendable {
    public static let magic: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
    public static let version: UInt64 = 1

    public var dtype: MegatronDType
    /// Values per sequence.
    public var sequenceLengths: [Int32]
    /// 0, then the index of the sequence after each document's last: document d is sequences
    /// `documentIndices[d]..<documentIndices[d + 1]`.
    public var documentIndices: [Int64]

    public init(dtype: MegatronDType, sequenceLengths: [Int32], documentIndices: [Int64]) {
        self.dtype = dtype
        self.sequenceLengths = sequenceLengths
        self.documentIndices = documentIndices
    }

    /// Byte offset of each sequence in the `.bin` file.
    public var sequencePointers: [Int64] {
        var pointers: [Int64] = []
        pointers.reserveCapacity(sequenceLengths.count)
        var offset: Int64 = 0
        for length in sequenceLengths {
            pointers.append(offset)
            offset += Int64(length) * Int64(dtype.size)
        }
        return pointers
    }

    /// Size of the `.bin` file these sequences take.
    public var dataBytes: Int64 { sequenceLengths.reduce(Int64(0)) { $0 + Int64($1) } * Int64(dtype.size) }

    /// The `.idx` file's bytes.
    public func serialized() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(34 + sequenceLengths.count * 12 + documentIndices.count * 8)
        bytes += Self.magic
        appendLittleEndian(Self.version, to: &bytes)
        bytes.append(dtype.rawValue)
        appendLittleEndian(UInt64(sequenceLengths.count), to: &bytes)
        appendLittleEndian(UInt64(documentIndices.count), to: &bytes)
        for length in sequenceLengths { appendLittleEndian(length, to: &bytes) }
        for pointer in sequencePointers { appendLittleEndian(pointer, to: &bytes) }
        for index in documentIndices { appendLittleEndian(index, to: &bytes) }
        return bytes
    }

    /// Reads an `.idx` file's bytes; `file` names it in errors. Checks what Megatron checks (magic, version, the last
    /// document index) and that the pointers are those of back-to-back sequences.
    public init(parsing bytes: [UInt8], file: String) throws {
        var reader = LittleEndianReader(bytes: bytes, file: file)
        guard try reader.bytes(9) == Self.magic else { throw MMedIOError(.malformed, path: file, offset: 0, "not a Megatron index (bad magic)") }
        let version = try reader.value(UInt64.self)
        guard version == Self.version else { throw MMedIOError(.malformed, path: file, offset: 9, "index version \(version), expected 1") }
        let code = try reader.value(UInt8.self)
        guard let dtype = MegatronDType(rawValue: code) else { throw MMedIOError(.malformed, path: file, offset: 17, "unknown dtype code \(code)") }
        let sequenceCount = Int(try reader.value(UInt64.self))
        let documentCount = Int(try reader.value(UInt64.self))
        let expected = 34 + sequenceCount * 12 + documentCount * 8
        guard bytes.count == expected else {
            throw MMedIOError(.malformed, path: file, "is \(bytes.count) bytes; \(sequenceCount) sequences and \(documentCount) document indices need \(expected)")
        }
        let lengths = try (0..<sequenceCount).map { _ in try reader.value(Int32.self) }
        let pointers = try (0..<sequenceCount).map { _ in try reader.value(Int64.self) }
        let documents = try (0..<documentCount).map { _ in try reader.value(Int64.self) }
        self.init(dtype: dtype, sequenceLengths: lengths, documentIndices: documents)
        guard pointers == sequencePointers else { throw MMedIOError(.malformed, path: file, "sequence pointers are not those of back-to-back sequences") }
        guard documents.first == 0, documents.last == Int64(sequenceCount), zip(documents, documents.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw MMedIOError(.malformed, path: file, "document indices must rise from 0 to the sequence count \(sequenceCount)")
        }
    }
}

func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}

/// Reads little-endian integers from a byte array, with errors that name the file and offset.
struct LittleEndianReader {
    let bytes: [UInt8]
    let file: String
    var offset = 0

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard offset + count <= bytes.count else { throw MMedIOError(.malformed, path: file, offset: Int64(offset), "truncated") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func value<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw MMedIOError(.malformed, path: file, offset: Int64(offset), "truncated") }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { target in
            bytes.withUnsafeBytes { source in target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + size)])) }
        }
        offset += size
        return T(littleEndian: value)
    }
}
