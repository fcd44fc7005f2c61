import CZstd

/// Writes a zstd-compressed file atomically (see `AtomicFileWriter`). Single-threaded compression at a fixed
/// level, so the same bytes in always give the same file out.
public final class ZstdFileWriter {
    private let file: AtomicFileWriter
    private let context: OpaquePointer
    private let output: UnsafeMutableRawBufferPointer
    public private(set) var uncompressedBytes: Int64 = 0

    public var path: String { file.path }

    public init(path: String, level: Int32 = 1) throws {
        file = try AtomicFileWriter(path: path)
        guard let context = ZSTD_createCCtx() else {
            throw MMedIOError(.writeFailed, path: path, "cannot create a zstd compression context")
        }
        self.context = context
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        output = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 64)
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        uncompressedBytes += Int64(bytes.count)
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            _ = try step(&input, ZSTD_e_continue)
        }
    }

    public func write(_ buffer: ByteBuffer) throws {
        try write(buffer.bytes)
    }

    @discardableResult
    private func step(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &out, &input, directive)
        if ZSTD_isError(remaining) != 0 {
            throw MMedIOError(.writeFailed, path: path, "zstd compression failed: \(String(cString: ZSTD_getErrorName(remaining)))")
        }
        if out.pos > 0 { try file.write(UnsafeRawBufferPointer(rebasing: output[0..<out.pos])) }
        return remaining
    }

    /// Ends the frame and moves the file into place.
    public func commit() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
        try file.commit()
    }
}
