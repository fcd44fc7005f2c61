import CLz4
import Foundation
@testable import Parquet
import Testing

/// Pieces pyarrow's files do not reach: unknown Thrift fields of every type, hostile nesting, and the
/// deprecated Hadoop-framed LZ4 codec (pyarrow writes LZ4_RAW), built here with liblz4 itself.
@Suite struct ThriftAndCodecTests {
    /// A compact-protocol writer just big enough to build test structures.
    struct Writer {
        var bytes: [UInt8] = []
        var last: [Int16] = [0]
        mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            bytes.append(UInt8(v))
        }
        mutating func zigzag(_ value: Int64) { varint(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }
        mutating func field(_ id: Int16, _ type: UInt8) {
            let delta = id - last[last.count - 1]
            if delta > 0 && delta <= 15 { bytes.append(UInt8(delta) << 4 | type) } else { bytes.append(type); zigzag(Int64(id)) }
            last[last.count - 1] = id
        }
        mutating func i32(_ id: Int16, _ value: Int32) { field(id, 5); zigzag(Int64(value)) }
        mutating func begin(_ id: Int16) { field(id, 12); last.append(0) }
        mutating func end() { bytes.append(0); last.removeLast() }
    }

    @Test func unknownFieldsOfEveryTypeAreSkipped() throws {
        var w = Writer()
        w.i32(1, 0)                                   // type DATA_PAGE
        w.field(2, 5); w.zigzag(100)                  // uncompressed size
        w.field(3, 5); w.zigzag(80)                   // compressed size
        w.field(4, 1)                                 // crc, which we do not read, sent as a bool: skipped by its wire type
        w.field(9, 8); w.varint(3); w.bytes += [1, 2, 3]                     // unknown binary
        w.field(10, 7); w.bytes += [UInt8](repeating: 0x40, count: 8)        // unknown double
        w.field(11, 9); w.bytes.append(0x35); w.zigzag(-1); w.zigzag(2); w.zigzag(3)   // unknown list<i32> of 3
        w.field(12, 11); w.varint(2); w.bytes.append(0x58)                    // unknown map<i32, binary> of 2
        w.zigzag(1); w.varint(1); w.bytes.append(0x41); w.zigzag(2); w.varint(0)
        w.field(13, 9); w.bytes.append(0x21); w.bytes.append(1); w.bytes.append(2)     // list<bool> of 2
        w.begin(14); w.i32(1, 7); w.begin(2); w.i32(1, 8); w.end(); w.end()              // unknown nested struct
        w.field(15, 6); w.zigzag(Int64.min)                                               // unknown i64
        w.field(300, 3); w.bytes.append(0x7F)                                             // long-form field id, byte
        w.begin(5)                                    // data_page_header
        w.i32(1, 42); w.i32(2, 8); w.i32(3, 3); w.i32(4, 3)
        w.end()
        w.bytes.append(0)
        var consumed = 0
        let header = try w.bytes.withUnsafeBytes { raw -> PageHeader in
            var reader = ThriftReader(raw)
            defer { consumed = reader.position }
            return try PageHeader(thrift: &reader)
        }
        #expect(header.type == .dataPage)
        #expect(header.uncompressedSize == 100 && header.compressedSize == 80)
        #expect(header.dataPage?.valueCount == 42)
        #expect(header.dataPage?.encoding == .rleDictionary)
        #expect(consumed == w.bytes.count)
    }

    @Test func truncationAndHostileNestingAreErrorsNotCrashes() throws {
        var w = Writer()
        w.i32(1, 0); w.field(2, 5); w.zigzag(100); w.field(3, 5); w.zigzag(80)
        for cut in 0..<w.bytes.count {
            let prefix = Array(w.bytes.prefix(cut))
            #expect(throws: ThriftReader.Truncated.self) {
                try prefix.withUnsafeBytes { raw in
                    var reader = ThriftReader(raw)
                    _ = try PageHeader(thrift: &reader)
                }
            }
        }
        // 10,000 nested structs in an unknown field: refused at depth 64.
        var deep: [UInt8] = [0x1C]
        deep += [UInt8](repeating: 0x1C, count: 10_000)
        deep += [UInt8](repeating: 0, count: 10_002)
        #expect(throws: DecodeFailure.self) {
            try deep.withUnsafeBytes { raw in
                var reader = ThriftReader(raw)
                _ = try PageHeader(thrift: &reader)
            }
        }
        // A list that claims more elements than there are bytes.
        let lying: [UInt8] = [0x99, 0xF5, 0xFF, 0xFF, 0xFF, 0x0F, 0]
        #expect(throws: (any Error).self) {
            try lying.withUnsafeBytes { raw in
                var reader = ThriftReader(raw)
                _ = try PageHeader(thrift: &reader)
            }
        }
    }

    static func lz4Block(_ input: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(input.count))))
        let n = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                LZ4_compress_default(src.baseAddress!.assumingMemoryBound(to: CChar.self), dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                                     Int32(src.count), Int32(dst.count))
            }
        }
        return Array(output.prefix(Int(n)))
    }

    @Test func hadoopFramedAndBareLZ4() throws {
        let first = Array("The patient was admitted with pneumonia. ".utf8) + [UInt8](repeating: 0x41, count: 3000)
        let second = Array((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        func bigEndian(_ value: Int) -> [UInt8] { [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
        let a = Self.lz4Block(first), b = Self.lz4Block(second)
        let framed = bigEndian(first.count) + bigEndian(a.count) + a + bigEndian(second.count) + bigEndian(b.count) + b
        let decompressor = try Decompressor(codec: .lz4)
        var output = [UInt8](repeating: 0, count: first.count + second.count)
        try framed.withUnsafeBytes { src in try output.withUnsafeMutableBytes { try decompressor.decompress(src, into: $0) } }
        #expect(output == first + second)
        // Some writers stored a bare block under the same codec.
        let bare = Self.lz4Block(first + second)
        output = [UInt8](repeating: 0, count: first.count + second.count)
        try bare.withUnsafeBytes { src in try output.withUnsafeMutableBytes { try decompressor.decompress(src, into: $0) } }
        #expect(output == first + second)
        // Garbage is an error.
        let garbage = [UInt8](repeating: 0xFF, count: 64)
        #expect(throws: DecodeFailure.self) {
            try garbage.withUnsafeBytes { src in try output.withUnsafeMutableBytes { try decompressor.decompress(src, into: $0) } }
        }
        #expect(throws: DecodeFailure.self) { _ = try Decompressor(codec: .lzo) }
    }
}
