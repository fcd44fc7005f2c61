#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZstd
import CZlib

/// A forward-only stream of bytes, read in chunks.
public protocol ByteSource: AnyObject {
    /// The next chunk; valid until the next call. `nil` at the end of the stream.
    func nextChunk() throws -> UnsafeRawBufferPointer?
    /// Appends up to `limit` bytes of the stream to `buffer`, written there directly where the source can
    /// (no intermediate copy); returns how many, 0 at the end of the stream.
    func append(to buffer: ByteBuffer, atMost limit: Int) throws -> Int
    /// Bytes consumed from the file on disk so far (compressed bytes for compressed streams).
    var fileBytesConsumed: Int64 { get }
}

extension ByteSource {
    public func append(to buffer: ByteBuffer, atMost limit: Int) throws -> Int {
        guard let chunk = try nextChunk() else { return 0 }
        buffer.append(chunk)
        return chunk.count
    }
}

/// The compression of a file, from its name.
public enum Compression: String, Sendable, Codable {
    case none, gzip, zstd

    public init(path: String) {
        if path.hasSuffix(".gz") { self = .gzip }
        else if path.hasSuffix(".zst") || path.hasSuffix(".zstd") { self = .zstd }
        else { self = .none }
    }
}

/// A decompressor: it decodes into any destination, so `nextChunk` uses its own output buffer and `append`
/// writes straight into the caller's buffer.
public protocol DecodingByteSource: ByteSource {
    /// Decodes into `destination` (room for `capacity` bytes) until some output is produced; 0 at the end.
    func decode(into destination: UnsafeMutableRawPointer, capacity: Int) throws -> Int
    /// The buffer `nextChunk` decodes into.
    var output: UnsafeMutableRawBufferPointer { get }
}

extension DecodingByteSource {
    public func nextChunk() throws -> UnsafeRawBufferPointer? {
        let produced = try decode(into: output.baseAddress!, capacity: output.count)
        return produced == 0 ? nil : UnsafeRawBufferPointer(rebasing: output[0..<produced])
    }

    public func append(to buffer: ByteBuffer, atMost limit: Int) throws -> Int {
        buffer.reserve(limit)
        let produced = try decode(into: buffer.base + buffer.count, capacity: limit)
        buffer.count += produced
        return produced
    }
}

/// Opens `path` as a stream of its (decompressed) bytes.
public func openByteSource(path: String, compression: Compression? = nil) throws -> ByteSource {
    let file = try FileByteSource(path: path)
    switch compression ?? Compression(path: path) {
    case .none: return file
    case .gzip: return try GzipByteSource(upstream: file, path: path)
    case .zstd: return try ZstdByteSource(upstream: file, path: path)
    }
}

/// Reads a file with `read(2)` into a reused buffer.
public final class FileByteSource: ByteSource {
    public let path: String
    private let descriptor: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    public private(set) var fileBytesConsumed: Int64 = 0

    public init(path: String, bufferSize: Int = 4 << 20) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            throw MMedIOError(code == ENOENT ? .notFound : .permission, path: path,
                              "cannot open: \(errnoDescription(code))")
        }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw MMedIOError(.readFailed, path: path, "is a directory")
        }
        buffer = .allocate(byteCount: bufferSize, alignment: 64)
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
    }

    public func append(to target: ByteBuffer, atMost limit: Int) throws -> Int {
        target.reserve(limit)
        while true {
            let count = read(descriptor, target.base + target.count, limit)
            if count < 0 {
                if errno == EINTR { continue }
                throw MMedIOError(.readFailed, path: path, offset: fileBytesConsumed, "read failed: \(errnoDescription())")
            }
            fileBytesConsumed += Int64(count)
            target.count += count
            return count
        }
    }

    public func nextChunk() throws -> UnsafeRawBufferPointer? {
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw MMedIOError(.readFailed, path: path, offset: fileBytesConsumed, "read failed: \(errnoDescription())")
            }
            if count == 0 { return nil }
            fileBytesConsumed += Int64(count)
            return UnsafeRawBufferPointer(rebasing: buffer[0..<count])
        }
    }
}

/// Decompresses a zstd stream (any number of frames) with libzstd.
public final class ZstdByteSource: DecodingByteSource {
    private let upstream: ByteSource
    private let path: String
    private let context: OpaquePointer
    public let output: UnsafeMutableRawBufferPointer
    private var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var upstreamFinished = false
    /// The last `ZSTD_decompressStream` result: 0 once a frame is complete.
    private var frameRemainder: Int = 0
    private var decompressedBytes: Int64 = 0
    private var sawAnyInput = false

    public var fileBytesConsumed: Int64 { upstream.fileBytesConsumed }

    public init(upstream: ByteSource, path: String, outputSize: Int = 4 << 20) throws {
        self.upstream = upstream
        self.path = path
        guard let context = ZSTD_createDCtx() else {
            throw MMedIOError(.readFailed, path: path, "cannot create a zstd decompression context")
        }
        self.context = context
        output = .allocate(byteCount: outputSize, alignment: 64)
    }

    deinit {
        ZSTD_freeDCtx(context)
        output.deallocate()
    }

    /// Decompresses into `destination` until some output is produced; 0 at the end of the stream.
    public func decode(into destination: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        while true {
            if input.pos == input.size {
                if upstreamFinished { break }
                if let chunk = try upstream.nextChunk() {
                    input = ZSTD_inBuffer(src: chunk.baseAddress, size: chunk.count, pos: 0)
                    sawAnyInput = sawAnyInput || chunk.count > 0
                } else {
                    upstreamFinished = true
                    continue
                }
            }
            var out = ZSTD_outBuffer(dst: destination, size: capacity, pos: 0)
            let result = ZSTD_decompressStream(context, &out, &input)
            if ZSTD_isError(result) != 0 {
                let name = String(cString: ZSTD_getErrorName(result))
                throw MMedIOError(.corruptCompressed, path: path, offset: decompressedBytes,
                                  "corrupt zstd data: \(name)")
            }
            frameRemainder = result
            if out.pos > 0 {
                decompressedBytes += Int64(out.pos)
                return out.pos
            }
        }
        // The decoder may still hold data it could not flush for lack of room; ask once more with no input.
        var out = ZSTD_outBuffer(dst: destination, size: capacity, pos: 0)
        var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        if frameRemainder != 0 {
            let result = ZSTD_decompressStream(context, &out, &empty)
            if ZSTD_isError(result) == 0 { frameRemainder = result }
            if out.pos > 0 {
                decompressedBytes += Int64(out.pos)
                return out.pos
            }
        }
        if frameRemainder != 0 || !sawAnyInput {
            throw MMedIOError(.truncatedCompressed, path: path, offset: decompressedBytes,
                              sawAnyInput ? "truncated zstd stream: the last frame is incomplete"
                                          : "empty file is not a zstd stream")
        }
        return 0
    }
}

/// Decompresses gzip (including multi-member files) with zlib.
public final class GzipByteSource: DecodingByteSource {
    private let upstream: ByteSource
    private let path: String
    private var stream = z_stream()
    public let output: UnsafeMutableRawBufferPointer
    private var upstreamFinished = false
    private var memberFinished = false
    private var memberStarted = false
    private var decompressedBytes: Int64 = 0
    private var finished = false

    public var fileBytesConsumed: Int64 { upstream.fileBytesConsumed }

    public init(upstream: ByteSource, path: String, outputSize: Int = 4 << 20) throws {
        self.upstream = upstream
        self.path = path
        output = .allocate(byteCount: outputSize, alignment: 64)
        // 15 + 32: gzip or zlib header, detected automatically.
        let status = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if status != Z_OK {
            output.deallocate()
            throw MMedIOError(.readFailed, path: path, "cannot initialise zlib (\(status))")
        }
    }

    deinit {
        inflateEnd(&stream)
        output.deallocate()
    }

    /// Inflates into `destination` until some output is produced; 0 at the end of the stream.
    public func decode(into destination: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        if finished { return 0 }
        while true {
            if stream.avail_in == 0 && !upstreamFinished {
                if let chunk = try upstream.nextChunk() {
                    stream.next_in = UnsafeMutablePointer(mutating: chunk.baseAddress?.assumingMemoryBound(to: Bytef.self))
                    stream.avail_in = uInt(chunk.count)
                } else {
                    upstreamFinished = true
                }
            }
            if stream.avail_in == 0 && upstreamFinished {
                finished = true
                if memberStarted && !memberFinished {
                    throw MMedIOError(.truncatedCompressed, path: path, offset: decompressedBytes,
                                      "truncated gzip stream: the last member is incomplete")
                }
                if !memberStarted && decompressedBytes == 0 && !memberFinished {
                    throw MMedIOError(.truncatedCompressed, path: path, offset: 0, "empty file is not a gzip stream")
                }
                return 0
            }
            if memberFinished {
                // Another gzip member follows.
                inflateReset(&stream)
                memberFinished = false
            }
            memberStarted = true
            stream.next_out = destination.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(capacity)
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let produced = capacity - Int(stream.avail_out)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                break
            case Z_STREAM_END:
                memberFinished = true
                memberStarted = false
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw MMedIOError(.corruptCompressed, path: path, offset: decompressedBytes,
                                  "corrupt gzip data: \(message)")
            }
            if produced > 0 {
                decompressedBytes += Int64(produced)
                return produced
            }
        }
    }
}
