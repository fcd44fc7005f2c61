import CBrotli
import CDeflate
import CLz4
import CSnappy
import CZlib
import CZstd

/// Decompresses page bodies. One per column reader: it keeps a zstd context and a zlib stream to reuse.
final class Decompressor {
    let codec: Codec
    private var zstd: OpaquePointer?
    private var zlib: UnsafeMutablePointer<z_stream>?
    private var deflate: OpaquePointer?

    init(codec: Codec) throws {
        switch codec {
        case .uncompressed, .snappy, .gzip, .zstd, .lz4Raw, .lz4, .brotli: break
        default: throw DecodeFailure("codec \(codec) is not supported (supported: UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW, LZ4, BROTLI)")
        }
        self.codec = codec
    }

    deinit {
        if let zstd { ZSTD_freeDCtx(zstd) }
        if let deflate { libdeflate_free_decompressor(deflate) }
        if let zlib {
            inflateEnd(zlib)
            zlib.deallocate()
        }
    }

    /// Decompresses `input` into `output`, which must be filled exactly (its size is the page's uncompressed size).
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        switch codec {
        case .uncompressed:
            guard input.count == output.count else {
                throw DecodeFailure("uncompressed page holds \(input.count) bytes, its header says \(output.count)")
            }
            if input.count > 0 { output.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: input.count) }
        case .snappy: try snappy(input, output)
        case .gzip: try gzip(input, output)
        case .zstd: try zstdDecompress(input, output)
        case .lz4Raw:
            let n = try lz4Block(input, output)
            guard n == output.count else { throw DecodeFailure("LZ4_RAW page decompresses to \(n) bytes, its header says \(output.count)") }
        case .lz4: try hadoopLZ4(input, output)
        case .brotli:
            var produced = output.count
            let result = BrotliDecoderDecompress(input.count, input.baseAddress?.assumingMemoryBound(to: UInt8.self), &produced,
                                                 output.baseAddress?.assumingMemoryBound(to: UInt8.self))
            guard result == BROTLI_DECODER_RESULT_SUCCESS else { throw DecodeFailure("corrupt BROTLI data") }
            guard produced == output.count else { throw DecodeFailure("BROTLI page decompresses to \(produced) bytes, its header says \(output.count)") }
        default: throw DecodeFailure("codec \(codec) is not supported")
        }
    }

    private func snappy(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws {
        let source = input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(bitPattern: 1)!
        var length = 0
        guard snappy_uncompressed_length(source, input.count, &length) == SNAPPY_OK else {
            throw DecodeFailure("corrupt Snappy data (bad length preamble)")
        }
        guard length == output.count else { throw DecodeFailure("Snappy page decompresses to \(length) bytes, its header says \(output.count)") }
        if length == 0 { return }
        var produced = output.count
        guard snappy_uncompress(source, input.count, output.baseAddress!.assumingMemoryBound(to: CChar.self), &produced) == SNAPPY_OK,
              produced == output.count else {
            throw DecodeFailure("corrupt Snappy data")
        }
    }

    private func zstdDecompress(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws {
        if zstd == nil { zstd = ZSTD_createDCtx() }
        guard let zstd else { throw DecodeFailure("cannot allocate a zstd context") }
        let destination = output.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!
        let result = ZSTD_decompressDCtx(zstd, destination, output.count, input.baseAddress, input.count)
        if ZSTD_isError(result) != 0 {
            throw DecodeFailure("corrupt ZSTD data (\(String(cString: ZSTD_getErrorName(result))))")
        }
        guard result == output.count else { throw DecodeFailure("ZSTD page decompresses to \(result) bytes, its header says \(output.count)") }
    }

    /// GZIP pages go through libdeflate (whole-buffer inflate, about twice zlib's speed); a page it does not
    /// take whole (several gzip members, a zlib header) falls back to zlib.
    private func gzip(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws {
        if deflate == nil { deflate = libdeflate_alloc_decompressor() }
        if let deflate, let source = input.baseAddress, let target = output.baseAddress {
            var consumed = 0, produced = 0
            let result = libdeflate_gzip_decompress_ex(deflate, source, input.count, target, output.count, &consumed, &produced)
            if result == LIBDEFLATE_SUCCESS && consumed == input.count && produced == output.count { return }
        }
        try zlibGzip(input, output)
    }

    private func zlibGzip(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws {
        if zlib == nil {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 15 + 32: a zlib or gzip header, detected automatically.
            guard inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deallocate()
                throw DecodeFailure("cannot initialise zlib")
            }
            zlib = stream
        }
        let stream = zlib!
        inflateReset(stream)
        var scratch: UInt8 = 0
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(input.count)
        let destination = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.next_out = destination ?? withUnsafeMutablePointer(to: &scratch) { $0 }
        stream.pointee.avail_out = UInt32(output.count)
        while true {
            let status = inflate(stream, Z_FINISH)
            if status == Z_STREAM_END {
                // Concatenated gzip members continue the same page.
                if stream.pointee.avail_in > 0 && stream.pointee.avail_out > 0 {
                    inflateReset(stream)
                    continue
                }
                break
            }
            if status == Z_BUF_ERROR && stream.pointee.avail_out == 0 {
                throw DecodeFailure("GZIP page decompresses to more than the \(output.count) bytes its header says")
            }
            let message = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
            if status == Z_BUF_ERROR { throw DecodeFailure("truncated GZIP data") }
            throw DecodeFailure("corrupt GZIP data (\(message))")
        }
        let produced = output.count - Int(stream.pointee.avail_out)
        guard produced == output.count else { throw DecodeFailure("GZIP page decompresses to \(produced) bytes, its header says \(output.count)") }
    }

    private func lz4Block(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard input.count <= Int(Int32.max), output.count <= Int(Int32.max) else { throw DecodeFailure("LZ4 block too large") }
        if output.count == 0 { return input.count == 1 && input.load(as: UInt8.self) == 0 ? 0 : (input.isEmpty ? 0 : -1) }
        let n = LZ4_decompress_safe(input.baseAddress?.assumingMemoryBound(to: CChar.self), output.baseAddress!.assumingMemoryBound(to: CChar.self),
                                    Int32(input.count), Int32(output.count))
        guard n >= 0 else { throw DecodeFailure("corrupt LZ4 data") }
        return Int(n)
    }

    /// The deprecated LZ4 codec: Hadoop framing (big-endian uncompressed and compressed lengths before each
    /// block); some writers used a bare LZ4 block instead, which is tried when the framing does not fit.
    private func hadoopLZ4(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws {
        func bigEndian(_ at: Int) -> Int {
            Int(input[at]) << 24 | Int(input[at + 1]) << 16 | Int(input[at + 2]) << 8 | Int(input[at + 3])
        }
        var position = 0, produced = 0
        var framed = true
        while position < input.count {
            guard input.count - position >= 8 else { framed = false; break }
            let expected = bigEndian(position), compressed = bigEndian(position + 4)
            position += 8
            guard compressed <= input.count - position, expected <= output.count - produced else { framed = false; break }
            let block = UnsafeRawBufferPointer(rebasing: input[position..<(position + compressed)])
            let target = UnsafeMutableRawBufferPointer(rebasing: output[produced..<(produced + expected)])
            guard let n = try? lz4Block(block, target), n == expected else { framed = false; break }
            produced += n
            position += compressed
        }
        if framed && produced == output.count { return }
        let n = try lz4Block(input, output)
        guard n == output.count else { throw DecodeFailure("LZ4 page decompresses to \(n) bytes, its header says \(output.count)") }
    }
}
