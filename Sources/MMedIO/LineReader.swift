#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into lines ending in "\n" (the "\n" is not part of the line; a "\r" before it is).
/// The last line may lack its "\n".
public final class LineReader {
    public struct Line {
        /// The line's bytes; valid until the next call to `next()`.
        public var bytes: UnsafeRawBufferPointer
        /// 1-based line number.
        public var number: Int
        /// Offset of the line's first byte in the (decompressed) stream.
        public var offset: Int64
    }

    private let source: ByteSource
    private var chunk = UnsafeRawBufferPointer(start: nil, count: 0)
    private var position = 0
    private let carry = ByteBuffer(capacity: 1 << 16)
    private var lineNumber = 0
    private var streamOffset: Int64 = 0
    private var atEnd = false
    /// Whether the line last returned ended in "\n" (only the last line of a stream may not).
    public private(set) var lastLineHadNewline = true

    public init(source: ByteSource) {
        self.source = source
    }

    public var fileBytesConsumed: Int64 { source.fileBytesConsumed }

    public func next() throws -> Line? {
        carry.removeAll()
        var carrying = false
        while true {
            if position == chunk.count {
                if atEnd { break }
                guard let next = try source.nextChunk() else {
                    atEnd = true
                    break
                }
                chunk = next
                position = 0
                continue
            }
            let start = chunk.baseAddress! + position
            let remaining = chunk.count - position
            if let found = memchr(start, 0x0A, remaining) {
                let length = UnsafeRawPointer(found) - UnsafeRawPointer(start)
                position += length + 1
                lineNumber += 1
                let lineOffset = streamOffset
                lastLineHadNewline = true
                if carrying {
                    carry.append(UnsafeRawBufferPointer(start: start, count: length))
                    streamOffset += Int64(carry.count + 1)
                    return Line(bytes: carry.bytes, number: lineNumber, offset: lineOffset)
                }
                streamOffset += Int64(length + 1)
                return Line(bytes: UnsafeRawBufferPointer(start: start, count: length), number: lineNumber, offset: lineOffset)
            }
            carry.append(UnsafeRawBufferPointer(start: start, count: remaining))
            carrying = true
            position = chunk.count
        }
        if carrying && carry.count > 0 {
            lineNumber += 1
            let lineOffset = streamOffset
            lastLineHadNewline = false
            streamOffset += Int64(carry.count)
            return Line(bytes: carry.bytes, number: lineNumber, offset: lineOffset)
        }
        return nil
    }
}
